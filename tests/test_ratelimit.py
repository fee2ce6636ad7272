import logging

import pytest

from aislestream.ratelimit import RateLimitedLog


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(caplog):
    clock = FakeClock()
    caplog.set_level(logging.WARNING, logger="test.ratelimit")
    return RateLimitedLog(logging.getLogger("test.ratelimit"), interval_s=30, clock=clock), clock


def test_first_occurrence_logs_at_once_then_once_per_interval_with_the_count_held_back(
        limited, caplog):
    log, clock = limited
    assert log.warning("down", "redis down: %s", "refused")
    for _ in range(4):
        clock.now += 5
        assert not log.warning("down", "redis down: %s", "refused")
    clock.now += 10  # 30 s after the first
    assert log.warning("down", "redis down: %s", "timeout")
    assert [r.getMessage() for r in caplog.records] == ["redis down: refused",
                                                        "redis down: timeout (4 more since)"]


def test_a_quiet_interval_logs_without_a_count(limited, caplog):
    log, clock = limited
    log.warning("down", "redis down")
    clock.now += 31
    log.warning("down", "redis down")
    assert [r.getMessage() for r in caplog.records] == ["redis down", "redis down"]


def test_keys_are_limited_independently(limited, caplog):
    log, _ = limited
    assert log.warning("get", "get failed") and log.warning("put", "put failed")
    assert not log.warning("get", "get failed")
    assert [r.getMessage() for r in caplog.records] == ["get failed", "put failed"]


def test_the_interval_must_be_positive():
    with pytest.raises(ValueError):
        RateLimitedLog(logging.getLogger("x"), interval_s=0)
