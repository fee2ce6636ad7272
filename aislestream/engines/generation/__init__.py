"""Creative generation online: a generator backend plus the reward ensemble, with recurrent
generation (K candidates a round, up to N rounds). Streams depend on ``CreativeService`` only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from aislestream.core.adspec import AdSpec
from aislestream.engines.reward import RewardEnsemble, build_reward
from aislestream.engines.variants import Variants
from aislestream.errors import ConfigError
from aislestream.models.ads.generator import AdCreativePipeline, load_pipeline
from aislestream.models.ads.recurrent import Outcome, generate_until_usable

if TYPE_CHECKING:
    from aislestream.engines.generation.onnx_backend import OnnxCreativePipeline


@dataclass(frozen=True)
class GenerationConfig:
    model_path: Path
    reward_path: Path
    inference_steps: int = 20
    candidates: int = 4
    max_attempts: int = 4
    backend: str = "torch"  # or "onnx": model_path is then an `aisle export onnx` directory


class CreativeService:
    def __init__(self, pipeline: AdCreativePipeline | OnnxCreativePipeline, reward: RewardEnsemble, config: GenerationConfig) -> None:
        self.pipeline = pipeline
        self.reward = reward
        self.config = config
        self.version = f"{config.model_path.parent.name}/{config.model_path.name}"

    def create(self, specs: Sequence[AdSpec], seed: int = 0, accept_level: float | None = None) -> list[Outcome]:
        """``accept_level``: the P(right) every aspect must reach, replacing the validated
        per-aspect thresholds (what an experiment arm may vary)."""
        c = self.config
        return generate_until_usable(self.pipeline, self.ensemble(accept_level), specs, c.max_attempts,
                                     c.candidates, c.inference_steps, seed)

    def ensemble(self, accept_level: float | None) -> RewardEnsemble:
        if accept_level is None:
            return self.reward
        return replace(self.reward, thresholds={a: 1.0 - accept_level for a in self.reward.scorers})

    def reasons(self, outcome: Outcome, accept_level: float | None = None) -> list[str]:
        """Why the reward models rejected the returned candidate, aspect by aspect."""
        thresholds = self.ensemble(accept_level).thresholds
        return [f"{aspect}: P(right) {p:.2f} below the accept level {1 - thresholds[aspect]:.2f}"
                for aspect, p in outcome.scores.items() if 1.0 - p >= thresholds.get(aspect, 0.5)]


class CreativeServicePool:
    """Generator variants by name, built on first use, sharing one reward ensemble: experiment
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
            raise ConfigError(f"unknown generator variant {name!r}; known: {', '.join(self.variants) or 'none'}")
        # variants are generator checkpoints (`base`, `rl`, pruned ones), served with torch
        config = replace(self.default.config, model_path=self.variants[name], backend="torch")
        return CreativeService(load_generator(config), self.default.reward, config)


def load_generator(config: GenerationConfig) -> AdCreativePipeline | OnnxCreativePipeline:
    if config.backend == "onnx":
        from aislestream.engines.generation.onnx_backend import OnnxCreativePipeline

        return OnnxCreativePipeline(config.model_path)
    return load_pipeline(config.model_path)


def build_creative_service(config: GenerationConfig) -> CreativeService:
    return CreativeService(load_generator(config), build_reward(config.reward_path), config)
