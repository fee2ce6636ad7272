"""The creative service: a generator backend plus the reward models, with recurrent generation
(K candidates a round, up to N rounds), and the pool of generator variants experiment arms pick.
Streams depend on ``CreativeService`` and ``CreativeServicePool`` only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from aislestream.core.adspec import AdSpec
from aislestream.engines.generation.base import Generator
from aislestream.engines.generation.recurrent import Outcome, generate_until_usable
from aislestream.engines.reward import RewardModel, load_reward_model
from aislestream.engines.variants import Variants
from aislestream.errors import ConfigError


@dataclass(frozen=True)
class GenerationConfig:
    model_path: Path
    reward_path: Path
    inference_steps: int = 20
    candidates: int = 4
    max_attempts: int = 4
    backend: str = "torch"  # or "onnx": model_path is then an `aisle export onnx` directory


class CreativeService:
    def __init__(self, generator: Generator, reward: RewardModel, config: GenerationConfig) -> None:
        self.generator = generator
        self.reward = reward
        self.config = config
        self.version = f"{config.model_path.parent.name}/{config.model_path.name}"

    def create(self, specs: Sequence[AdSpec], seed: int = 0,
               reward_threshold: float | None = None) -> list[Outcome]:
        """``reward_threshold``: one for every aspect in place of the per-aspect ones validated
        at training (what an experiment arm may vary); None keeps those."""
        c = self.config
        return generate_until_usable(self.generator, self.reward_model(reward_threshold), specs,
                                     c.max_attempts, c.candidates, c.inference_steps, seed)

    def reward_model(self, reward_threshold: float | None) -> RewardModel:
        if reward_threshold is None:
            return self.reward
        return self.reward.with_reward_threshold(reward_threshold)

    def reasons(self, outcome: Outcome, reward_threshold: float | None = None) -> list[str]:
        """Why the reward models rejected the returned candidate, aspect by aspect."""
        thresholds = self.reward_model(reward_threshold).reward_thresholds
        return [f"{aspect}: P(right) {p:.2f} below the accept level {thresholds[aspect]:.2f}"
                for aspect, p in outcome.scores.items() if p <= thresholds.get(aspect, 0.5)]


class CreativeServicePool:
    """Generator variants by name, built on first use, sharing one reward model: experiment
    arms choose among them per request. ``None`` is the configured default."""

    def __init__(self, default: CreativeService, variants: Mapping[str, Path]) -> None:
        self.default = default
        self.variants = dict(variants)
        self._variants = Variants(self._build, "generator")

    def get(self, name: str | None) -> CreativeService:
        """The named variant (built now if it is new); the default for None. A variant that
        cannot be built raises ``ConfigError``."""
        return self.default if name is None else self._variants.get(name)

    def _build(self, name: str) -> CreativeService:
        if name not in self.variants:
            known = ", ".join(self.variants) or "none"
            raise ConfigError(f"unknown generator variant {name!r}; known: {known}")
        # variants are generator checkpoints (`base`, `rl`, pruned ones), served with torch
        config = replace(self.default.config, model_path=self.variants[name], backend="torch")
        return CreativeService(load_generator(config), self.default.reward, config)


def load_generator(config: GenerationConfig) -> Generator:
    """The backend ``config`` names; each imports its runtime only when chosen."""
    if config.backend == "onnx":
        from aislestream.engines.generation.onnx_backend import OnnxCreativePipeline

        return OnnxCreativePipeline(config.model_path)
    from aislestream.engines.generation.torch_backend import load_torch_generator

    return load_torch_generator(config.model_path)


def load_creative_service(config: GenerationConfig) -> CreativeService:
    return CreativeService(load_generator(config), load_reward_model(config.reward_path), config)
