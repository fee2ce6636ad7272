"""The reward ensemble online: per-aspect scores and the usable decision for generated creatives."""

from __future__ import annotations

from pathlib import Path

from aislestream.models.ads.reward_models import RewardEnsemble

__all__ = ["RewardEnsemble", "build_reward"]


def build_reward(path: Path) -> RewardEnsemble:
    """Load the specialized scorers (shape, placement, colour) and their thresholds."""
    return RewardEnsemble.load(path)
