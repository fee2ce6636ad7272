"""Recurrent generation (RFNet): sample K candidates per request, keep the best one the reward
models accept, and try again, up to N attempts, for the requests that got none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aislestream.core.adspec import AdSpec
from aislestream.engines.generation.base import Generator
from aislestream.engines.reward.base import RewardModel


@dataclass
class Outcome:
    spec: AdSpec
    image: np.ndarray  # the accepted candidate, or the best-scoring rejected one
    accepted: bool
    attempts: int
    scores: dict[str, float]  # per-aspect P(right) of the returned image


def generate_until_usable(generator: Generator, reward: RewardModel, specs: Sequence[AdSpec],
                          max_attempts: int = 4, candidates: int = 4, steps: int = 20,
                          seed: int = 0) -> list[Outcome]:
    """One outcome per spec, in order; acceptance is ``reward.usable`` (its reward thresholds)."""
    best: dict[int, Outcome] = {}
    best_reward = {i: -1.0 for i in range(len(specs))}
    pending = list(range(len(specs)))
    for attempt in range(1, max_attempts + 1):
        if not pending:
            break
        batch = [specs[i] for i in pending for _ in range(candidates)]  # K candidates per request
        images = generator.generate(batch, steps, seed=seed * 1000 + attempt)
        scores = reward.score(images, batch)
        usable, ranking = reward.usable(scores), reward.reward(scores)
        still = []
        for j, i in enumerate(pending):
            block = range(j * candidates, (j + 1) * candidates)
            ranked = sorted(block, key=lambda k: (usable[k], ranking[k]), reverse=True)
            top = ranked[0]
            if usable[top] or ranking[top] > best_reward[i]:
                best_reward[i] = float(ranking[top])
                best[i] = Outcome(specs[i], images[top], bool(usable[top]), attempt,
                                  {a: float(v[top]) for a, v in scores.items()})
            best[i].attempts = attempt
            if not usable[top]:
                still.append(i)
        pending = still
    return [best[i] for i in range(len(specs))]
