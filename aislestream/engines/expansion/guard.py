"""Deadline and fallback around any expander: search never fails because expansion failed.

Expansion runs on a small thread pool. If it does not answer within the deadline, or
raises, every query in the batch falls back to its original text, and the result says why.
A hung engine ties up at most ``max_workers`` threads; later calls then time out quickly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from aislestream.connectors.search.base import FusionConfig
from aislestream.engines.expansion.base import Expander, Expansion

log = logging.getLogger(__name__)


class GuardedExpander:
    def __init__(self, inner: Expander, deadline_s: float, max_workers: int = 4,
                 fusion: FusionConfig | None = None) -> None:
        if deadline_s <= 0:
            raise ValueError(f"deadline_s must be positive, got {deadline_s}")
        self.inner = inner
        self.fusion = fusion  # how the pipeline searches these expansions (None: mixed in)
        self.deadline_s = deadline_s
        self.name = inner.name
        self.variant = inner.variant
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="expander")
        self.fallbacks = 0

    def _fallback(self, queries: Sequence[str], reason: str) -> list[Expansion]:
        self.fallbacks += len(queries)
        log.warning("expansion fallback for %d queries: %s", len(queries), reason)
        return [Expansion(q, (), self.name, self.variant, fallback=reason) for q in queries]

    def _checked(self, queries: Sequence[str], future: Future, started: float) -> list[Expansion]:
        try:
            result = future.result(
                timeout=max(0.0, self.deadline_s - (time.perf_counter() - started)))
        except FutureTimeout:
            future.cancel()
            return self._fallback(queries, f"deadline exceeded ({self.deadline_s * 1000:.0f} ms)")
        except Exception as exc:  # any engine failure degrades to the original query
            return self._fallback(queries, f"engine error: {type(exc).__name__}: {exc}")
        if len(result) != len(queries):
            return self._fallback(queries, f"engine returned {len(result)} expansions "
                                           f"for {len(queries)} queries")
        return result

    def expand(self, queries: Sequence[str]) -> list[Expansion]:
        if not queries:
            return []
        started = time.perf_counter()
        return self._checked(queries, self._pool.submit(self.inner.expand, list(queries)), started)

    async def aexpand(self, queries: Sequence[str]) -> list[Expansion]:
        """Event-loop friendly: waits without blocking other tasks (heartbeats, commits)."""
        if not queries:
            return []
        started = time.perf_counter()
        future = self._pool.submit(self.inner.expand, list(queries))
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), self.deadline_s)
        except (asyncio.TimeoutError, Exception):
            pass  # _checked classifies timeout vs error from the future itself
        return self._checked(queries, future, started)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
