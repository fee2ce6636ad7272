"""A real worker on the real broker, scraped as Prometheus would: its health report says where
its metrics are; queries and dead letters show up in them by agent and error type, with
latency, consumer lag and faust's own sensor; the HTTP probes answer."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from aislestream.connectors.kafka_io import collect, produce
from aislestream.demo.replay import replay_messages
from aislestream.streams import topics
from aislestream.streams.health import health_path, read_report
from aislestream.streams.metrics import scrape
from tests.integration.test_search_stream import outputs, worker_settings

pytestmark = pytest.mark.integration


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_serving_worker_is_scraped_and_probed(broker, tantivy_store, small_world, started_worker,
                                                tmp_path):
    settings = worker_settings(broker, tantivy_store.path, tmp_path, engine="prf")
    worker = started_worker(settings)
    deadline = time.monotonic() + 30  # the first report within a tick (5 s)
    while ((report := read_report(health_path(settings))) is None or not report.assigned) \
            and time.monotonic() < deadline:
        worker.check_alive()
        time.sleep(0.5)
    assert report is not None and report.metrics_url, worker.log_tail()
    url = report.metrics_url
    assert status(url + "/health/live") == 200 and status(url + "/health/ready") == 200

    messages = list(replay_messages(small_world.queries, 200, malformed_fraction=0.1, seed=7,
                                    run_id="metrics"))
    produce(broker, settings.topics.name(topics.SEARCH_QUERIES), ((k, v) for k, v, _ in messages))
    collect(broker, outputs(settings), len(messages) + 1, 120, stop=worker.check_alive)
    got = scrape(url)

    agent = (("agent", "search-augment"),)
    malformed = sum(bad is not None for _, _, bad in messages)
    # the probe query wait_until_serving sent is one message more
    assert got[("aisle_messages_in_total", agent)] >= len(messages)
    letters = sum(v for (name, labels), v in got.items()
                  if name == "aisle_dead_letters_total" and dict(labels)["agent"] ==
                  "search-augment")
    assert letters == malformed
    assert got[("aisle_outputs_total", (*agent, ("kind", "result")))] >= len(messages) - malformed
    assert got[("aisle_message_latency_seconds_count", agent)] >= len(messages)
    assert got[("aisle_events_total", (("event", "results"), ("source", "search-augment")))] \
        >= len(messages) - malformed
    queries = settings.topics.name(topics.SEARCH_QUERIES)
    lag = {labels: v for (name, labels), v in got.items()
           if name == "aisle_consumer_lag" and dict(labels)["topic"] == queries}
    assert lag and all(v >= 0 for v in lag.values())
    assert any(name.startswith("faust_") for name, _ in got)  # faust's own sensor

    worker.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/health/live", timeout=2)
