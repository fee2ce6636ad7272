"""Rate-limited logging: one line per interval for a warning that repeats, not one per batch.

During an outage (Redis down, a store refusing) the same warning fires on every batch, many
times a second; the log then drowns everything else and costs I/O when the worker can least
afford it. ``RateLimitedLog`` logs the first occurrence of a key at once, then at most once
per interval, saying how many it held back, so the log still shows that the problem goes on
and how often it happened.

Keys are the caller's fixed names for a kind of event ("redis-get", "redis-put"), never a
value from the data: state is kept per key for the life of the object.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class RateLimitedLog:
    def __init__(self, logger: logging.Logger, interval_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        self.logger = logger
        self.interval_s = interval_s
        self._clock = clock
        self._last: dict[str, float] = {}  # key -> when it was last logged
        self._held: dict[str, int] = {}  # key -> occurrences held back since then
        self._lock = threading.Lock()  # callers run on expander pool threads

    def log(self, level: int, key: str, msg: str, *args: object) -> bool:
        """Logs ``msg % args`` unless ``key`` was logged within the interval; True if it logged."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval_s:
                self._held[key] = self._held.get(key, 0) + 1
                return False
            held = self._held.pop(key, 0)
            self._last[key] = now
        if held:
            msg, args = f"{msg} (%d more since)", (*args, held)
        self.logger.log(level, msg, *args)
        return True

    def warning(self, key: str, msg: str, *args: object) -> bool:
        return self.log(logging.WARNING, key, msg, *args)
