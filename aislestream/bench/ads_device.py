"""`python -m aislestream.bench.ads_device`: the creative generator on an accelerator.

For each preset: a training run sized to a wall-clock budget (steps/s measured on a short
probe first, so the learning-rate schedule still ends where it should), the oracle usable rate
the result reaches, and generated images/s at several batch sizes. Imports only torch,
diffusers and numpy (no broker, no settings), so it runs on a GPU machine that carries none of
the stream's dependencies.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from aislestream.core.adspec import ALL_SPECS
from aislestream.evaluation.results import write_results
from aislestream.models.ads.generator import AdCreativePipeline, train_generator
from aislestream.models.ads.oracle import judge_all, rates
from aislestream.models.ads.presets import GENERATOR_PRESETS, GeneratorPreset

PROBE_STEPS = 40


def parse_variant(text: str) -> tuple[str, GeneratorPreset]:
    """``tiny`` or ``tiny:train_steps=16000,patch_size=2``: a preset with fields overridden."""
    name, _, overrides = text.partition(":")
    if name not in GENERATOR_PRESETS:
        raise SystemExit(f"unknown generator preset {name!r}; choose one of {', '.join(GENERATOR_PRESETS)}")
    fields = {f.name: f.type for f in dataclasses.fields(GeneratorPreset)}
    changes: dict[str, object] = {}
    for item in filter(None, overrides.split(",")):
        key, _, value = item.partition("=")
        if key not in fields or key == "name":
            raise SystemExit(f"{key!r} is not a generator preset field ({', '.join(fields)})")
        changes[key] = float(value) if fields[key] in (float, "float") else int(value)
    return text, dataclasses.replace(GENERATOR_PRESETS[name], **changes)


def seconds_per_step(preset: GeneratorPreset, device: str, workers: int) -> float:
    marks: dict[int, float] = {}
    probe = dataclasses.replace(preset, train_steps=PROBE_STEPS)
    with tempfile.TemporaryDirectory() as tmp:
        train_generator(probe, Path(tmp), device=device, workers=workers,
                        progress=lambda s, n, loss: marks.__setitem__(s, time.perf_counter()))
    return (marks[PROBE_STEPS] - marks[10]) / (PROBE_STEPS - 10)


def usable_rate(pipeline: AdCreativePipeline, steps: int, reps: int) -> dict[str, float]:
    specs = ALL_SPECS * reps
    images = np.concatenate([pipeline.generate(specs[i:i + 256], steps, seed=i) for i in range(0, len(specs), 256)])
    return rates(judge_all(images, specs))


def images_per_s(pipeline: AdCreativePipeline, steps: int, batch: int, seconds: float) -> float:
    specs = [ALL_SPECS[i % len(ALL_SPECS)] for i in range(batch)]
    pipeline.generate(specs, steps, seed=0)  # warm-up (kernels, allocator)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        pipeline.generate(specs, steps, seed=done)  # returns host arrays: the device has finished
        done += batch
    return done / (time.perf_counter() - started)


def run(variants: list[str], budget_s: float, device: str, workers: int, out: Path,
        timing_s: float = 8.0) -> dict:
    results: dict[str, dict] = {}
    for name, preset in map(parse_variant, variants):
        per_step = seconds_per_step(preset, device, workers)
        steps = max(1, min(preset.train_steps, int(budget_s / per_step)))
        trained = dataclasses.replace(preset, train_steps=steps)
        started = time.perf_counter()
        pipeline = train_generator(trained, out / name.replace(":", "_"), device=device, workers=workers).to(device)
        train_s = time.perf_counter() - started
        quality = usable_rate(pipeline, preset.inference_steps, reps=2)
        speed = {f"batch{b}_images_per_s": round(images_per_s(pipeline, preset.inference_steps, b, timing_s), 1)
                 for b in (1, 16, 256)}
        results[name] = {"patch_size": preset.patch_size, "num_layers": preset.num_layers, "parameters": sum(p.numel() for p in pipeline.transformer.parameters()),
                         "train_steps": steps, "preset_train_steps": preset.train_steps,
                         "train_seconds": round(train_s, 1), "train_steps_per_s": round(steps / train_s, 2),
                         "inference_steps": preset.inference_steps,
                         **{k: round(v, 4) for k, v in quality.items()}, **speed}
        print(name, results[name], flush=True)
    return results


def markdown(results: dict, card: str) -> str:
    lines = ["## Ad creative generator on a GPU", "",
             f"{card}. Each preset trained for a fixed wall-clock budget (its full step count where "
             "that fits), then judged by the pixel oracle on every spec combination x 2, and timed "
             "generating at batch 1, 16 and 256.", "",
             "| preset | params | steps trained (of preset) | train steps/s | oracle usable "
             "| shape / placement / colour ok | img/s b1 | b16 | b256 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['parameters']:,} | {r['train_steps']:,} ({r['preset_train_steps']:,}) | "
                     f"{r['train_steps_per_s']} | {r['usable']:.1%} | "
                     f"{r['shape_ok']:.0%} / {r['placement_ok']:.0%} / {r['colour_ok']:.0%} | {r['batch1_images_per_s']} | "
                     f"{r['batch16_images_per_s']} | {r['batch256_images_per_s']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="tiny small", nargs="+",
                        help="generator presets, each optionally with overrides: tiny:train_steps=16000,patch_size=2")
    parser.add_argument("--budget-s", type=float, default=120.0, help="training seconds per preset")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--timing-s", type=float, default=8.0, help="seconds of generation timed per batch size")
    parser.add_argument("--workers", type=int, default=6, help="render processes feeding the trainer")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "aisle-ads-device")
    parser.add_argument("--write", action="store_true", help="record in docs/results/ads_device.json and BENCHMARKS.md")
    args = parser.parse_args()
    results = run(args.presets, args.budget_s, args.device, args.workers, args.out, args.timing_s)
    card = torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device
    if args.write:
        command = (f"python -m aislestream.bench.ads_device --presets {' '.join(args.presets)} --budget-s {args.budget_s:g} "
                   f"--workers {args.workers} --write")
        write_results("ads_device", {"device": card, "presets": results}, markdown(results, card), command)


if __name__ == "__main__":
    main()
