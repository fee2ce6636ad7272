"""The ad store against real SQLite and the real local PostgreSQL (a fresh schema per test)."""

import uuid

import numpy as np
import pytest
from PIL import Image

from aislestream.connectors.adstore import CreativeRow, PostgresAdStore, SqliteAdStore, migrations

PG = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_schema():
    psycopg = pytest.importorskip("psycopg")
    schema = f"adstore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{PG}?options=-csearch_path%3D{schema}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store(request, tmp_path):
    if request.param == "sqlite":
        yield SqliteAdStore(tmp_path / "store")
    else:
        yield PostgresAdStore(request.getfixturevalue("pg_schema"), tmp_path / "images")


def test_migrations_apply_once_in_order(store):
    assert store.applied_migrations() == [name for name, _ in migrations()]
    assert store.migrate() == []  # nothing pending on a second run


def test_rows_round_trip_and_re_delivery_overwrites(store):
    row = CreativeRow("req-1", "p9", {"shape": "box", "colour": "red"}, False, {"shape": 0.2}, 4,
                      ["shape: P(right) 0.20 below the accept level 0.70"], model_version="tiny/rl")
    saved = store.save(row, np.full((32, 32, 3), 200, dtype=np.uint8))
    assert Image.open(saved.image_path).size == (32, 32)
    got = store.get("req-1")
    assert got.spec == row.spec and got.reasons == row.reasons and got.accepted is False and got.attempts == 4
    store.save(CreativeRow("req-1", "p9", row.spec, True, {"shape": 0.9}, 1), None)
    again = store.get("req-1")
    assert again.accepted is True and again.attempts == 1
    assert store.get("missing") is None


def test_unreachable_postgres_is_a_clear_error(tmp_path):
    from aislestream.errors import StoreError

    pytest.importorskip("psycopg")
    with pytest.raises(StoreError, match="cannot reach PostgreSQL"):
        PostgresAdStore("postgresql://postgres@127.0.0.1:1/none", tmp_path)
