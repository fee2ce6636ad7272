"""An ad store that connects on first use, so a worker starts while its database is down."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from aislestream.connectors.adstore.base import AdStore, CreativeRow
from aislestream.errors import StoreUnavailable

log = logging.getLogger(__name__)


class DeferredAdStore:
    """An ad store connected on first use, and connected again on every use until that works.

    A worker must start (and serve search) while PostgreSQL is down; its ads agent meets the
    outage as ``StoreUnavailable`` on the first save and waits it out like any other outage.
    """

    def __init__(self, connect: Callable[[], AdStore]) -> None:
        """Connects now if it can: only an outage is deferred, a bad DSN or a missing driver
        (ConfigError, ImportError) stops the start as before, not every later request."""
        self._connect = connect
        self._store: AdStore | None = None
        try:
            self._store = connect()
        except StoreUnavailable as exc:
            log.warning("ad store unavailable at start (%s); ad requests wait until it is back",
                        exc)

    @property
    def store(self) -> AdStore:
        if self._store is None:
            self._store = self._connect()  # StoreUnavailable while the server is down
        return self._store

    def save(self, row: CreativeRow, image: np.ndarray | None) -> CreativeRow:
        return self.store.save(row, image)

    def get(self, request_id: str) -> CreativeRow | None:
        return self.store.get(request_id)

    def applied_migrations(self) -> list[str]:
        return self.store.applied_migrations()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

