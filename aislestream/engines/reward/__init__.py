"""Reward models online: the ``RewardModel`` contract and the trained ensemble it loads.
torch is imported only when an ensemble is loaded, not when this package is."""

from __future__ import annotations

from pathlib import Path

from aislestream.engines.reward.base import RewardModel

__all__ = ["RewardModel", "load_reward_model"]


def load_reward_model(path: Path) -> RewardModel:
    """The specialized scorers (shape, placement, colour) saved under ``path`` by
    `aisle train ads --stage reward`, with their reward thresholds."""
    from aislestream.models.ads.reward_models import RewardEnsemble

    return RewardEnsemble.load(path)
