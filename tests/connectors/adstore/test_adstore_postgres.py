"""PostgreSQL ad store failure modes against the real local server (a fresh schema per test):
values it refuses, connections it drops, outages (a TCP proxy we cut and restore, since the
shared server itself must stay up), and DSN passwords that must never reach an error."""

import threading
import time
import traceback
import uuid
from pathlib import Path

import numpy as np
import pytest

from aislestream.connectors.adstore import CreativeRow, PostgresAdStore
from aislestream.errors import ConfigError, StoreError, StoreUnavailable
from tests.postgres import PG, fresh_schema, schema_dsn
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration
psycopg = pytest.importorskip("psycopg")

IMAGE = np.full((8, 8, 3), 120, dtype=np.uint8)
SECRET = "hunter2-Zq9"


@pytest.fixture
def schema():
    with fresh_schema("adstore") as name:
        yield name


dsn = schema_dsn


def row(request_id: str, product_id: str = "p1") -> CreativeRow:
    return CreativeRow(request_id, product_id, {"shape": "box"}, True, {"shape": 0.9}, 1)


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


@pytest.fixture
def proxy():
    made = TcpProxy()
    yield made
    if made._running:
        made.down()


def backends(application_name: str) -> list[int]:
    with psycopg.connect(PG, autocommit=True) as conn:
        return [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application_name,))]


def test_nul_in_a_field_is_a_store_error_and_leaves_no_file(schema, tmp_path):
    store = PostgresAdStore(dsn(schema), tmp_path / "images")
    with pytest.raises(StoreError, match="NUL"):
        store.save(row("req-nul", product_id="p\x00"), IMAGE)
    with pytest.raises(StoreError, match="refused"):
        store.save(row("nul\x00id"), IMAGE)
    assert files_under(tmp_path / "images") == [] and store.get("req-nul") is None
    assert store.save(row("req-next"), IMAGE).image_path is not None  # the connection is fine
    store.close()


def test_terminated_connections_are_replaced_and_the_next_save_succeeds(schema, tmp_path):
    """The server drops every connection of the store while idle (restart, failover, admin).
    The pool's check finds the dead one and connects anew: no error reaches the caller."""
    name = f"adstore-test-{uuid.uuid4().hex[:8]}"
    store = PostgresAdStore(f"{dsn(schema)}&application_name={name}", tmp_path / "images")
    store.save(row("before"), IMAGE)
    old = backends(name)
    assert old
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE application_name = %s", (name,))
    for i in range(3):
        store.save(row(f"after-{i}"), IMAGE)
    assert store.get("before") is not None and store.get("after-2") is not None
    assert set(backends(name)).isdisjoint(old)
    store.close()


def test_an_outage_is_unavailable_and_saves_resume_when_the_server_returns(schema, tmp_path, proxy):
    store = PostgresAdStore(dsn(schema, proxy.port), tmp_path / "images", acquire_timeout_s=1.0)
    store.save(row("before"), IMAGE)
    proxy.down()
    with pytest.raises(StoreUnavailable, match="is unavailable"):
        store.save(row("during"), IMAGE)
    assert len(files_under(tmp_path / "images")) == 1  # the failed save left no file
    time.sleep(2.0)  # stay down long enough for the pool to back off
    proxy.up()
    deadline, failures = time.monotonic() + 30, 0
    while True:  # what the stream does: wait and retry the same request
        try:
            store.save(row("during"), IMAGE)
            break
        except StoreUnavailable:
            failures += 1
            assert time.monotonic() < deadline, "saves did not resume after the server came back"
            time.sleep(0.5)
    assert store.get("during") is not None and len(files_under(tmp_path / "images")) == 2
    store.close()


def test_a_server_briefly_down_at_start_is_waited_for(schema, tmp_path, proxy):
    proxy.down()
    timer = threading.Timer(1.5, proxy.up)
    timer.start()
    store = PostgresAdStore(dsn(schema, proxy.port), tmp_path / "images", start_timeout_s=15.0)
    timer.join()
    assert store.applied_migrations() and store.save(row("r"), IMAGE).image_path
    store.close()


@pytest.mark.parametrize("secret_dsn", [
    f"postgresql://postgres:{SECRET}@127.0.0.1:1/none",
    f"host=127.0.0.1 port=1 user=postgres password={SECRET} dbname=none",
])
def test_unreachable_postgres_is_unavailable_and_never_shows_the_password(tmp_path, secret_dsn):
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="cannot reach PostgreSQL") as caught:
        PostgresAdStore(secret_dsn, tmp_path, start_timeout_s=1.0)
    assert time.monotonic() - started < 10
    text = "".join(traceback.format_exception(caught.value))
    assert SECRET not in text and SECRET not in repr(caught.value)
    assert "127.0.0.1" in str(caught.value) and "Connection refused" in str(caught.value)


@pytest.mark.parametrize("bad_dsn", [
    f"postgresql://postgres:{SECRET}@127.0.0.1:1/none?bogus=1",
    f"host=127.0.0.1 password={SECRET} dbname",
])
def test_a_malformed_dsn_is_a_config_error_without_the_password(tmp_path, bad_dsn):
    with pytest.raises(ConfigError, match="invalid PostgreSQL DSN") as caught:
        PostgresAdStore(bad_dsn, tmp_path)
    assert SECRET not in "".join(traceback.format_exception(caught.value))
