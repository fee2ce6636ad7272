"""The creative service over the two protocols, with stand-ins for the generator and scorers."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from aislestream.core.adspec import ALL_SPECS, AdSpec
from aislestream.engines.generation import CreativeService, GenerationConfig


class BlankGenerator:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int | None]] = []

    def generate(self, specs: Sequence[AdSpec], num_inference_steps: int = 20,
                 seed: int | None = None) -> np.ndarray:
        self.calls.append((len(specs), num_inference_steps, seed))
        return np.zeros((len(specs), 32, 32, 3), dtype=np.uint8)


@dataclass(frozen=True)
class FixedReward:
    """Every candidate scores ``p`` for each aspect."""
    p: Mapping[str, float]
    reward_thresholds: Mapping[str, float] = field(default_factory=dict)

    def score(self, images: np.ndarray, specs: Sequence[AdSpec]) -> dict[str, np.ndarray]:
        return {a: np.full(len(images), p) for a, p in self.p.items()}

    def usable(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.all([scores[a] > self.reward_thresholds[a] for a in self.p], axis=0)

    def reward(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.prod(list(scores.values()), axis=0)

    def with_reward_threshold(self, reward_threshold: float) -> "FixedReward":
        return replace(self, reward_thresholds=dict.fromkeys(self.p, reward_threshold))


def service(generator: BlankGenerator) -> CreativeService:
    reward = FixedReward({"shape": 0.9, "colour": 0.6}, {"shape": 0.5, "colour": 0.5})
    config = GenerationConfig(Path("ads/tiny/rl"), Path("unused"), inference_steps=3, candidates=2,
                              max_attempts=3)
    return CreativeService(generator, reward, config)


def test_the_trained_thresholds_accept_at_the_first_attempt():
    generator = BlankGenerator()
    outcomes = service(generator).create(ALL_SPECS[:2], seed=5)
    assert [(o.accepted, o.attempts) for o in outcomes] == [(True, 1), (True, 1)]
    assert generator.calls == [(4, 3, 5001)]  # K=2 candidates for each of the two requests


def test_an_arm_threshold_rejects_and_says_which_aspect_fell_short():
    generator = BlankGenerator()
    creatives = service(generator)
    (outcome,) = creatives.create(ALL_SPECS[:1], seed=0, reward_threshold=0.7)
    assert not outcome.accepted and outcome.attempts == 3 and len(generator.calls) == 3
    assert creatives.reasons(outcome, 0.7) == ["colour: P(right) 0.60 below the accept level 0.70"]
    assert creatives.reasons(outcome) == [] and creatives.version == "tiny/rl"
