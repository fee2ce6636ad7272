"""Time-to-live for faust tables: a periodic sweep lists stale keys, an agent deletes them.

A table write must happen on the partition that owns the key, inside a stream (faust sends the
changelog record to the current event's partition), so the timer only asks: it publishes each
stale key to an expiry topic keyed like the table, and the agent reading that topic deletes the
entry on its own partition if it is still stale (it may have been refreshed since it was listed).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import faust


def register_expiry(app: faust.App, table: faust.types.TableT, topic: faust.types.TopicT, interval_s: float,
                    stale: Callable[[dict, float], bool], on_expired: Callable[[], None] | None = None) -> None:
    def expire(key: str, now: float) -> bool:
        value = table.get(key)
        if value is not None and stale(value, now):
            del table[key]
            return True
        return False

    @app.agent(topic, name=f"{table.name}-expiry")
    async def delete(stream: faust.Stream) -> None:
        async for key in stream:
            if key is not None and expire(key.decode("utf-8", "replace"), time.time()) and on_expired:
                on_expired()

    @app.timer(interval=interval_s)
    async def sweep() -> None:
        now = time.time()
        for key, value in list(table.items()):
            if value is not None and stale(value, now):
                await topic.send(key=key.encode(), value=key.encode())
