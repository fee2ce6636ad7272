"""What keeps ``aisle up`` honest about its two children: the embedded broker and the worker.

The embedded Tansu broker keeps topics, committed offsets, assistant sessions and experiments
in memory, so it must outlive a worker crash (a poison message exits the worker with 75, which a
restart resolves), and its own exit must end ``aisle up`` loudly: a worker left reconnecting to
a broker that is gone writes megabytes of log a minute and serves nothing.

Restart policy: after a crash the worker comes back after 1 s, doubling to at most 30 s while it
keeps crashing within 60 s of starting; a worker that stayed up 60 s starts the count afresh.
After 6 such rapid crashes in a row the breaker opens: the worker stays down, the broker and its
data stay up, and the report says so.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aislestream.connectors.broker import EmbeddedBroker, wait_for_broker
from aislestream.errors import BrokerLost
from aislestream.settings import BrokerSettings

log = logging.getLogger(__name__)


class Broker(Protocol):
    """The part of :class:`EmbeddedBroker` the supervisor watches."""

    @property
    def running(self) -> bool: ...

    @property
    def exit_code(self) -> int | None: ...


class Worker(Protocol):
    """The part of :class:`aislestream.stack.runtime.WorkerProcess` the supervisor drives."""

    log_path: Path

    def start(self) -> object: ...

    def alive(self) -> bool: ...

    def stop(self, timeout_s: float = 20.0) -> None: ...

    def log_tail(self, lines: int = 30) -> str: ...

    @property
    def pid(self) -> int | None: ...

    @property
    def exit_code(self) -> int | None: ...


@dataclass(frozen=True)
class RestartPolicy:
    """When a crashed worker comes back, and when to stop bringing it back."""

    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    stable_after_s: float = 60.0  # up this long, the next crash counts as the first again
    max_rapid_crashes: int = 6  # rapid crashes in a row that open the breaker

    def delay(self, rapid_crashes: int) -> float:
        return min(self.first_delay_s * 2 ** (rapid_crashes - 1), self.max_delay_s)


class Supervisor:
    """Polls the broker and the worker; restarts the worker with backoff, raises
    :class:`BrokerLost` when the broker exits. Use as a context manager: leaving it stops the
    worker. ``report`` receives what an operator should read (the CLI prints it)."""

    def __init__(self, worker: Worker | None, broker: Broker | None,
                 policy: RestartPolicy = RestartPolicy(),
                 report: Callable[[str], None] = log.warning,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, poll_s: float = 0.5) -> None:
        self.worker, self.broker, self.policy = worker, broker, policy
        self._report, self._clock, self._sleep, self._poll_s = report, clock, sleep, poll_s
        self.rapid_crashes = 0
        self.exit_codes: list[int | None] = []
        self.given_up = False
        self._started_at = clock()  # the caller has just started the worker
        self._restart_at: float | None = None

    def __enter__(self) -> "Supervisor":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if self.worker is not None:
            # with the broker gone the worker cannot commit anything: no point waiting long
            self.worker.stop(timeout_s=5.0 if exc_type is BrokerLost else 20.0)

    def run(self) -> None:
        """Poll until the broker exits (then raise) or the caller is interrupted."""
        while True:
            self.poll()
            self._sleep(self._poll_s)

    def poll(self) -> None:
        self._check_broker()
        self._check_worker()

    def _check_broker(self) -> None:
        if self.broker is None or self.broker.running:
            return
        raise BrokerLost(
            f"the embedded broker exited (code {self.broker.exit_code}); everything it held in "
            "memory went with it: topics, committed offsets, assistant sessions and experiments. "
            "The worker was stopped; `aisle up` starts a fresh, empty stack")

    def _check_worker(self) -> None:
        if self.worker is None or self.given_up:
            return
        now = self._clock()
        if self._restart_at is not None:
            if now >= self._restart_at:
                self._restart(now)
        elif not self.worker.alive():
            self._on_exit(now)

    def _restart(self, now: float) -> None:
        assert self.worker is not None
        self._restart_at = None
        self.worker.start()
        self._started_at = now
        self._report(f"worker restarted (pid {self.worker.pid})")

    def _on_exit(self, now: float) -> None:
        assert self.worker is not None
        uptime = now - self._started_at
        self.rapid_crashes = self.rapid_crashes + 1 if uptime < self.policy.stable_after_s else 1
        self.exit_codes.append(self.worker.exit_code)
        self._report(f"worker exited with code {self.worker.exit_code} after {uptime:.0f}s; "
                     f"the end of its log ({self.worker.log_path}):\n{self.worker.log_tail()}")
        if self.rapid_crashes >= self.policy.max_rapid_crashes:
            self.given_up = True
            self._report(
                f"the worker crashed {self.rapid_crashes} times in a row, each within "
                f"{self.policy.stable_after_s:.0f}s of starting: not restarting it again. "
                "The broker and its data stay up; fix the cause (see the log above) and run "
                "`aisle worker` against it, or Ctrl-C to stop everything")
            return
        delay = self.policy.delay(self.rapid_crashes)
        self._restart_at = now + delay
        self._report(f"restarting the worker in {delay:.0f}s (rapid crash {self.rapid_crashes} "
                     f"of {self.policy.max_rapid_crashes} before giving up)")


@contextlib.contextmanager
def stack_broker(broker: BrokerSettings,
                 log_dir: Path) -> Iterator[tuple[str, EmbeddedBroker | None]]:
    """Bootstrap servers for ``aisle up`` and the broker to watch: the configured one once
    reachable (not ours to watch: None), else an embedded one this process owns and stops."""
    if broker.bootstrap_servers:
        wait_for_broker(broker.bootstrap_servers, broker.connect_timeout_s)
        yield broker.bootstrap_servers, None
        return
    embedded = EmbeddedBroker(log_dir=log_dir)
    embedded.start(broker.connect_timeout_s)
    try:
        yield embedded.bootstrap, embedded
    finally:
        embedded.stop()
