"""Creative generation online: a generator backend plus the reward ensemble, with recurrent
generation (K candidates a round, up to N rounds). Streams depend on ``CreativeService`` only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aislestream.engines.reward import RewardEnsemble, build_reward
from aislestream.models.ads.generator import AdCreativePipeline, load_pipeline
from aislestream.models.ads.recurrent import Outcome, generate_until_usable
from aislestream.models.ads.spec import AdSpec

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

    def create(self, specs: Sequence[AdSpec], seed: int = 0) -> list[Outcome]:
        c = self.config
        return generate_until_usable(self.pipeline, self.reward, specs, c.max_attempts, c.candidates,
                                     c.inference_steps, seed)

    def reasons(self, outcome: Outcome) -> list[str]:
        """Why the reward models rejected the returned candidate, aspect by aspect."""
        return [f"{aspect}: P(right) {p:.2f} below the accept level {1 - self.reward.thresholds[aspect]:.2f}"
                for aspect, p in outcome.scores.items() if 1.0 - p >= self.reward.thresholds.get(aspect, 0.5)]


def build_creative_service(config: GenerationConfig) -> CreativeService:
    if config.backend == "onnx":
        from aislestream.engines.generation.onnx_backend import OnnxCreativePipeline

        pipeline: AdCreativePipeline | OnnxCreativePipeline = OnnxCreativePipeline(config.model_path)
    else:
        pipeline = load_pipeline(config.model_path)
    return CreativeService(pipeline, build_reward(config.reward_path), config)
