"""The creative generator on an accelerator, behind ``aisle bench ads --device cuda``.

For each variant (a generator preset, optionally with fields overridden): the autoencoder of the
preset of that name trained first (once per autoencoder preset), then a generator training run
sized to a wall-clock budget (steps/s measured on a short probe first, so the learning-rate
schedule still ends where it should), the oracle usable rate the result reaches (served and
raw), and generated images/s at several batch sizes. It trains what it measures, so the
machine needs no trained artifacts; beyond the project's own models it imports only torch,
diffusers and numpy (no broker, no settings).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from aislestream.core.adspec import ALL_SPECS
from aislestream.errors import ConfigError
from aislestream.evaluation.results import write_results
from aislestream.models.ads.generator import AdCreativePipeline
from aislestream.models.ads.judged import judged_samples
from aislestream.models.ads.oracle import rates
from aislestream.models.ads.presets import (
    AUTOENCODER_PRESETS,
    GENERATOR_PRESETS,
    GeneratorPreset,
)
from aislestream.models.ads.train_autoencoder import train_autoencoder
from aislestream.models.ads.train_generator import train_generator

TOPIC = "ads_device"
PROBE_STEPS = 40
BATCHES = (1, 16, 256)


def parse_variant(text: str) -> tuple[str, GeneratorPreset]:
    """``tiny`` or ``tiny:train_steps=16000,patch_size=2``: a preset with fields overridden."""
    name, _, overrides = text.partition(":")
    if name not in GENERATOR_PRESETS:
        raise ConfigError(f"unknown generator preset {name!r}; "
                          f"choose one of {', '.join(GENERATOR_PRESETS)}")
    fields = {f.name: f.type for f in dataclasses.fields(GeneratorPreset)}
    changes: dict[str, object] = {}
    for item in filter(None, overrides.split(",")):
        key, _, value = item.partition("=")
        if key not in fields or key == "name":
            raise ConfigError(f"{key!r} is not a generator preset field ({', '.join(fields)})")
        try:
            changes[key] = float(value) if fields[key] in (float, "float") else int(value)
        except ValueError:
            raise ConfigError(f"{text}: {key}={value!r} is not a number") from None
    return text, dataclasses.replace(GENERATOR_PRESETS[name], **changes)


def seconds_per_step(preset: GeneratorPreset, vae, device: str) -> float:
    """Training seconds per step on a short probe (its recorded ``train_seconds``, which leave
    the learning-curve evaluation out)."""
    import json

    probe = dataclasses.replace(preset, train_steps=PROBE_STEPS, eval_every=PROBE_STEPS,
                                curve_reps=1)
    with tempfile.TemporaryDirectory() as tmp:
        train_generator(probe, vae, Path(tmp), device=device)
        return json.loads((Path(tmp) / "train.json").read_text())["train_seconds"] / PROBE_STEPS


def usable_rate(pipeline: AdCreativePipeline, steps: int, reps: int) -> dict[str, float]:
    judged = judged_samples(pipeline, ALL_SPECS * reps, steps, seed=0, chunk=256)
    return {**rates(judged.served_verdicts), "usable_raw": rates(judged.raw_verdicts)["usable"],
            "n": len(judged.specs)}


def images_per_s(pipeline: AdCreativePipeline, steps: int, batch: int, seconds: float) -> float:
    specs = [ALL_SPECS[i % len(ALL_SPECS)] for i in range(batch)]
    pipeline.generate(specs, steps, seed=0)  # warm-up (kernels, allocator)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        pipeline.generate(specs, steps, seed=done)  # returns host arrays: the device has finished
        done += batch
    return done / (time.perf_counter() - started)


def run(variants: Sequence[str], budget_s: float, device: str, out: Path,
        timing_s: float = 8.0,
        on_variant: Callable[[str, dict], None] = lambda name, result: None) -> dict[str, dict]:
    """Train, judge and time each variant; checkpoints go to ``out/<variant>``. Every variant is
    parsed before the first one trains, so a typo in the last fails in seconds, not minutes."""
    parsed = [parse_variant(v) for v in variants]
    results: dict[str, dict] = {}
    autoencoders: dict[str, object] = {}
    for name, preset in parsed:
        ae = AUTOENCODER_PRESETS.get(preset.name, AUTOENCODER_PRESETS["tiny"])
        if ae.name not in autoencoders:
            autoencoders[ae.name] = train_autoencoder(ae, out / f"autoencoder-{ae.name}",
                                                      device=device)
        vae = autoencoders[ae.name]
        per_step = seconds_per_step(preset, vae, device)
        steps = max(1, min(preset.train_steps, int(budget_s / per_step)))
        trained = dataclasses.replace(preset, train_steps=steps,
                                      eval_every=max(steps // 4, 1))
        started = time.perf_counter()
        pipeline = train_generator(trained, vae, out / name.replace(":", "_"),
                                   device=device).to(device)
        train_s = time.perf_counter() - started
        quality = usable_rate(pipeline, preset.inference_steps, reps=2)
        speed = {f"batch{b}_images_per_s":
                 round(images_per_s(pipeline, preset.inference_steps, b, timing_s), 1)
                 for b in BATCHES}
        results[name] = {"patch_size": preset.patch_size, "num_layers": preset.num_layers,
                         "parameters": sum(p.numel() for p in pipeline.transformer.parameters()),
                         "train_steps": steps, "preset_train_steps": preset.train_steps,
                         "train_seconds": round(train_s, 1),
                         "train_steps_per_s": round(steps / train_s, 2),
                         "inference_steps": preset.inference_steps,
                         "autoencoder": ae.name,
                         **{k: round(v, 4) for k, v in quality.items()}, **speed}
        on_variant(name, results[name])
    return results


def markdown(results: dict, card: str) -> str:
    lines = ["## Ad creative generator on a GPU", "",
             f"{card}. Each preset's autoencoder trained first, then the generator for a fixed "
             "wall-clock budget (its full step count where that fits), judged by the pixel oracle "
             "on every spec combination x 2 (served: after the cleanup step; raw: without it), "
             "and timed generating at batch 1, 16 and 256.", "",
             "| preset | params | steps trained (of preset) | train steps/s | oracle usable "
             "(raw) | shape / placement / colour ok | img/s b1 | b16 | b256 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['parameters']:,} | {r['train_steps']:,} ({r['preset_train_steps']:,}) "
            f"| {r['train_steps_per_s']} | {r['usable']:.1%} ({r['usable_raw']:.1%}) "
            f"| {r['shape_ok']:.0%} / {r['placement_ok']:.0%} / {r['colour_ok']:.0%} "
            f"| {r['batch1_images_per_s']} | {r['batch16_images_per_s']} "
            f"| {r['batch256_images_per_s']} |")
    return "\n".join(lines)


def write(results: dict, card: str, command: str) -> Path:
    """docs/results/ads_device.json and its BENCHMARKS.md section."""
    return write_results(TOPIC, {"device": card, "presets": results}, markdown(results, card),
                         command)
