"""The faust app: built by a factory from settings (never at import time), then the agents.

Delivery: at-least-once. Each batch's outputs are sent and their delivery awaited before
the batch's events are acknowledged, and faust commits only acknowledged offsets, so a
killed worker re-processes (never loses) in-flight messages. Outputs are keyed by
request id so downstream consumers can de-duplicate. (Tansu has no transactions; on
Apache Kafka exactly-once could be layered on later.)
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import faust

from aislestream.settings import Settings, StreamSettings
from aislestream.streams import topics, transport
from aislestream.streams.pipeline import Output, RawMessage, SearchPipeline

if TYPE_CHECKING:
    from aislestream.streams.ads import AdsPipeline

log = logging.getLogger(__name__)
EXIT_UNDELIVERED = 75  # EX_TEMPFAIL: the worker may be restarted as is


def broker_url(bootstrap: str) -> str:
    return ";".join(f"{transport.SCHEME}://{server.strip()}" for server in bootstrap.split(","))


def create_app(settings: Settings, bootstrap: str, datadir: Path) -> faust.App:
    stream = settings.stream
    app = faust.App(
        stream.app_id,
        broker=broker_url(bootstrap),
        store="memory://",
        datadir=str(datadir),
        web_enabled=False,
        topic_partitions=settings.topics.partitions,
        topic_replication_factor=settings.topics.replication_factor,
        broker_session_timeout=stream.session_timeout_s,
        broker_heartbeat_interval=min(3.0, stream.session_timeout_s / 3),
        broker_commit_interval=stream.commit_interval_s,
        consumer_auto_offset_reset="earliest",
    )
    setattr(app, transport.APP_ATTRIBUTE, stream.fetch_max_wait_ms)
    return app


async def deliver(send: Callable[[Output], Awaitable[Awaitable[object]]], outputs: Sequence[Output],
                  attempts: int, first_delay_s: float = 0.2) -> None:
    """Send every output and wait until the broker has them, retrying the batch with backoff.

    A retry re-sends outputs that may already have landed: consumers see at-least-once
    delivery and de-duplicate by key.
    """
    delay = first_delay_s
    for attempt in range(1, attempts + 1):
        try:
            pending = [await send(o) for o in outputs]
            await asyncio.gather(*pending)
            return
        except Exception as exc:
            if attempt == attempts:
                raise
            log.warning("delivery attempt %d/%d failed (%s); retrying in %.1fs",
                        attempt, attempts, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def register_batch_agent(app: faust.App, name: str, source: str, outputs: dict[str, str],
                         process: Callable[[list[RawMessage]], Awaitable[list[Output]]],
                         stream_settings: StreamSettings,
                         ready: Callable[[], Awaitable[object]] | None = None) -> None:
    """An agent that reads ``source`` in bounded batches and publishes one output per message.
    ``ready`` is awaited before each batch (the experiment config has been read once)."""
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    topic = app.topic(source, **raw)
    for out in outputs.values():
        app.topic(out, **raw)  # declared so faust knows them; sends go straight to the producer

    async def send(output: Output) -> Awaitable[object]:
        # Values are already bytes, so the producer is used directly: faust's Topic.send wrapper
        # (codecs, sensors, attachments) halved the no-op agent's throughput (BENCHMARKS.md).
        return await app.producer.send(outputs[output.kind], output.key, output.value, None, None, None)

    async def agent(stream: faust.Stream) -> None:
        async for events in stream.take_events(stream_settings.batch_size, stream_settings.batch_within_s):
            batch = [
                RawMessage(e.message.topic, e.message.partition, e.message.offset,
                           e.message.key, e.message.value)
                for e in events
            ]
            if ready is not None:
                await ready()
            try:
                produced = await process(batch)
                await deliver(send, produced, stream_settings.delivery_attempts)
            except Exception:
                # take_events acknowledges a batch when the agent leaves it, even by an exception,
                # and acknowledged offsets get committed. A batch whose outputs were not delivered
                # must never be committed, so the worker stops at once, skipping faust's shutdown
                # (which would commit); its supervisor restarts it and the batch is re-read.
                log.critical("%s: batch of %d not delivered; stopping the worker uncommitted", name,
                             len(batch), exc_info=True)
                logging.shutdown()
                os._exit(EXIT_UNDELIVERED)

    app.agent(topic, name=name)(agent)


def register_search_agent(app: faust.App, settings: Settings, pipeline: SearchPipeline,
                          ready: Callable[[], Awaitable[object]] | None = None) -> None:
    t = settings.topics
    register_batch_agent(
        app, "search-augment", t.name(topics.SEARCH_QUERIES),
        {"result": t.name(topics.SEARCH_RESULTS), "dead_letter": t.name(topics.SEARCH_DLQ)},
        pipeline.process, settings.stream, ready)

    @app.timer(interval=10.0)
    async def report() -> None:
        if pipeline.counts:
            log.info("search-augment counts: %s", dict(pipeline.counts))


def register_ads_agent(app: faust.App, settings: Settings, pipeline: "AdsPipeline",
                       ready: Callable[[], Awaitable[object]] | None = None) -> None:
    """Generation takes seconds of CPU, so it runs on a worker thread: heartbeats and commits
    of the event loop must not wait for it."""
    t = settings.topics

    async def process(batch: list[RawMessage]) -> list[Output]:
        return await asyncio.get_running_loop().run_in_executor(None, pipeline.process, batch)

    ads_stream = settings.stream.model_copy(update={"batch_size": settings.ads.batch_size})
    register_batch_agent(
        app, "ads-creatives", t.name(topics.ADS_REQUESTS),
        {"result": t.name(topics.ADS_CREATIVES), "dead_letter": t.name(topics.ADS_DLQ)},
        process, ads_stream, ready)
