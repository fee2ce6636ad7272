import pytest

from aislestream.connectors.adstore import CreativeRow, DeferredAdStore, SqliteAdStore
from aislestream.errors import ConfigError, StoreUnavailable


def test_a_store_unreachable_at_start_is_connected_on_use_and_again_until_it_works(tmp_path):
    attempts = []

    def connect():
        attempts.append(1)
        if len(attempts) < 3:
            raise StoreUnavailable("connection refused")
        return SqliteAdStore(tmp_path)

    store = DeferredAdStore(connect)  # down at start: the worker starts all the same
    row = CreativeRow("r1", "p1", {"shape": "ball"}, True, {"shape": 0.9}, 1)
    with pytest.raises(StoreUnavailable):
        store.save(row, None)
    assert store.save(row, None).request_id == "r1" and store.get("r1").product_id == "p1"
    assert len(attempts) == 3


def test_a_bad_ad_store_configuration_still_stops_the_start():
    def connect():
        raise ConfigError("invalid PostgreSQL DSN")

    with pytest.raises(ConfigError):
        DeferredAdStore(connect)
