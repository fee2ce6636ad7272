"""The ad store against real SQLite and the real local PostgreSQL (a fresh schema per test):
rows, migrations, safe image names, no orphan files, typed errors, threads.

PostgreSQL's own failure modes (lost connections, outages, secrets in DSNs) are in
tests/connectors/adstore/test_adstore_postgres.py.
"""

import contextlib
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aislestream.connectors.adstore import (
    CreativeRow,
    PostgresAdStore,
    SqliteAdStore,
    migrations,
    write_png,
)
from aislestream.errors import StoreError, StoreUnavailable
from tests.postgres import fresh_schema, schema_dsn

IMAGE = np.full((8, 8, 3), 120, dtype=np.uint8)

# Ids a Kafka message may carry, each of which once wrote outside the image folder or raised.
# "{tmp}" becomes the test's own tmp_path, so an absolute id that escapes is caught there.
HOSTILE_IDS = ["../../../x", "{tmp}/absolute", "a/b/missing/dir", "nul\x00byte", ".", "..",
               "x" * 300, "é" * 200, "back\\slash", " ", "con.png"]


@pytest.fixture
def pg_schema():
    pytest.importorskip("psycopg")
    with fresh_schema("adstore") as schema:
        yield schema_dsn(schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store(request, tmp_path):
    if request.param == "sqlite":
        made = SqliteAdStore(tmp_path / "store")
    else:
        made = PostgresAdStore(request.getfixturevalue("pg_schema"), tmp_path / "images")
    yield made
    made.close()


def row(request_id: str, product_id: str = "p9", **fields) -> CreativeRow:
    return CreativeRow(request_id, product_id, {"shape": "box"}, True, {"shape": 0.9}, 1, **fields)


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


def test_migrations_apply_once_in_order(store):
    assert store.applied_migrations() == [name for name, _ in migrations()]
    assert store.migrate() == []  # nothing pending on a second run


def test_rows_round_trip_and_re_delivery_overwrites(store):
    reasons = ["shape: P(right) 0.20 below the accept level 0.70"]
    first = CreativeRow("req-1", "p9", {"shape": "box", "colour": "red"}, False, {"shape": 0.2}, 4,
                        reasons, model_version="tiny/rl")
    saved = store.save(first, np.full((32, 32, 3), 200, dtype=np.uint8))
    assert Image.open(saved.image_path).size == (32, 32)
    got = store.get("req-1")
    assert got.spec == first.spec and got.reasons == reasons
    assert got.accepted is False and got.attempts == 4
    assert got.image_path == saved.image_path
    again = store.save(first, np.full((16, 16, 3), 10, dtype=np.uint8))  # same request, same file
    assert again.image_path == saved.image_path and Image.open(saved.image_path).size == (16, 16)
    assert files_under(store.image_dir) == [Path(saved.image_path)]  # no temporary file beside it
    store.save(CreativeRow("req-1", "p9", first.spec, True, {"shape": 0.9}, 1), None)
    latest = store.get("req-1")
    assert latest.accepted is True and latest.attempts == 1 and latest.image_path is None
    assert files_under(store.image_dir) == []  # the file the row no longer names is gone
    assert store.get("missing") is None


@pytest.mark.parametrize("request_id", HOSTILE_IDS, ids=repr)
def test_hostile_request_ids_stay_inside_the_image_directory(tmp_path, request_id):
    request_id = request_id.replace("{tmp}", str(tmp_path))
    root = tmp_path / "a" / "b" / "store"  # "../../../x" from root/images would land in tmp_path
    store = SqliteAdStore(root)
    saved = store.save(row(request_id), IMAGE)
    images = (root / "images").resolve()
    assert Path(saved.image_path).resolve().is_relative_to(images)
    assert files_under(tmp_path) == [root / "adstore.sqlite", Path(saved.image_path)]
    assert store.get(request_id).image_path == saved.image_path  # the id itself stays in the row
    assert len(Path(saved.image_path).name.encode()) <= 255
    store.close()


def test_write_png_names_every_id_by_digest_even_lone_surrogates(tmp_path):
    ids = [*HOSTILE_IDS, "lone\udcffsurrogate", "\ud800"]
    paths = [Path(write_png(IMAGE, tmp_path / "images", i)) for i in ids]
    assert len(set(paths)) == len(ids)  # distinct ids, distinct files
    for path in paths:
        assert path.resolve().is_relative_to((tmp_path / "images").resolve())
        assert path.parent.name == path.name[:2] and len(path.stem) == 64
        assert Image.open(path).size == (8, 8)


def test_a_fan_out_folder_linked_outside_is_refused(tmp_path):
    from aislestream.connectors.adstore import creative_path

    store = SqliteAdStore(tmp_path / "store")
    outside = tmp_path / "outside"
    outside.mkdir()
    link = creative_path(store.image_dir, "req-link").parent
    link.parent.mkdir(parents=True)
    link.symlink_to(outside, target_is_directory=True)
    with pytest.raises(StoreError, match="outside the image directory"):
        store.save(row("req-link"), IMAGE)
    assert files_under(outside) == [] and store.get("req-link") is None
    store.close()


def test_a_refused_row_leaves_no_file_and_the_store_keeps_working(store):
    with pytest.raises(StoreError, match="refused"):  # neither SQLite nor PostgreSQL binds it
        store.save(row("req-bad", product_id="p\udcff"), IMAGE)
    assert files_under(store.image_dir) == [] and store.get("req-bad") is None
    assert Image.open(store.save(row("req-good"), IMAGE).image_path).size == (8, 8)


def test_an_image_that_does_not_encode_is_a_store_error(store):
    with pytest.raises(StoreError, match="cannot encode the image"):
        store.save(row("req-img"), np.zeros((4, 4, 7), dtype=np.uint8))
    with pytest.raises(StoreError, match="cannot encode the image"):
        store.save(row("req-img"), np.zeros((4, 4), dtype=object))
    assert files_under(store.image_dir) == [] and store.get("req-img") is None


def test_a_locked_sqlite_database_is_unavailable_then_recovers(tmp_path):
    store = SqliteAdStore(tmp_path / "store", busy_timeout_s=0.2)
    other = sqlite3.connect(tmp_path / "store" / "adstore.sqlite", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process writing for a long time
    with pytest.raises(StoreUnavailable, match="database is locked"):
        store.save(row("req-locked"), IMAGE)
    assert files_under(store.image_dir) == []
    other.execute("COMMIT")
    assert store.save(row("req-locked"), IMAGE).image_path is not None
    assert store.get("req-locked") is not None
    other.close()
    store.close()


def test_saves_from_many_threads_are_all_kept(tmp_path):
    """Threads share one SQLite connection (the executor and the event loop do). Without a lock a
    refused row's rollback also undid another thread's uncommitted insert, which then reported
    success for a row that was never stored."""
    store = SqliteAdStore(tmp_path / "store")
    threads, per_thread = 8, 150
    start = threading.Barrier(threads)

    def work(t: int) -> None:  # any error but StoreError fails the test through result()
        start.wait()
        for i in range(per_thread):
            with contextlib.suppress(StoreError):
                if i % 2:  # NOT NULL fails inside the shared transaction
                    store.save(row(f"bad-{t}-{i}", product_id=None), None)
                else:
                    store.save(row(f"ok-{t}-{i}"), None)

    with ThreadPoolExecutor(threads) as pool:
        for done in [pool.submit(work, t) for t in range(threads)]:
            done.result()
    missing = [f"ok-{t}-{i}" for t in range(threads) for i in range(0, per_thread, 2)
               if store.get(f"ok-{t}-{i}") is None]
    assert missing == []
    store.close()


def test_a_failed_rename_is_typed_and_leaves_no_temporary_file(store, monkeypatch):
    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(StoreUnavailable, match="No space left"):
        store.save(row("req-full"), IMAGE)
    assert files_under(store.image_dir) == []  # the row may exist; re-delivery rewrites the file
