"""The ads presets: generator size and schedule, reward-model and feedback training, evaluation
size. Plain data, importable without torch (the CLI's choices come from here)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from aislestream.errors import ConfigError

STAGES = ("generator", "reward", "rl")


@dataclass(frozen=True)
class GeneratorPreset:
    name: str
    num_layers: int
    num_heads: int
    head_dim: int
    patch_size: int
    train_steps: int
    batch_size: int
    lr: float
    inference_steps: int
    ema_decay: float = 0.999


GENERATOR_PRESETS = {
    "micro": GeneratorPreset("micro", 2, 2, 16, 8, 30, 8, 1e-3, 4, ema_decay=0.9),
    "tiny": GeneratorPreset("tiny", 6, 4, 32, 4, 4_000, 32, 4e-4, 20),
    "small": GeneratorPreset("small", 12, 6, 64, 2, 40_000, 128, 2e-4, 50, ema_decay=0.9999),
}


@dataclass(frozen=True)
class RewardTrainConfig:
    train_images: int = 12_000
    val_images: int = 3_000
    steps: int = 1_500
    specialized_width: int = 8
    monolithic_width: int = 22  # 208,677 parameters vs 3 x 70,609 for the specialized scorers
    seed: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self))


@dataclass(frozen=True)
class FeedbackConfig:
    rounds: int = 6
    samples_per_round: int = 256
    steps_per_round: int = 150
    batch_size: int = 32
    lr: float = 5e-5
    base_weight: float = 1.0  # weight of the distillation-to-base regulariser
    inference_steps: int = 20
    seed: int = 0


@dataclass(frozen=True)
class AdsPreset:
    name: str
    generator: GeneratorPreset
    reward: RewardTrainConfig
    feedback: FeedbackConfig
    eval_reps: int  # every spec combination this many times
    eval_stride: int = 1  # or every n-th combination, for quick checks


ADS_PRESETS = {
    "micro": AdsPreset("micro", GENERATOR_PRESETS["micro"],
                       RewardTrainConfig(train_images=400, val_images=200, steps=30),
                       FeedbackConfig(rounds=1, samples_per_round=16, steps_per_round=3,
                                      batch_size=8, inference_steps=4), eval_reps=1, eval_stride=9),
    "tiny": AdsPreset("tiny", GENERATOR_PRESETS["tiny"], RewardTrainConfig(), FeedbackConfig(),
                      eval_reps=2),
    "small": AdsPreset("small", GENERATOR_PRESETS["small"],
                       RewardTrainConfig(train_images=50_000, steps=6_000),
                       FeedbackConfig(rounds=20, samples_per_round=1_024), eval_reps=4),
}


def get_ads_preset(name: str) -> AdsPreset:
    if name not in ADS_PRESETS:
        raise ConfigError(f"unknown ads preset {name!r}; choose one of {', '.join(ADS_PRESETS)}")
    return ADS_PRESETS[name]
