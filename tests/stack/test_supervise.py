"""The supervisor of `aisle up` on fake children and a fake clock: restarts, backoff, the breaker,
and broker loss. A real `aisle up` with real children is killed in tests/stack/test_runtime.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from aislestream.errors import BrokerLost
from aislestream.stack.supervise import RestartPolicy, Supervisor


class FakeWorker:
    def __init__(self) -> None:
        self.log_path = Path("worker.log")
        self.starts = 1  # the caller starts it before the supervisor takes over
        self.exit_code: int | None = None
        self.stopped_with: float | None = None

    @property
    def pid(self) -> int:
        return 1000 + self.starts

    def start(self) -> "FakeWorker":
        self.starts += 1
        self.exit_code = None
        return self

    def alive(self) -> bool:
        return self.exit_code is None

    def stop(self, timeout_s: float = 20.0) -> None:
        self.stopped_with = timeout_s

    def log_tail(self, lines: int = 30) -> str:
        return "poison message on search.queries"


class FakeBroker:
    running = True
    exit_code: int | None = None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stack():
    worker, broker, clock, reports = FakeWorker(), FakeBroker(), Clock(), []
    supervisor = Supervisor(worker, broker, report=reports.append, clock=clock,
                            sleep=lambda _: None)
    return supervisor, worker, broker, clock, reports


def crash_and_restart(supervisor, worker, clock, after_s: float, code: int = 75) -> float:
    """Let the worker run ``after_s``, exit with ``code``; return the delay before its restart."""
    clock.now += after_s
    worker.exit_code = code
    supervisor.poll()
    assert supervisor._restart_at is not None
    delay = supervisor._restart_at - clock.now
    clock.now += delay
    supervisor.poll()
    return delay


def test_a_crashed_worker_is_restarted_after_the_backoff_with_its_exit_and_log_reported(stack):
    supervisor, worker, _, clock, reports = stack
    clock.now = 5.0
    worker.exit_code = 75
    supervisor.poll()
    assert worker.starts == 1  # not at once: after the first delay
    assert "worker exited with code 75 after 5s" in reports[0] and "poison message" in reports[0]
    assert "restarting the worker in 1s" in reports[1]
    clock.now += 0.5
    supervisor.poll()
    assert worker.starts == 1
    clock.now += 0.5
    supervisor.poll()
    assert worker.starts == 2 and reports[-1] == "worker restarted (pid 1002)"


def test_backoff_doubles_to_the_cap_and_resets_after_a_stable_run():
    worker, clock = FakeWorker(), Clock()
    supervisor = Supervisor(worker, FakeBroker(), RestartPolicy(max_rapid_crashes=100),
                            report=lambda _: None, clock=clock, sleep=lambda _: None)
    delays = [crash_and_restart(supervisor, worker, clock, after_s=2) for _ in range(7)]
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    # up a minute: count afresh
    assert crash_and_restart(supervisor, worker, clock, after_s=61) == 1
    assert supervisor.exit_codes == [75] * 8


def test_the_breaker_opens_after_six_rapid_crashes_and_keeps_the_broker_up(stack):
    supervisor, worker, _, clock, reports = stack
    for _ in range(5):
        crash_and_restart(supervisor, worker, clock, after_s=3)
    clock.now += 3
    worker.exit_code = 75
    supervisor.poll()
    assert supervisor.given_up and worker.starts == 6
    assert ("crashed 6 times in a row" in reports[-1]
            and "broker and its data stay up" in reports[-1])
    clock.now += 3600
    supervisor.poll()  # no restart, no error: the broker still serves whoever reconnects
    assert worker.starts == 6


def test_broker_exit_raises_broker_lost_and_stops_the_worker_quickly(stack):
    supervisor, worker, broker, _, _ = stack
    broker.running, broker.exit_code = False, -9
    with pytest.raises(BrokerLost, match=r"exited \(code -9\).*topics, committed offsets, "
                                          r"assistant sessions and experiments"):
        with supervisor:
            supervisor.run()
    assert worker.stopped_with == 5.0


def test_broker_loss_is_noticed_while_a_restart_is_pending(stack):
    supervisor, worker, broker, clock, _ = stack
    worker.exit_code = 75
    supervisor.poll()  # restart scheduled in 1 s
    broker.running = False
    with pytest.raises(BrokerLost):
        supervisor.poll()
    assert worker.starts == 1


def test_leaving_normally_stops_the_worker_gracefully(stack):
    supervisor, worker, _, _, _ = stack
    with supervisor:
        supervisor.poll()
    assert worker.stopped_with == 20.0


def test_without_a_worker_or_an_embedded_broker_there_is_nothing_to_do():
    supervisor = Supervisor(None, None, sleep=lambda _: None)
    supervisor.poll()  # neither a worker to restart nor a broker to lose: no error, no restart
    with supervisor:
        pass
    assert supervisor.worker is None and not supervisor.given_up
