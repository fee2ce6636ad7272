"""The embedded ad store: one SQLite file and an images folder under a directory.

One connection is shared by the event loop and the executor thread the ads agent saves from.
sqlite3 serialises single calls, but a transaction spans several (execute, then commit): without
a lock, one thread's rollback after a refused row also rolls back another thread's insert that
was about to commit, and that save reports success for a row that is gone. So every operation
holds one re-entrant lock from its first statement to its commit.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aislestream.connectors.adstore.base import SqlAdStore
from aislestream.errors import StoreError, StoreUnavailable

# Primary result codes that say the database is busy or its disk is failing, not that the
# statement is wrong: the caller retries. Others (constraint, mismatch, misuse) are StoreError.
_UNAVAILABLE_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM,
                      sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN,
                      sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_READONLY}


def _typed(exc: sqlite3.Error | UnicodeEncodeError, path: Path) -> StoreError | StoreUnavailable:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in _UNAVAILABLE_CODES:
        return StoreUnavailable(f"SQLite ad store {path} is unavailable: {exc}")
    return StoreError(f"SQLite ad store {path} refused the operation: {exc}")


class SqliteAdStore(SqlAdStore):
    """The embedded default: ``<directory>/adstore.sqlite`` and ``<directory>/images``."""

    def __init__(self, directory: Path, busy_timeout_s: float = 5.0) -> None:
        super().__init__(directory / "images")
        self.path = directory / "adstore.sqlite"
        self._lock = threading.RLock()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=busy_timeout_s, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open the SQLite ad store {self.path}: {exc}") from exc
        self.migrate()

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Cursor]:
        """The lock, then sqlite3's connection context (commit on success, roll back on error),
        then errors typed: UnicodeEncodeError is a lone surrogate the driver cannot bind."""
        with self._lock:
            try:
                with self._conn:
                    yield self._conn.cursor()
            except (sqlite3.Error, UnicodeEncodeError) as exc:
                raise _typed(exc, self.path) from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()
