"""Timing that survives a noisy shared machine: variants interleaved, medians kept."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed_round_robin(runs: dict[str, Callable[[], int]], rounds: int) -> dict[str, float]:
    """Items/s per variant: each run returns how many items it produced; the median over
    ``rounds`` is kept, with the variants interleaved within each round so that a slow
    stretch of the machine hits all of them."""
    for run in runs.values():
        run()  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            items = run()
            rates[name].append(items / (time.perf_counter() - started))
    return {name: statistics.median(r) for name, r in rates.items()}
