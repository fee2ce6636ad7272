"""The reward-model contract: what recurrent generation and the creative service need to judge
generated creatives, whatever scores them.

The reward threshold, defined once for the project: the P(right) an aspect's score must exceed
for a creative to be accepted, and a creative is accepted only when every aspect exceeds its
own. Training chooses one per aspect (95% precision on validation defects); an experiment arm
may set one for all aspects with the ``reward_threshold`` param of the ``ads.generation`` layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from aislestream.core.adspec import AdSpec


class RewardModel(Protocol):
    """Per-aspect P(right) of images for their specs, and the acceptance decision on them.
    ``models.ads.reward_models.RewardEnsemble`` satisfies it."""

    @property
    def reward_thresholds(self) -> Mapping[str, float]:
        """Aspect -> reward threshold."""
        ...

    def score(self, images: np.ndarray, specs: Sequence[AdSpec]) -> dict[str, np.ndarray]:
        """``images`` uint8 (N, 32, 32, 3) -> aspect -> P(right), each (N,)."""
        ...

    def usable(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        """(N,) bool: every aspect's P(right) above its reward threshold."""
        ...

    def reward(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        """(N,) scalar reward that ranks candidates (higher is better)."""
        ...

    def with_reward_threshold(self, reward_threshold: float) -> RewardModel:
        """The same scorers, one reward threshold for every aspect (an experiment arm's)."""
        ...
