"""The drivers behind `aisle prune analyze|apply|heal`: which model, where its artifacts live.

    <data-dir>/prune/<model>/<preset>/profile.json
    <data-dir>/prune/<model>/<preset>/<method>-n<N>/{raw,healed}

A pruned directory is an ordinary checkpoint of the model's own kind (a diffusers generator
pipeline, a transformers causal LM with its tokenizer), so the serving engines load it like
any other variant.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aislestream.errors import ConfigError
from aislestream.models.pruning.names import MODELS
from aislestream.models.pruning.select import Selection, select
from aislestream.models.pruning.spectral import SpectralProfile
from aislestream.settings import Settings


@dataclass(frozen=True)
class Target:
    """One prunable model of one preset."""

    model: str
    preset: str
    source: Path  # the trained checkpoint pruning starts from
    root: Path  # where pruning artifacts go
    settings: Settings
    # what every variant of this target shares and is costly to make (the LLM's distillation
    # sequences: rebuilding the world and decoding 2,048 prompts); filled on first use
    shared: dict = field(default_factory=dict, compare=False, repr=False)

    def variant_dir(self, selection: Selection) -> Path:
        return self.root / f"{selection.method}-n{len(selection.drop)}"


def target(settings: Settings, model: str, preset: str) -> Target:
    if model == "generator":
        from aislestream.models.ads.presets import get_ads_preset
        from aislestream.models.ads.serving import served_generator

        # what the worker serves: the RL generator only where its serving gate passed it
        source = served_generator(settings.artifacts.ads(get_ads_preset(preset).name))
        marker, hint = source / "model_index.json", f"aisle train ads --preset {preset}"
    elif model == "lm":
        from aislestream.models.lm.presets import get_preset
        from aislestream.models.lm.run import lm_dir

        source = lm_dir(settings, get_preset(preset)) / "rl"
        marker, hint = source / "config.json", f"aisle train lm --preset {preset}"
    else:
        raise ConfigError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    if not marker.exists():
        raise ConfigError(f"nothing to prune at {source}: run `{hint}` first")
    return Target(model, preset, source, settings.artifacts.prune(model, preset), settings)


def _load(t: Target):
    if t.model == "generator":
        from aislestream.models.ads.generator import load_pipeline

        return load_pipeline(t.source)
    from aislestream.models.lm.model import load_checkpoint

    return load_checkpoint(t.source)


def analyze(t: Target, calibration: int = 256) -> SpectralProfile:
    """Profile every block on a calibration set and save it beside the variants."""
    if t.model == "generator":
        from aislestream.models.ads.presets import get_ads_preset
        from aislestream.models.pruning.dit import profile_generator

        steps = get_ads_preset(t.preset).generator.inference_steps
        profile = profile_generator(_load(t), steps, specs_per_step=min(calibration, 192))
    else:
        from aislestream.models.lm.prompts import expand_prompt
        from aislestream.models.pruning.lm import profile_lm

        model, tokenizer = _load(t)
        profile = profile_lm(model, tokenizer,
                             [expand_prompt(q) for q in calibration_queries(t, calibration)])
    t.root.mkdir(parents=True, exist_ok=True)
    (t.root / "profile.json").write_text(json.dumps(profile.to_json(), indent=2))
    return profile


def load_profile(t: Target) -> SpectralProfile:
    import numpy as np

    path = t.root / "profile.json"
    if not path.exists():
        raise ConfigError(f"no block profile at {path}: "
                          f"run `aisle prune analyze --model {t.model}` first")
    raw = json.loads(path.read_text())
    return SpectralProfile(np.array(raw["spectral_distance"]), np.array(raw["band_change"]),
                           np.array(raw["block_influence"]))


def calibration_queries(t: Target, n: int) -> list[str]:
    """Training-split queries (never the held-out ones the evaluation uses)."""
    from aislestream.models.lm.presets import get_preset
    from aislestream.models.lm.run import training_world

    train_ids = set(json.loads((t.source.parent / "split.json").read_text())["train"])
    world = training_world(t.settings, get_preset(t.preset))
    return [q.text for q in world.queries if q.id in train_ids][:n]


def apply(t: Target, selection: Selection) -> Path:
    """Remove the selected blocks and save the result as ``<variant>/raw``."""
    out = t.variant_dir(selection) / "raw"
    if out.exists():
        shutil.rmtree(out)
    if t.model == "generator":
        from aislestream.models.ads.generator import AdCreativePipeline
        from aislestream.models.pruning.dit import drop_blocks

        full = _load(t)
        AdCreativePipeline(drop_blocks(full.transformer, selection.drop), full.vae,
                           full.scheduler, full.config.guidance_scale,
                           full.config.cleanup).save_pretrained(out)
    else:
        from aislestream.models.pruning.lm import drop_layers

        model, tokenizer = _load(t)
        drop_layers(model, selection.drop).save_pretrained(out)
        tokenizer.save_pretrained(out)
    (out.parent / "selection.json").write_text(json.dumps(
        {"method": selection.method, "drop": list(selection.drop), "epsilon": selection.epsilon,
         "source": str(t.source)}, indent=2))
    return out


def heal(t: Target, selection: Selection, steps: int,
         progress: Callable[[int, int, float], None] | None = None) -> Path:
    """Distil the unpruned model into ``<variant>/raw``; save as ``<variant>/healed``."""
    raw, out = t.variant_dir(selection) / "raw", t.variant_dir(selection) / "healed"
    if not raw.exists():
        raise ConfigError(f"no pruned model at {raw}: run `aisle prune apply` first")
    if t.model == "generator":
        from aislestream.models.ads.generator import load_pipeline
        from aislestream.models.pruning.dit import heal_generator

        student, teacher = load_pipeline(raw), _load(t)
        heal_generator(student, teacher.transformer, steps, progress=progress)
        student.save_pretrained(out)
    else:
        from aislestream.models.lm.model import load_checkpoint
        from aislestream.models.lm.presets import get_preset
        from aislestream.models.lm.prompts import expand_prompt
        from aislestream.models.pruning.lm import heal_lm, with_completions

        student, tokenizer = load_checkpoint(raw)
        teacher, _ = _load(t)
        if "healing_rows" not in t.shared:  # greedy teacher completions: the same for every variant
            prompts = [expand_prompt(q) for q in calibration_queries(t, 2_048)]
            t.shared["healing_rows"] = with_completions(teacher, tokenizer, prompts,
                                                        get_preset(t.preset).max_new_tokens)
        rows = t.shared["healing_rows"]
        heal_lm(student, teacher, tokenizer.pad_token_id, rows, steps, progress=progress)
        student.save_pretrained(out)
        tokenizer.save_pretrained(out)
    shutil.copy(t.variant_dir(selection) / "selection.json", out / "selection.json")
    return out


def choose(t: Target, method: str, blocks: int, seed: int = 0) -> Selection:
    return select(method, load_profile(t), blocks, seed)
