import asyncio
import time

import pytest

from aislestream.engines.expansion import Expansion, GuardedExpander, IdentityExpander


class SlowExpander(IdentityExpander):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def expand(self, queries):
        time.sleep(self.seconds)
        return super().expand(queries)


class BrokenExpander(IdentityExpander):
    def expand(self, queries):
        raise RuntimeError("model weights corrupted")


class ShortExpander(IdentityExpander):
    def expand(self, queries):
        return super().expand(queries)[:-1]


def test_deadline_falls_back_to_the_original_query():
    guard = GuardedExpander(SlowExpander(1.0), deadline_s=0.05)
    started = time.perf_counter()
    out = guard.expand(["red shoes", "kettle"])
    assert time.perf_counter() - started < 0.5
    assert [e.query for e in out] == ["red shoes", "kettle"]
    assert all(e.terms == () and e.fallback == "deadline exceeded (50 ms)" for e in out)
    assert guard.fallbacks == 2


def test_engine_error_falls_back_with_reason():
    (e,) = GuardedExpander(BrokenExpander(), deadline_s=1.0).expand(["q"])
    assert e.fallback == "engine error: RuntimeError: model weights corrupted"


def test_wrong_number_of_expansions_falls_back():
    out = GuardedExpander(ShortExpander(), deadline_s=1.0).expand(["a", "b"])
    assert all("returned 1 expansions for 2 queries" in e.fallback for e in out)


def test_fast_engine_passes_through():
    out = GuardedExpander(IdentityExpander(), deadline_s=1.0).expand(["a"])
    assert out == [Expansion("a", (), "identity", "default")]


def test_async_deadline_does_not_block_the_event_loop():
    guard = GuardedExpander(SlowExpander(1.0), deadline_s=0.05)

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        task = asyncio.create_task(ticker())
        out = await guard.aexpand(["q"])
        task.cancel()
        return out, ticks

    out, ticks = asyncio.run(main())
    assert out[0].fallback.startswith("deadline exceeded")
    assert ticks >= 3, "other tasks must keep running while expansion is awaited"


def test_async_error_and_success_paths():
    assert (asyncio.run(GuardedExpander(BrokenExpander(), 1.0).aexpand(["q"]))[0]
            .fallback.startswith("engine error"))
    assert asyncio.run(GuardedExpander(IdentityExpander(), 1.0).aexpand(["q"]))[0].fallback is None


def test_non_positive_deadline_is_rejected():
    with pytest.raises(ValueError, match="deadline_s must be positive"):
        GuardedExpander(IdentityExpander(), 0)
