"""The ad store: creative metadata rows (PostgreSQL in production, SQLite embedded) plus image
files. Schema changes are numbered SQL migrations applied in order and recorded in the
database, so every backend runs the same DDL.

``base`` holds the contract and the shared SQL, ``files`` the safe naming and staged writing
of images, one file per database, ``deferred`` the connect-on-first-use wrapper. ``save``
raises StoreError when this request is refused (dead-letter it) and StoreUnavailable when the
store is down (retry later). ``build_ad_store`` picks the store from settings.
"""

from __future__ import annotations

from aislestream.connectors.adstore.base import (
    MIGRATIONS,
    AdStore,
    CreativeRow,
    SqlAdStore,
    migrations,
)
from aislestream.connectors.adstore.deferred import DeferredAdStore
from aislestream.connectors.adstore.files import creative_path, write_png
from aislestream.connectors.adstore.postgres_store import PostgresAdStore
from aislestream.connectors.adstore.sqlite_store import SqliteAdStore
from aislestream.settings import Settings

__all__ = ["MIGRATIONS", "AdStore", "CreativeRow", "DeferredAdStore", "PostgresAdStore",
           "SqlAdStore", "SqliteAdStore", "build_ad_store", "creative_path", "migrations",
           "write_png"]


def build_ad_store(settings: Settings) -> AdStore:
    """SQLite under ``ads.store_path`` (default ``<data_dir>/adstore``), or PostgreSQL at
    ``ads.postgres_dsn`` with images in ``<store_path>/images``. PostgreSQL is connected on
    first use, so a worker starts (and serves search) while the server is down."""
    ads = settings.ads
    directory = ads.store_path or settings.artifacts.adstore
    if ads.store == "postgres":
        return DeferredAdStore(lambda: PostgresAdStore(ads.postgres_dsn, directory / "images"))
    return SqliteAdStore(directory)
