"""The ad store: creative metadata rows (PostgreSQL in production, SQLite embedded) plus image
files. Schema changes are numbered SQL migrations applied in order and recorded in the
database, so every backend runs the same DDL.

``base`` holds the contract and the shared SQL, ``files`` the safe naming and staged writing
of images, one file per database. ``save`` raises StoreError when this request is refused
(dead-letter it) and StoreUnavailable when the store is down (retry later).
"""

from aislestream.connectors.adstore.base import (
    MIGRATIONS,
    AdStore,
    CreativeRow,
    SqlAdStore,
    migrations,
)
from aislestream.connectors.adstore.files import creative_path, write_png
from aislestream.connectors.adstore.postgres_store import PostgresAdStore
from aislestream.connectors.adstore.sqlite_store import SqliteAdStore

__all__ = ["MIGRATIONS", "AdStore", "CreativeRow", "PostgresAdStore", "SqlAdStore", "SqliteAdStore",
           "creative_path", "migrations", "write_png"]
