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
from pathlib import Path

import faust

from aislestream.settings import Settings
from aislestream.streams import topics, transport
from aislestream.streams.pipeline import RawMessage, SearchPipeline

log = logging.getLogger(__name__)


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


def register_search_agent(app: faust.App, settings: Settings, pipeline: SearchPipeline) -> None:
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    queries = app.topic(settings.topics.name(topics.SEARCH_QUERIES), **raw)
    outputs = {
        "result": app.topic(settings.topics.name(topics.SEARCH_RESULTS), **raw),
        "dead_letter": app.topic(settings.topics.name(topics.SEARCH_DLQ), **raw),
    }
    names = {kind: topic.get_topic_name() for kind, topic in outputs.items()}
    stream_settings = settings.stream

    @app.agent(queries, name="search-augment")
    async def search_augment(stream: faust.Stream) -> None:
        async for events in stream.take_events(stream_settings.batch_size, stream_settings.batch_within_s):
            batch = [
                RawMessage(e.message.topic, e.message.partition, e.message.offset,
                           e.message.key, e.message.value)
                for e in events
            ]
            produced = await pipeline.process(batch)
            # Values are already bytes, so the producer is used directly: faust's Topic.send
            # wrapper (codecs, sensors, attachments) halved the no-op throughput (BENCHMARKS.md).
            pending = [
                await app.producer.send(names[o.kind], o.key, o.value, None, None, None) for o in produced
            ]
            # Acknowledgement (and so the offset commit) waits for every output's delivery.
            await asyncio.gather(*pending)

    @app.timer(interval=10.0)
    async def report() -> None:
        if pipeline.counts:
            log.info("search-augment counts: %s", dict(pipeline.counts))
