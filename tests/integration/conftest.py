"""Fixtures of the integration tests: worker processes on the session's real broker."""

from __future__ import annotations

import pytest

from aislestream.connectors.broker import ensure_topics
from aislestream.settings import Settings
from aislestream.stack.runtime import WorkerProcess
from aislestream.streams.topics import topic_specs


@pytest.fixture
def started_worker(broker, tantivy_store, tmp_path):
    workers: list[WorkerProcess] = []

    def start(settings: Settings) -> WorkerProcess:
        ensure_topics(broker, topic_specs(settings.topics))
        worker = WorkerProcess(settings, tmp_path / f"worker-{len(workers)}.log").start()
        workers.append(worker)
        worker.wait_until_serving(timeout_s=120)
        return worker

    yield start
    for worker in workers:
        worker.stop()
