"""Full vs pruned throughput on an accelerator, behind ``aisle bench prune --device cuda``.

Takes the checkpoints `aisle bench prune` wrote (the unpruned and FFT+RDP-pruned generator and
expansion LLM) and times them round-robin on one device at several batch sizes; copy the data
dir to the GPU machine with them. Beyond the project's own models it imports only torch,
diffusers, transformers and numpy. ONNX Runtime is timed on the CPU by `aisle bench prune`; the
GPU machines here carry the CPU build of onnxruntime only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from aislestream.bench import device_name
from aislestream.bench.timing import timed_round_robin
from aislestream.core.adspec import ALL_SPECS
from aislestream.errors import ConfigError
from aislestream.evaluation.results import write_results
from aislestream.models.ads.generator import load_pipeline
from aislestream.models.pruning.run import target
from aislestream.models.pruning.select import Selection
from aislestream.settings import Settings

TOPIC = "pruning_device"
GENERATOR_BATCHES = (1, 16, 256)
LM_BATCHES = (1, 64, 512)


@dataclass(frozen=True)
class Checkpoints:
    """What `aisle bench prune` left for one preset: each model's (full, pruned) directories and
    the expansion prompts it timed the LLM on."""

    generator: tuple[Path, Path]
    lm: tuple[Path, Path]
    prompts: list[str]


def find_checkpoints(settings: Settings, preset: str, generator_blocks: int,
                     lm_blocks: int) -> Checkpoints:
    """The headline pair of each model: the trained checkpoint and its FFT+RDP variant without
    that many blocks, healed (as `aisle bench prune` with the same counts made them)."""
    rerun = (f"aisle bench prune --preset {preset} --generator-blocks {generator_blocks} "
             f"--lm-blocks {lm_blocks}")
    targets = {model: target(settings, model, preset) for model in ("generator", "lm")}
    pairs: dict[str, tuple[Path, Path]] = {}
    for model, blocks in (("generator", generator_blocks), ("lm", lm_blocks)):
        t = targets[model]
        # only the method and the number of removed blocks name a variant's directory
        pruned = t.variant_dir(Selection("fft_rdp", tuple(range(blocks)))) / "healed"
        if not pruned.exists():
            raise ConfigError(f"no pruned {model} at {pruned}: run `{rerun}` first")
        pairs[model] = (t.source, pruned)
    prompts = targets["lm"].root / "prompts.json"
    if not prompts.exists():
        raise ConfigError(f"no expansion prompts at {prompts}: run `{rerun}` first")
    return Checkpoints(pairs["generator"], pairs["lm"], json.loads(prompts.read_text()))


def generator_rates(full: Path, pruned: Path, device: str, batches: list[int], steps: int,
                    rounds: int) -> dict:
    pipes = {"full": load_pipeline(full).to(device), "pruned": load_pipeline(pruned).to(device)}
    out = {}
    for batch in batches:
        specs = [ALL_SPECS[i % len(ALL_SPECS)] for i in range(batch)]
        runs = {name: (lambda p=p: len(p.generate(specs, steps, seed=0)))
                for name, p in pipes.items()}
        rates = timed_round_robin(runs, rounds)
        out[f"batch{batch}"] = {**{k: round(v, 1) for k, v in rates.items()},
                                "speedup": round(rates["pruned"] / rates["full"], 3)}
    return {"layers": {k: p.transformer.config.num_layers for k, p in pipes.items()},
            "images_per_s": out}


def lm_rates(full: Path, pruned: Path, prompts: list[str], device: str, batches: list[int],
             max_new_tokens: int, rounds: int) -> dict:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(full)
    tokenizer.padding_side = "left"
    models = {k: AutoModelForCausalLM.from_pretrained(d).to(device).eval()
              for k, d in (("full", full), ("pruned", pruned))}

    def run(model, batch_prompts):
        enc = tokenizer(batch_prompts, return_tensors="pt", padding=True).to(device)
        with torch.inference_mode():
            out = model.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens,
                                 pad_token_id=tokenizer.pad_token_id,
                                 eos_token_id=tokenizer.eos_token_id)
        out.cpu()
        return len(batch_prompts)

    out = {}
    for batch in batches:
        chunk = (prompts * (batch // len(prompts) + 1))[:batch]
        rates = timed_round_robin({k: (lambda m=m: run(m, chunk)) for k, m in models.items()},
                                  rounds)
        out[f"batch{batch}"] = {**{k: round(v, 1) for k, v in rates.items()},
                                "speedup": round(rates["pruned"] / rates["full"], 3)}
    return {"layers": {k: m.config.num_hidden_layers for k, m in models.items()},
            "expansions_per_s": out}


def run(checkpoints: Checkpoints, device: str, steps: int = 20, max_new_tokens: int = 12,
        rounds: int = 5) -> dict:
    """Both models, full against pruned, at every batch size; ``steps`` sampling steps a
    creative."""
    return {"device": device_name(device),
            "generator": generator_rates(*checkpoints.generator, device, list(GENERATOR_BATCHES),
                                         steps, rounds),
            "lm": lm_rates(*checkpoints.lm, checkpoints.prompts, device, list(LM_BATCHES),
                           max_new_tokens, rounds)}


def markdown(result: dict) -> str:
    lines = ["## Pruned vs full on a GPU", "", f"{result['device']}; torch, round-robin medians.",
             "", "| model | layers (full → pruned) | batch | full /s | pruned /s | speedup |",
             "|---|---|---|---|---|---|"]
    for name, key in (("generator", "images_per_s"), ("lm", "expansions_per_s")):
        r = result[name]
        for batch, row in r[key].items():
            lines.append(f"| {name} | {r['layers']['full']} → {r['layers']['pruned']} "
                         f"| {batch[5:]} | {row['full']} | {row['pruned']} "
                         f"| {row['speedup']:.2f} |")
    return "\n".join(lines)


def write(result: dict, command: str) -> Path:
    """docs/results/pruning_device.json and its BENCHMARKS.md section."""
    return write_results(TOPIC, result, markdown(result), command)
