"""`python -m aislestream.bench.prune_device`: full vs pruned throughput on an accelerator.

Takes the checkpoints `aisle bench prune` wrote (the unpruned and FFT+RDP-pruned generator and
expansion LLM) and times them round-robin on one device at several batch sizes. Imports
only torch, diffusers, transformers and numpy, so it runs on a GPU machine that carries none
of the stream's dependencies. ONNX Runtime is timed on the CPU by `aisle bench prune`; the
GPU machines here carry the CPU build of onnxruntime only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from aislestream.bench.timing import timed_round_robin
from aislestream.core.adspec import ALL_SPECS
from aislestream.evaluation.results import write_results
from aislestream.models.ads.generator import load_pipeline


def generator_rates(full: Path, pruned: Path, device: str, batches: list[int], steps: int, rounds: int) -> dict:
    pipes = {"full": load_pipeline(full).to(device), "pruned": load_pipeline(pruned).to(device)}
    out = {}
    for batch in batches:
        specs = [ALL_SPECS[i % len(ALL_SPECS)] for i in range(batch)]
        rates = timed_round_robin({name: (lambda p=p: len(p.generate(specs, steps, seed=0))) for name, p in pipes.items()},
                                  rounds)
        out[f"batch{batch}"] = {**{k: round(v, 1) for k, v in rates.items()}, "speedup": round(rates["pruned"] / rates["full"], 3)}
    return {"layers": {k: p.transformer.config.num_layers for k, p in pipes.items()}, "images_per_s": out}


def lm_rates(full: Path, pruned: Path, prompts: list[str], device: str, batches: list[int], max_new_tokens: int,
             rounds: int) -> dict:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(full)
    tokenizer.padding_side = "left"
    models = {k: AutoModelForCausalLM.from_pretrained(d).to(device).eval() for k, d in (("full", full), ("pruned", pruned))}

    def run(model, batch_prompts):
        enc = tokenizer(batch_prompts, return_tensors="pt", padding=True).to(device)
        with torch.inference_mode():
            out = model.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        out.cpu()
        return len(batch_prompts)

    out = {}
    for batch in batches:
        chunk = (prompts * (batch // len(prompts) + 1))[:batch]
        rates = timed_round_robin({k: (lambda m=m: run(m, chunk)) for k, m in models.items()}, rounds)
        out[f"batch{batch}"] = {**{k: round(v, 1) for k, v in rates.items()}, "speedup": round(rates["pruned"] / rates["full"], 3)}
    return {"layers": {k: m.config.num_hidden_layers for k, m in models.items()}, "expansions_per_s": out}


def markdown(result: dict) -> str:
    lines = ["## Pruned vs full on a GPU", "", f"{result['device']}; torch, round-robin medians.", "",
             "| model | layers (full → pruned) | batch | full /s | pruned /s | speedup |", "|---|---|---|---|---|---|"]
    for name, key in (("generator", "images_per_s"), ("lm", "expansions_per_s")):
        r = result[name]
        for batch, row in r[key].items():
            lines.append(f"| {name} | {r['layers']['full']} → {r['layers']['pruned']} | {batch[5:]} | {row['full']} | "
                         f"{row['pruned']} | {row['speedup']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", nargs=2, type=Path, metavar=("FULL", "PRUNED"), required=True)
    parser.add_argument("--lm", nargs=2, type=Path, metavar=("FULL", "PRUNED"), required=True)
    parser.add_argument("--prompts", type=Path, required=True, help="JSON list of expansion prompts")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=20, help="DDIM steps per creative")
    parser.add_argument("--max-new-tokens", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="record in docs/results/pruning_device.json and BENCHMARKS.md")
    args = parser.parse_args()
    prompts = json.loads(args.prompts.read_text())
    result = {"device": torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device,
              "generator": generator_rates(*args.generator, args.device, [1, 16, 256], args.steps, args.rounds),
              "lm": lm_rates(*args.lm, prompts, args.device, [1, 64, 512], args.max_new_tokens, args.rounds)}
    print(json.dumps(result, indent=2))
    if args.write:
        write_results("pruning_device", result, markdown(result),
                      "python -m aislestream.bench.prune_device --generator FULL PRUNED --lm FULL PRUNED --prompts P --write")


if __name__ == "__main__":
    main()
