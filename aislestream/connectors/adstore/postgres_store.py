"""The production ad store: rows in PostgreSQL through a small connection pool, files on disk.

Why a pool rather than one connection: a single connection that the server drops (restart,
failover, ``pg_terminate_backend``, an idle-timeout in a proxy) stays dead, and every later save
would fail until the worker restarted. ``psycopg_pool.ConnectionPool`` checks each connection
before lending it (``check=ConnectionPool.check_connection``), replaces one that fails, and
reconnects in the background with exponential backoff while the server is down.

What ``save`` raises (and what the caller does):

- a dead idle connection is replaced inside ``save``, which then succeeds (about a second later:
  the pool's backoff between checks);
- connection lost mid-statement, server down, no connection within ``acquire_timeout_s``:
  :class:`~aislestream.errors.StoreUnavailable` (retry the batch later; once the server is
  back, a later ``save`` succeeds);
- a value the server refuses (NUL in a text field, a lone surrogate, a constraint):
  :class:`~aislestream.errors.StoreError` (dead-letter that request).

Every message that names the server uses :func:`~aislestream.redact.redact_url`, and the
driver's own text is scrubbed too, so a password in the DSN never reaches a log or a dead letter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aislestream.connectors.adstore.base import SqlAdStore
from aislestream.errors import ConfigError, StoreError, StoreUnavailable
from aislestream.redact import MASK, redact, redact_url


def _scrub(text: str, password: str | None) -> str:
    """Driver text with URL userinfo and ``password=`` masked, and the literal password too
    (libpq echoes pieces of a malformed conninfo string)."""
    text = redact(text)
    return text.replace(password, MASK) if password else text


class PostgresAdStore(SqlAdStore):
    """Ad store on PostgreSQL. ``dsn`` is a libpq URL or key/value string; the connection
    settings below override what it says.

    application_name: what ``pg_stat_activity`` shows for this store's connections (default:
        the DSN's own, else ``aislestream-adstore``).
    connect_timeout_s: how long one connection attempt may take.
    start_timeout_s: how long construction waits for the first connection (a server that is
        briefly down at start is waited for); past it, StoreUnavailable.
    acquire_timeout_s: how long one operation waits for a connection before StoreUnavailable.
    reconnect_timeout_s: how long the pool keeps retrying one lost connection with backoff
        before it gives up; the next operation then starts a fresh attempt, so a long outage
        ends with at most this long before saves work again.
    max_size: connections at most (the ads agent saves from one executor thread; a few spare).
    """

    placeholder = "%s"

    def __init__(self, dsn: str, image_dir: Path, *, application_name: str | None = None,
                 connect_timeout_s: float = 5.0, start_timeout_s: float = 10.0,
                 acquire_timeout_s: float = 5.0, reconnect_timeout_s: float = 10.0,
                 max_size: int = 4) -> None:
        try:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise ImportError("the PostgreSQL ad store needs psycopg and psycopg-pool: "
                              "pip install 'aislestream[postgres]'") from exc
        super().__init__(image_dir)
        self._psycopg = psycopg
        self._where = redact_url(dsn)
        try:
            settings = conninfo_to_dict(dsn)
        except psycopg.Error as exc:  # from None: the driver's error may quote the DSN
            raise ConfigError(f"invalid PostgreSQL DSN {self._where}: "
                              f"{_scrub(str(exc), None).strip()}") from None
        self._password = settings.get("password")
        application_name = (application_name or settings.get("application_name")
                            or "aislestream-adstore")
        kwargs: dict[str, Any] = {"autocommit": True, "application_name": application_name,
                                  "connect_timeout": max(1, round(connect_timeout_s))}
        self._pool = ConnectionPool(
            dsn, kwargs=kwargs, min_size=1, max_size=max_size, open=False, name="adstore",
            check=ConnectionPool.check_connection, timeout=acquire_timeout_s,
            reconnect_timeout=reconnect_timeout_s, num_workers=2)
        try:
            self._pool.open(wait=True, timeout=start_timeout_s)
        except psycopg.OperationalError:
            reason = self._why_unreachable(dsn, kwargs)
            self._pool.close()
            raise StoreUnavailable(f"cannot reach PostgreSQL at {self._where} within "
                                   f"{start_timeout_s:g} s: {reason}") from None
        try:
            self.migrate()
        except BaseException:
            self._pool.close()
            raise

    def _why_unreachable(self, dsn: str, kwargs: dict[str, Any]) -> str:
        """The pool only says it timed out; one direct attempt says why (refused, auth, ...)."""
        try:
            self._psycopg.connect(dsn, **kwargs).close()
        except self._psycopg.Error as exc:
            return _scrub(str(exc), self._password).strip()
        return "no connection became ready in time"

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        """A pooled connection (checked first) in one transaction; errors typed."""
        psycopg = self._psycopg
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield conn.cursor()
        # PoolTimeout, AdminShutdown, serialization failures and lost connections are all
        # OperationalError; InterfaceError is a connection already closed under us.
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise StoreUnavailable(f"PostgreSQL at {self._where} is unavailable: "
                                   f"{_scrub(str(exc), self._password).strip()}") from exc
        except psycopg.Error as exc:  # DataError, IntegrityError, ProgrammingError, ...
            raise StoreError(f"PostgreSQL at {self._where} refused the operation: "
                             f"{_scrub(str(exc), self._password).strip()}") from exc
        except UnicodeEncodeError as exc:  # a lone surrogate cannot be sent as UTF-8
            raise StoreError(f"PostgreSQL at {self._where} refused the operation: {exc}") from exc

    def close(self) -> None:
        self._pool.close()
