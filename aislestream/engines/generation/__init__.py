"""Creative generation online: the ``Generator`` contract, its backends (``torch_backend``,
``onnx_backend``), recurrent generation, the creative service and ``build_creative_service``,
the only thing the worker calls. Importing this package imports no torch, diffusers or
onnxruntime: a backend imports its runtime when it is built."""

from __future__ import annotations

from aislestream.engines.generation.base import Generator
from aislestream.engines.generation.recurrent import Outcome, generate_until_usable
from aislestream.engines.generation.service import (
    CreativeService,
    CreativeServicePool,
    GenerationConfig,
    load_creative_service,
)
from aislestream.errors import require_extra
from aislestream.models.ads.presets import get_ads_preset
from aislestream.models.ads.serving import rl_beats_base
from aislestream.settings import Settings

__all__ = [
    "CreativeService", "CreativeServicePool", "GenerationConfig", "Generator", "Outcome",
    "build_creative_service", "generate_until_usable", "load_creative_service", "rl_beats_base",
]


def build_creative_service(settings: Settings) -> CreativeServicePool:
    """The generators and reward models of ``settings.ads``, from the preset's artifacts.

    Default: ``generator_path`` when set, else the RL fine-tuned generator when it exists,
    ``use_rl`` is on and its serving gate found it better than the base one (``rl/rl.json``),
    else the base one. Variants for experiment arms: ``base``, ``rl`` and the
    configured ``generator_variants``. The reward models are the preset's specialized scorers.
    """
    ads = settings.ads
    runtime = ("onnxruntime",) if ads.generator_backend == "onnx" else ()
    require_extra("ml", "torch", "diffusers", *runtime, needed_by="the ads agent")
    preset = get_ads_preset(ads.preset)
    root = settings.artifacts.ads(preset.name)
    base, rl = root / "generator", root / "rl"
    default = rl if ads.use_rl and rl_beats_base(rl) else base
    config = GenerationConfig(ads.generator_path or default, root / "reward" / "specialized",
                              preset.generator.inference_steps, ads.candidates, ads.max_attempts,
                              backend=ads.generator_backend)
    variants = {"base": base, "rl": rl, **ads.generator_variants}
    return CreativeServicePool(load_creative_service(config), variants)
