"""The worker's metrics registry and its HTTP server (a real server on a free loopback port;
a real worker is scraped in tests/integration/test_metrics_scrape.py)."""

import json
import socket
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from aislestream.errors import ConfigError
from aislestream.streams.metrics import ProbeServer, WorkerMetrics, error_type
from aislestream.streams.pipeline import Output


def _letter(kind: str) -> Output:
    return Output("dead_letter", b"k", json.dumps({"error_type": kind, "reason": "x"}).encode())


def samples(registry) -> dict[tuple[str, tuple], float]:
    from prometheus_client import generate_latest

    out = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_a_batch_counts_its_messages_outputs_dead_letters_and_latency():
    metrics = WorkerMetrics()
    outputs = [Output("result", b"a", b"{}"), _letter("invalid_json"), _letter("invalid_json"),
               _letter("oversized")]
    metrics.observe("search-augment", 4, outputs, read_at=0.0, processed_at=0.03,
                    delivered_at=0.04)
    got = samples(metrics.registry)
    agent = (("agent", "search-augment"),)
    assert got[("aisle_messages_in_total", agent)] == 4
    assert got[("aisle_outputs_total", (("agent", "search-augment"), ("kind", "dead_letter")))] == 3
    assert got[("aisle_dead_letters_total", (("agent", "search-augment"),
                                              ("error_type", "invalid_json")))] == 2
    assert got[("aisle_message_latency_seconds_count", agent)] == 4
    assert got[("aisle_message_latency_seconds_bucket", (*agent, ("le", "0.05")))] == 4
    assert got[("aisle_message_latency_seconds_bucket", (*agent, ("le", "0.025")))] == 0
    step = (("agent", "search-augment"), ("step", "process"))
    assert got[("aisle_batch_step_seconds_sum", step)] == pytest.approx(0.03)


def test_engine_counters_and_lag_are_read_when_scraped():
    metrics = WorkerMetrics()
    counts = {"fallbacks": 1}
    metrics.add_counts("search-augment", lambda: counts)
    metrics.add_lag(lambda: [("t.search.queries", 0, 7), ("t.search.queries", 1, 0)])
    counts["fallbacks"] = 3  # read at scrape time, not when added
    got = samples(metrics.registry)
    assert got[("aisle_events_total", (("event", "fallbacks"), ("source", "search-augment")))] == 3
    assert got[("aisle_consumer_lag", (("partition", "0"), ("topic", "t.search.queries")))] == 7


def test_an_unreadable_letter_counts_as_unknown():
    assert error_type(b"not json") == error_type(b"[]") == "unknown"


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_server_serves_metrics_and_probes_and_says_what_is_wrong():
    metrics = WorkerMetrics()
    metrics.observe("assistant", 1, [Output("result", b"s", b"{}")], 0.0, 0.001, 0.002)
    problems: list[str] = ["no partitions assigned"]
    server = ProbeServer(metrics.registry, "127.0.0.1", 0, live=lambda: [],
                         ready=lambda: problems)
    url = server.start()
    try:
        assert server.port != 0 and url == f"http://127.0.0.1:{server.port}"
        code, body = _get(url + "/metrics")
        assert code == 200 and 'aisle_messages_in_total{agent="assistant"} 1.0' in body
        assert _get(url + "/health/live") == (200, "ok")
        assert _get(url + "/health/ready") == (503, "no partitions assigned")
        problems.clear()
        assert _get(url + "/health/ready") == (200, "ok")
        code, body = _get(url + "/nothing")
        assert code == 404 and "/metrics" in body
    finally:
        server.stop()


def test_a_port_in_use_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ProbeServer(WorkerMetrics().registry, "127.0.0.1", port, live=list, ready=list)
        with pytest.raises(ConfigError, match="AISLE_METRICS__PORT"):
            server.start()
