"""What operators watch: a worker's Prometheus metrics and its HTTP liveness and readiness.

One registry per worker (never prometheus_client's global one: a test process builds many
apps). What it holds:

- faust's own sensor (``faust.sensors.prometheus``, names prefixed ``faust_``): messages read
  per topic and partition, end and committed offsets, commit latency, rebalances;
- the agents' (``observe``): messages in, outputs by kind, dead letters by error type, the
  latency of each message from the worker reading it to its outputs being acknowledged by the
  broker, and the time each batch spends processing and delivering;
- the counters engines and agents keep already (the search pipeline's fallbacks and retrieval
  channels, the isolation's suspects and quarantines, the assistant's error replies, the
  expander caches' hits, the ads pipeline's attempts and acceptances), read at scrape time,
  so nothing is counted twice;
- consumer lag per assigned partition (end offset minus the next offset to read), from faust's
  monitor at scrape time.

The server is a thread (wsgiref) beside the event loop, so /metrics answers while a batch runs;
whether the loop itself answers is what liveness says, by the age of the report the loop
writes (streams/health.py), as `aisle health` does for exec probes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Mapping, Sequence
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from aislestream.errors import ConfigError

if TYPE_CHECKING:
    import faust

    from aislestream.streams.pipeline import Output

log = logging.getLogger(__name__)
# per-message and per-step seconds: a cached identity pass is milliseconds, a generated
# creative seconds; fine between 5 and 100 ms, where a search p99 lives, so a quantile read
# from the buckets (the soak's, Grafana's) moves when the latency does
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05,
                   0.075, 0.1, 0.15, 0.2, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0)
PATHS = ("/metrics", "/health/live", "/health/ready")

CountsReader = Callable[[], Mapping[str, float]]
LagReader = Callable[[], Iterable[tuple[str, int, int]]]


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.messages_in = Counter("aisle_messages_in", "Messages an agent read", ["agent"],
                                   registry=r)
        self.outputs = Counter("aisle_outputs", "Records an agent published, by kind",
                               ["agent", "kind"], registry=r)
        self.dead_letters = Counter("aisle_dead_letters", "Dead letters, by error type",
                                    ["agent", "error_type"], registry=r)
        self.latency = Histogram(
            "aisle_message_latency_seconds",
            "From the worker reading a message to the broker acknowledging its outputs",
            ["agent"], buckets=LATENCY_BUCKETS, registry=r)
        self.step_seconds = Histogram("aisle_batch_step_seconds",
                                      "Time a batch spends in a step (process, deliver)",
                                      ["agent", "step"], buckets=LATENCY_BUCKETS, registry=r)
        self._counts: dict[str, CountsReader] = {}
        self._lag: list[LagReader] = []
        r.register(_ReadAtScrape(self._counts, self._lag))

    def add_counts(self, source: str, read: CountsReader) -> None:
        """Counters ``read()`` returns (name -> total) exported as
        ``aisle_events_total{source, event}``."""
        self._counts[source] = read

    def add_lag(self, read: LagReader) -> None:
        self._lag.append(read)

    def observe(self, agent: str, messages: int, outputs: Sequence[Output], read_at: float,
                processed_at: float, delivered_at: float) -> None:
        """One batch (or one event): ``messages`` read at ``read_at``, their outputs produced at
        ``processed_at`` and acknowledged at ``delivered_at`` (perf_counter seconds)."""
        self.messages_in.labels(agent).inc(messages)
        for kind, n in Tally(o.kind for o in outputs).items():
            self.outputs.labels(agent, kind).inc(n)
        for output in outputs:
            if output.kind == "dead_letter":
                self.dead_letters.labels(agent, error_type(output.value)).inc()
        self.step_seconds.labels(agent, "process").observe(processed_at - read_at)
        self.step_seconds.labels(agent, "deliver").observe(delivered_at - processed_at)
        latency = self.latency.labels(agent)
        for _ in range(messages):  # a batch's messages were read and delivered together
            latency.observe(delivered_at - read_at)


def error_type(letter: bytes) -> str:
    try:
        return str(json.loads(letter)["error_type"])
    except (ValueError, KeyError, TypeError):
        return "unknown"


class _ReadAtScrape(Collector):
    def __init__(self, counts: dict[str, CountsReader], lag: list[LagReader]) -> None:
        self.counts, self.lag = counts, lag

    def collect(self):
        events = CounterMetricFamily("aisle_events", "Counters kept by engines and agents",
                                     labels=["source", "event"])
        for source, read in list(self.counts.items()):
            for event, value in _snapshot(lambda: dict(read()).items()):
                events.add_metric([source, event], float(value))
        yield events
        lag = GaugeMetricFamily("aisle_consumer_lag",
                                "Messages behind the partition's end offset",
                                labels=["topic", "partition"])
        for read in self.lag:
            for topic, partition, behind in _snapshot(read):
                lag.add_metric([topic, str(partition)], float(behind))
        yield lag


def _snapshot(read: Callable[[], Iterable]) -> list:
    """``read()`` copied off the event loop's thread: a dict it resizes meanwhile is retried."""
    for _ in range(3):
        try:
            return list(read())
        except RuntimeError:
            continue
    return []


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """A worker's /metrics as {(sample name, sorted labels): value}, as a scraper reads it."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def faust_lag(app: faust.App) -> LagReader:
    """Per assigned partition: its end offset (the highwater faust saw on the last fetch) minus
    the next offset to read; partitions nothing was fetched from yet are left out."""
    def read() -> Iterable[tuple[str, int, int]]:
        monitor = app.monitor
        ends, reads = dict(monitor.tp_end_offsets), dict(monitor.tp_read_offsets)
        for tp in list(app.consumer.assignment()):
            if (end := ends.get(tp)) is not None:
                done = reads.get(tp)
                yield tp.topic, tp.partition, max(0, end - (0 if done is None else done + 1))
    return read


def install_faust_sensor(app: faust.App, registry: CollectorRegistry) -> None:
    """faust's Prometheus monitor on ``registry`` (before the app starts), without faust's web
    server: this module serves the registry."""
    from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor

    app.monitor = PrometheusMonitor(metrics=FaustMetrics.create(registry, "faust"))


Problems = Callable[[], list[str]]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        pass  # a scrape every 15 s is not worth a log line


class ProbeServer:
    """``/metrics`` (the registry), ``/health/live`` and ``/health/ready`` (200, or 503 with the
    problems ``live()`` / ``ready()`` name) on ``host:port``; port 0 picks a free one."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int, live: Problems,
                 ready: Problems) -> None:
        self.registry, self.host, self.port = registry, host, port
        self.live, self.ready = live, ready
        self._metrics = make_wsgi_app(registry)
        self._server: WSGIServer | None = None

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            return self._metrics(environ, start_response)
        if path in ("/health/live", "/health/ready"):
            problems = (self.live if path == "/health/live" else self.ready)()
            start_response("503 Service Unavailable" if problems else "200 OK",
                           [("Content-Type", "text/plain; charset=utf-8")])
            return [("; ".join(problems) if problems else "ok").encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [f"not found; serving {', '.join(PATHS)}".encode()]

    def start(self) -> str:
        """Bind and serve in a daemon thread; the URL it serves on."""
        try:
            self._server = make_server(self.host, self.port, self, server_class=_ThreadingServer,
                                       handler_class=_QuietHandler)
        except OSError as exc:
            raise ConfigError(f"cannot serve metrics on {self.host}:{self.port}: {exc} (set "
                              "AISLE_METRICS__PORT, 0 for any free port, or "
                              "AISLE_METRICS__ENABLED=false)") from exc
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True).start()
        log.info("metrics and probes on %s (%s)", self.url, ", ".join(PATHS))
        return self.url

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
