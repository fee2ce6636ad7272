"""A faust agent that forwards raw messages unchanged, batched, sent and acknowledged exactly like
the search agent. Benchmarks run it to separate faust's own per-message cost from the pipeline's.

    python -m aislestream.bench.faust_passthrough BOOTSTRAP SOURCE SINK DATADIR [BATCH]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import faust

from aislestream.streams import transport
from aislestream.streams.app import broker_url
from aislestream.streams.topics import raw_topic


def build_app(bootstrap: str, source: str, sink: str, datadir: Path, batch: int) -> faust.App:
    app = faust.App(f"passthrough-{source}", broker=broker_url(bootstrap), store="memory://",
                    datadir=str(datadir), web_enabled=False, consumer_auto_offset_reset="earliest")
    setattr(app, transport.APP_ATTRIBUTE, 100)  # same fetch wait as the search worker's default
    src = raw_topic(app, source)
    raw_topic(app, sink)  # declared so faust knows it; sends go straight to the producer

    @app.agent(src, name="passthrough")
    async def passthrough(stream: faust.Stream) -> None:
        async for events in stream.take_events(batch, 0.02):
            pending = [await app.producer.send(sink, e.message.key, e.message.value,
                                               None, None, None)
                       for e in events]
            await asyncio.gather(*pending)

    return app


if __name__ == "__main__":
    bootstrap, source, sink, datadir = sys.argv[1:5]
    batch = int(sys.argv[5]) if len(sys.argv) > 5 else 32
    Path(datadir).mkdir(parents=True, exist_ok=True)
    faust.Worker(build_app(bootstrap, source, sink, Path(datadir), batch), loglevel="warning",
                 quiet=True).execute_from_commandline()
