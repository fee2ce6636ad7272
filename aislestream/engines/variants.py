"""Model variants built on first use, for experiment arms that choose one per request.

A variant that fails to build (a checkpoint missing or corrupt, overrides that do not validate)
must cost its arm, not the stream: the failure becomes a ``ConfigError`` that names the variant
and the cause, which the pipelines turn into a fallback or a dead letter. Outside the
``AisleError`` family such a failure used to end the batch, and the restarted worker met it
again on the same experiment. The failure is remembered for ``retry_s`` so a broken checkpoint
is not reloaded on every batch, and a repaired one is picked up without a restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from aislestream.errors import AisleError, ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")


class Variants(Generic[T]):
    def __init__(self, build: Callable[[str], T], kind: str, retry_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.build, self.kind, self.retry_s, self.clock = build, kind, retry_s, clock
        self._built: dict[str, T] = {}
        self._failed: dict[str, tuple[float, str]] = {}  # name -> (when, why)

    def built(self) -> dict[str, T]:
        """The variants built so far, by name."""
        return dict(self._built)

    def get(self, name: str) -> T:
        if name in self._built:
            return self._built[name]
        if name in self._failed:
            since, why = self._failed[name]
            if self.clock() - since < self.retry_s:
                raise ConfigError(why)
        log.info("building %s variant %r", self.kind, name)
        try:
            built = self.build(name)
        except Exception as exc:
            why = str(exc) if isinstance(exc, AisleError) else \
                f"{self.kind} variant {name!r} failed to build: {type(exc).__name__}: {exc}"
            log.error("%s; its arms fall back until it builds (retried every %.0f s)",
                      why, self.retry_s)
            self._failed[name] = (self.clock(), why)
            raise ConfigError(why) from exc
        self._failed.pop(name, None)
        self._built[name] = built
        return built
