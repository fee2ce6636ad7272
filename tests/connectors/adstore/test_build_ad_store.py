"""``build_ad_store`` picks the store ``settings.ads`` names."""

import numpy as np
import pytest

from aislestream.connectors.adstore import (
    CreativeRow,
    DeferredAdStore,
    SqliteAdStore,
    build_ad_store,
)
from aislestream.settings import AdsSettings, load_settings

ROW = CreativeRow("r1", "p1", {"shape": "box"}, True, {"shape": 0.9}, 1)


def test_sqlite_under_the_data_dir_by_default_or_the_configured_path(tmp_path):
    store = build_ad_store(load_settings(data_dir=tmp_path / "data"))
    assert isinstance(store, SqliteAdStore)
    assert store.path == tmp_path / "data" / "adstore" / "adstore.sqlite"
    store.close()
    store = build_ad_store(load_settings(data_dir=tmp_path / "data",
                                         ads=AdsSettings(store_path=tmp_path / "elsewhere")))
    assert store.path == tmp_path / "elsewhere" / "adstore.sqlite"
    store.close()


@pytest.mark.integration
def test_postgres_is_connected_on_first_use_with_images_beside_the_store_path(tmp_path):
    pytest.importorskip("psycopg")
    from tests.postgres import fresh_schema, schema_dsn

    with fresh_schema("build") as schema:
        settings = load_settings(data_dir=tmp_path, ads=AdsSettings(
            store="postgres", postgres_dsn=schema_dsn(schema), store_path=tmp_path / "ads"))
        store = build_ad_store(settings)
        try:
            assert isinstance(store, DeferredAdStore)
            saved = store.save(ROW, np.zeros((4, 4, 3), dtype=np.uint8))
            assert saved.image_path.startswith(str(tmp_path / "ads" / "images"))
            assert store.get("r1").product_id == "p1"
        finally:
            store.close()
