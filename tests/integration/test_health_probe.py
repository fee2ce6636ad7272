"""The probes on a real worker: `aisle health --ready` passes once the worker has joined its group
on the real broker, its report names the partitions it holds, and a stopped worker is not live."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from aislestream.cli.health import health
from aislestream.streams import topics
from aislestream.streams.health import health_path, read_report
from tests.integration.test_search_stream import worker_settings

pytestmark = pytest.mark.integration


def probe(settings, *args: str) -> tuple[int, str]:
    """`aisle health ARGS` configured the way the worker's container is: by its environment."""
    env = {"AISLE_DATA_DIR": str(settings.data_dir), "AISLE_STREAM__APP_ID": settings.stream.app_id}
    result = CliRunner().invoke(health, list(args), env=env)
    return result.exit_code, result.output


def test_a_serving_worker_is_ready_and_reports_its_partitions(broker, tantivy_store, started_worker,
                                                              tmp_path):
    settings = worker_settings(broker, tantivy_store.path, tmp_path)
    worker = started_worker(settings)  # joined its group and answered a probe query

    deadline = time.monotonic() + 30  # a report every 5 s
    while (answer := probe(settings, "--ready"))[0] != 0 and time.monotonic() < deadline:
        worker.check_alive()
        time.sleep(0.5)
    assert answer[0] == 0, f"{answer[1]}\nworker log:\n{worker.log_tail()}"
    assert probe(settings)[0] == 0

    report = read_report(health_path(settings))
    assert report is not None and report.pid == worker.pid and report.broker_reachable
    queries = settings.topics.name(topics.SEARCH_QUERIES)
    held = {entry for entry in report.assigned if entry.startswith(f"{queries}:")}
    # the only member of its group holds every partition of the queries topic
    assert held == {f"{queries}:{p}" for p in range(settings.topics.partitions)}

    worker.stop()
    code, out = probe(settings)
    assert code == 1 and f"worker pid {worker.pid}" in out
