"""Time-to-live for faust tables: a periodic sweep lists stale keys, an agent deletes them.

A table write must happen on the partition that owns the key, inside a stream (faust sends the
changelog record to the current event's partition), so the timer only asks: it publishes each
stale key to an expiry topic keyed like the table, and the agent reading that topic deletes the
entry on its own partition if it is still stale (it may have been refreshed since it was listed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import faust

log = logging.getLogger(__name__)


def register_expiry(app: faust.App, table: faust.types.TableT, topic: faust.types.TopicT,
                    interval_s: float, stale: Callable[[dict, float], bool],
                    on_expired: Callable[[], None] | None = None) -> None:
    """A value ``stale`` cannot read (corrupted, or written by another release) counts as stale:
    an exception in a faust timer would stop the worker, and the restored value would stop it
    again."""
    def past_ttl(key: object, value: object, now: float) -> bool:
        try:
            return bool(stale(value, now))  # type: ignore[arg-type]
        except Exception as exc:
            log.warning("%s[%r] is unreadable (%s: %s); expiring it", table.name, key,
                        type(exc).__name__, exc)
            return True

    def expire(key: str, now: float) -> bool:
        value = table.get(key)
        if value is not None and past_ttl(key, value, now):
            del table[key]
            return True
        return False

    @app.agent(topic, name=f"{table.name}-expiry")
    async def delete(stream: faust.Stream) -> None:
        async for key in stream:
            try:
                if (key is not None and expire(key.decode("utf-8", "replace"), time.time())
                        and on_expired):
                    on_expired()
            except Exception:  # a missed delete is swept again next interval
                log.exception("%s: expiring %r failed", table.name, key)

    @app.timer(interval=interval_s)
    async def sweep() -> None:
        now = time.time()
        for key, value in list(table.items()):
            if value is not None and isinstance(key, str) and past_ttl(key, value, now):
                await topic.send(key=key.encode(), value=key.encode())
