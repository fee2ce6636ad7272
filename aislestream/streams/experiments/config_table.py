"""The experiments a worker serves, read live from the compacted experiments config topic.

``aisle experiments publish`` writes one record per experiment (key: its id as JSON, value: its
definition as JSON) to ``<app id>-experiments-changelog``. Every worker follows every partition
of it from the beginning with its own group-less consumer and keeps the latest value per key in
a table, so a change applies on all workers within a fetch interval and without a restart.
Search batches wait until the worker has read the topic to its end once, so no request is
served with a stale experiment set at start-up. A value that does not parse (written by
something other than the CLI) is logged and ignored, never served.

Why not a faust GlobalTable: with faust-streaming 0.15.3 on this broker, a GlobalTable either
stopped following external writes once recovered (one worker holds every partition as
active, with no standby to keep reading) or, with ``synchronize_all_active_partitions``,
intermittently left the stream partitions paused after recovery (2 of 4 starts served
nothing). Recorded in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping

import faust

from aislestream.connectors.kafka_io import apply_changelog, from_beginning
from aislestream.errors import ConfigError
from aislestream.settings import TopicSettings
from aislestream.streams import topics
from aislestream.streams.experiments.schema import Experiment, parse_experiment

log = logging.getLogger(__name__)


class ExperimentRegistry:
    """The latest definition per experiment id, and the parsed list the pipeline reads."""

    def __init__(self, bootstrap: str, topic: str, fetch_wait_ms: int = 100) -> None:
        self.bootstrap, self.topic, self.fetch_wait_ms = bootstrap, topic, fetch_wait_ms
        self.table: dict[str, dict] = {}
        self.loaded = asyncio.Event()
        self._parsed: list[Experiment] = []

    def __call__(self) -> list[Experiment]:
        return self._parsed

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        try:
            apply_changelog(self.table, key, value)
        except ValueError as exc:
            log.error("unreadable record on %s (%s); ignored", self.topic, exc)
            return
        parsed = list(parsed_experiments(self.table, self.topic).values())
        self._parsed = parsed
        log.info("serving experiments: %s",
                 ", ".join(f"{e.id} ({e.layer})" for e in parsed) or "none")

    async def follow(self) -> None:
        async with from_beginning(self.bootstrap, [self.topic], self.fetch_wait_ms) as reader:
            while True:
                if not self.loaded.is_set() and await reader.caught_up():
                    self.loaded.set()
                for record in await reader.fetch(self.fetch_wait_ms, max_records=1000):
                    self.apply(record.key, record.value)


def register_experiment_table(app: faust.App, bootstrap: str, app_id: str, settings: TopicSettings,
                              fetch_wait_ms: int) -> ExperimentRegistry:
    from aislestream.connectors.broker import ensure_topics

    topic = topics.changelog(app_id, topics.EXPERIMENTS)
    ensure_topics(bootstrap, {topic: config_topic_spec(settings)})
    registry = ExperimentRegistry(bootstrap, topic, fetch_wait_ms)
    app.task(registry.follow)
    return registry


def config_topic_spec(settings: TopicSettings):
    from aislestream.connectors.broker import TopicSpec

    return TopicSpec(settings.partitions, settings.replication_factor,
                     {"cleanup.policy": "compact"})


def publish(bootstrap: str, app_id: str, settings: TopicSettings,
            experiments: list[Experiment]) -> int:
    """Write each experiment as the latest value of its key, both as JSON (what faust's table
    serializers read back)."""
    from aislestream.connectors.broker import ensure_topics
    from aislestream.connectors.kafka_io import produce

    topic = topics.changelog(app_id, topics.EXPERIMENTS)
    ensure_topics(bootstrap, {topic: config_topic_spec(settings)})
    return produce(bootstrap, topic, ((json.dumps(e.id).encode(), e.model_dump_json().encode())
                                      for e in experiments))


def parsed_experiments(table: Mapping[str, object], topic: str) -> dict[str, Experiment]:
    """The definitions that validate, by id; the others logged, never served."""
    parsed = {}
    for name, definition in sorted(table.items()):
        try:
            parsed[name] = parse_experiment(definition, f"experiment {name!r} on {topic}")
        except ConfigError as exc:
            log.error("%s; not serving it", exc)
    return parsed


def published(bootstrap: str, app_id: str) -> dict[str, Experiment]:
    """The latest definition of every experiment on the config topic."""
    from aislestream.connectors.kafka_io import read_changelog

    topic = topics.changelog(app_id, topics.EXPERIMENTS)
    return parsed_experiments(read_changelog(bootstrap, topic), topic)
