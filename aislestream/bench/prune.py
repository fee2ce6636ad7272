"""`aisle bench prune`: full vs pruned generator and expansion LLM, FFT + RDP against the
baselines (Block Influence, last-N, random), with torch and with ONNX Runtime, in one run.

Every pruned variant is healed the same number of steps before it is judged. Speed is timed
round-robin (full, pruned, full, pruned, ...) and the median of the rounds kept, so a noisy
neighbour on the machine slows every variant alike; quality is the oracle usable rate for the
generator (plus fidelity to the full model's images at the same seeds) and held-out recall@50
for the LLM.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console

from aislestream.bench.timing import timed_round_robin
from aislestream.models.pruning.run import Target, analyze, apply, choose, heal, target
from aislestream.models.pruning.select import METHODS, Selection, most_removable
from aislestream.settings import Settings

PLOTS = Path("docs/plots")
RESULTS_FILE = Path("docs/results/pruning.json")
MODEL_KEYS = {"generator": "dit_", "lm": "lm_"}  # model -> prefix of its flat result keys


@dataclass(frozen=True)
class PruneBenchConfig:
    preset: str = "tiny"
    generator_blocks: int = 2  # the headline: blocks removed from the generator
    lm_blocks: int = 1
    curve_max: int = 2  # quality vs removed blocks, 1..curve_max (capped by most_removable)
    heal_steps_generator: int = 200
    heal_steps_lm: int = 150
    random_seeds: tuple[int, ...] = (0, 1, 2)
    eval_reps: int = 1  # generator: every spec combination this many times
    speed_rounds: int = 5
    speed_batch: int = 16


def selections(t: Target, n: int, config: PruneBenchConfig) -> list[Selection]:
    chosen = []
    for method in METHODS:
        seeds = config.random_seeds if method == "random" else (0,)
        chosen += [choose(t, method, n, seed) for seed in seeds]
    return chosen


def sweep(t: Target, config: PruneBenchConfig, depth: int, headline_n: int, heal_steps: int,
          judge: Callable[[Path], dict], console: Console) -> tuple[list[dict], dict[str, Path]]:
    """Every method at 1..curve_max removed blocks: prune, heal, judge. Returns the rows and the
    healed directory of each method at the headline count."""
    rows, headline = [], {}
    for n in range(1, min(config.curve_max, most_removable(depth)) + 1):
        for selection in selections(t, n, config):
            with console.status(f"{t.model}: {selection.method} without blocks "
                                f"{list(selection.drop)}, healing"):
                apply(t, selection)
                healed = heal(t, selection, heal_steps)
                row = {"method": selection.method, "blocks": n, "drop": list(selection.drop),
                       **judge(healed)}
            rows.append(row)
            scores = ", ".join(f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float))
            console.print(f"{t.model} {selection.method:16s} n={n} drop={list(selection.drop)}: "
                          f"{scores}")
            if n == headline_n:
                headline[selection.method] = healed
    return rows, headline


def _group(method: str) -> str:
    return "random" if method.startswith("random") else method


def _mean_by_method(rows: list[dict], key: str) -> dict[str, float]:
    groups: dict[str, list[float]] = {}
    for row in rows:
        groups.setdefault(_group(row["method"]), []).append(row[key])
    return {m: float(np.mean(v)) for m, v in groups.items()}


# -- generator --------------------------------------------------------------------------------

def generator_bench(settings: Settings, config: PruneBenchConfig, console: Console) -> dict:
    from aislestream.core.adspec import ALL_SPECS
    from aislestream.engines.generation.onnx_backend import (
        OnnxCreativePipeline,
        export_generator_onnx,
    )
    from aislestream.models.ads.generator import load_pipeline
    from aislestream.models.ads.oracle import judge_all, rates
    from aislestream.models.ads.presets import get_ads_preset

    t = target(settings, "generator", config.preset)
    steps = get_ads_preset(config.preset).generator.inference_steps
    with console.status("generator: spectral profile of every block"):
        profile = analyze(t)
    depth = len(profile.spectral_distance)
    specs = ALL_SPECS * config.eval_reps
    full = load_pipeline(t.source)
    full_images = full.generate(specs, steps, seed=0)

    def quality(images: np.ndarray) -> dict[str, float]:
        mse = np.mean((images.astype(np.float64) - full_images.astype(np.float64)) ** 2)
        return {**rates(judge_all(images, specs)),
                "psnr_vs_full": float(10 * np.log10(255 ** 2 / max(mse, 1e-9)))}

    rows, healed_dirs = sweep(
        t, config, depth, config.generator_blocks, config.heal_steps_generator,
        lambda d: quality(load_pipeline(d).generate(specs, steps, seed=0)), console)
    headline = {m: load_pipeline(d) for m, d in healed_dirs.items()}
    full_quality = quality(full_images)
    batch_specs = ALL_SPECS[:config.speed_batch]

    def gen_run(p) -> Callable[[], int]:
        return lambda: len(p.generate(batch_specs, steps, seed=1))

    with console.status("generator: timing torch variants round-robin"):
        torch_rates = timed_round_robin({"full": gen_run(full),
                                         **{m: gen_run(p) for m, p in headline.items()}},
                                        config.speed_rounds)
    with console.status("generator: exporting full and FFT+RDP-pruned to ONNX, "
                        "timing ONNX Runtime"), \
            tempfile.TemporaryDirectory() as tmp:
        export_generator_onnx(t.source, Path(tmp) / "full")
        export_generator_onnx(healed_dirs["fft_rdp"], Path(tmp) / "pruned")
        onnx_full, onnx_pruned = (OnnxCreativePipeline(Path(tmp) / "full"),
                                  OnnxCreativePipeline(Path(tmp) / "pruned"))
        onnx_parity = float(np.mean(onnx_full.generate(specs[:32], steps, seed=0)
                                    == full_images[:32]))
        onnx_rates = timed_round_robin({"full": gen_run(onnx_full),
                                        "fft_rdp": gen_run(onnx_pruned)}, config.speed_rounds)
    at_n = [r for r in rows if r["blocks"] == config.generator_blocks]
    usable_at_n = _mean_by_method(at_n, "usable")
    result = {
        "depth": depth, "blocks_removed": config.generator_blocks, "n_specs": len(specs),
        "drop": next(r["drop"] for r in at_n if r["method"] == "fft_rdp"),
        "dit_usable_full": full_quality["usable"], "dit_quality_full": full_quality,
        "dit_usable_pruned": usable_at_n["fft_rdp"],
        "dit_speedup": torch_rates["fft_rdp"] / torch_rates["full"],
        "dit_speedup_onnx": onnx_rates["fft_rdp"] / onnx_rates["full"],
        "dit_onnx_pixel_parity": onnx_parity,
        "images_per_s": {"torch": torch_rates, "onnx": onnx_rates},
        "profile": profile.to_json(), "variants": rows,
    }
    psnr_at_n = _mean_by_method(at_n, "psnr_vs_full")  # fidelity to the unpruned model's images
    result["dit_psnr_pruned"] = psnr_at_n["fft_rdp"]
    for method in ("block_influence", "last_n", "random"):
        result[f"dit_usable_{method}"] = usable_at_n[method]
        result[f"dit_psnr_{method}"] = psnr_at_n[method]
        speeds = [torch_rates[m] for m in torch_rates if _group(m) == method]
        result[f"dit_speedup_{method}"] = float(np.mean(speeds)) / torch_rates["full"]
    return result


# -- LLM ----------------------------------------------------------------------------------------

def lm_bench(settings: Settings, config: PruneBenchConfig, console: Console) -> dict:
    from aislestream.connectors.search.tantivy_store import TantivyStore
    from aislestream.engines.expansion.llm import LLMConfig
    from aislestream.engines.expansion.onnx_backend import OnnxLLMExpander, export_onnx
    from aislestream.engines.expansion.torch_backend import TorchLLMExpander
    from aislestream.evaluation.expansion import evaluate_expanders
    from aislestream.models.lm.presets import get_preset
    from aislestream.models.lm.prompts import expand_prompt
    from aislestream.models.lm.run import held_out_queries, lm_dir, training_world

    t = target(settings, "lm", config.preset)
    lm = get_preset(config.preset)
    with console.status("LLM: spectral profile of every decoder layer"):
        profile = analyze(t)
    depth = len(profile.spectral_distance)
    world = training_world(settings, lm)
    queries = held_out_queries(settings, lm, world)
    store = TantivyStore(lm_dir(settings, lm) / "store")

    def recall(model_dir: Path) -> dict[str, float]:
        table = evaluate_expanders(store, queries,
                                   {"m": TorchLLMExpander(LLMConfig(model_dir, lm.max_new_tokens))})
        return {qtype: row["recall50"] for qtype, row in table["m"].items()}

    full_recall = recall(t.source)
    def judge(model_dir: Path) -> dict:
        by_type = recall(model_dir)
        return {"recall50": by_type["all"], "recall50_by_type": by_type}

    rows, headline = sweep(t, config, depth, config.lm_blocks, config.heal_steps_lm, judge, console)
    prompts = [expand_prompt(q.text) for q in queries[:64]]
    (t.root / "prompts.json").write_text(json.dumps(prompts))  # for prune_device on a GPU machine

    def lm_run(expander) -> Callable[[], int]:
        return lambda: len(expander.generate_ids(prompts))

    with console.status("LLM: timing torch variants round-robin"):
        variants = {"full": TorchLLMExpander(LLMConfig(t.source, lm.max_new_tokens)),
                    **{m: TorchLLMExpander(LLMConfig(d, lm.max_new_tokens))
                       for m, d in headline.items()}}
        torch_rates = timed_round_robin({m: lm_run(e) for m, e in variants.items()},
                                        config.speed_rounds)
    with console.status("LLM: ONNX export and timing"), tempfile.TemporaryDirectory() as tmp:
        export_onnx(t.source, Path(tmp) / "full")
        export_onnx(headline["fft_rdp"], Path(tmp) / "pruned")
        onnx = {"full": OnnxLLMExpander(LLMConfig(Path(tmp) / "full", lm.max_new_tokens)),
                "fft_rdp": OnnxLLMExpander(LLMConfig(Path(tmp) / "pruned", lm.max_new_tokens))}
        onnx_parity = float(np.mean([a == b for a, b in zip(onnx["full"].generate_ids(prompts),
                                                             variants["full"].generate_ids(prompts))]))
        onnx_rates = timed_round_robin({m: lm_run(e) for m, e in onnx.items()}, config.speed_rounds)
    at_n = [r for r in rows if r["blocks"] == config.lm_blocks]
    recall_at_n = _mean_by_method(at_n, "recall50")
    result = {
        "depth": depth, "blocks_removed": config.lm_blocks,
        "drop": next(r["drop"] for r in at_n if r["method"] == "fft_rdp"),
        "lm_recall50_full": full_recall["all"], "lm_recall50_full_by_type": full_recall,
        "lm_recall50_pruned": recall_at_n["fft_rdp"],
        "lm_speedup": torch_rates["fft_rdp"] / torch_rates["full"],
        "lm_speedup_onnx": onnx_rates["fft_rdp"] / onnx_rates["full"],
        "lm_onnx_token_parity": onnx_parity,
        "expansions_per_s": {"torch": torch_rates, "onnx": onnx_rates},
        "profile": profile.to_json(), "variants": rows,
    }
    for method in ("block_influence", "last_n", "random"):
        result[f"lm_recall50_{method}"] = recall_at_n[method]
    return result


# -- report -------------------------------------------------------------------------------------

def run_prune_bench(settings: Settings, config: PruneBenchConfig, models: tuple[str, ...],
                    write: bool, console: Console) -> dict:
    from aislestream.models.pruning.plots import plot_curve, plot_quality

    result: dict = {"preset": config.preset,
                    "heal_steps": {"generator": config.heal_steps_generator,
                                   "lm": config.heal_steps_lm}}
    plots: list[Path] = []
    if "generator" in models:
        gen = generator_bench(settings, config, console)
        result["generator"] = gen
        result.update({k: v for k, v in gen.items()
                       if k.startswith("dit_") and not isinstance(v, dict)})
        if write:
            plots += [plot_curve(gen["profile"], gen["drop"], "generator (DiT)",
                                 PLOTS / "prune_curve_generator.png"),
                      plot_quality(gen["variants"], "psnr_vs_full", None,
                                   "generator: fidelity to the unpruned model (PSNR, dB)",
                                   PLOTS / "prune_quality_generator.png")]
    if "lm" in models:
        lm = lm_bench(settings, config, console)
        result["lm"] = lm
        result.update({k: v for k, v in lm.items()
                       if k.startswith("lm_") and not isinstance(v, dict)})
        if write:
            plots += [plot_curve(lm["profile"], lm["drop"], "expansion LLM",
                                 PLOTS / "prune_curve_lm.png"),
                      plot_quality(lm["variants"], "recall50", lm["lm_recall50_full"],
                                   "LLM: held-out recall@50", PLOTS / "prune_quality_lm.png")]
    models_arg = " ".join(f"--model {m}" for m in models)
    command = f"aisle bench prune --preset {config.preset} {models_arg}"
    measured = {"command": command, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                 time.gmtime())}
    for model in models:
        result[model]["measured_by"] = measured
    if write:
        for model, section in carried_over(models, config.preset, RESULTS_FILE).items():
            result.update(section)
            plots += [p for p in (PLOTS / f"prune_curve_{model}.png",
                                  PLOTS / f"prune_quality_{model}.png") if p.exists()]
    result["targets"] = _targets(result)
    for key, value in result.items():
        if isinstance(value, float):
            console.print(f"{key}: {value:.3f}")
    if write:
        from aislestream.evaluation.results import write_results

        write_results("pruning", result, _markdown(result, plots), command, page="RESULTS.md")
    return result


def carried_over(models: tuple[str, ...], preset: str, previous: Path) -> dict[str, dict]:
    """Per model not rerun: its section and flat keys as the previous run of the same preset
    measured them (each section names the command and time that did), so that benchmarking one
    model does not erase the other's figures."""
    if not previous.exists():
        return {}
    old = json.loads(previous.read_text())
    if old.get("preset") != preset:
        return {}
    out = {}
    for model, prefix in MODEL_KEYS.items():
        if model in models or model not in old:
            continue
        section = {**old[model]}
        section.setdefault("measured_by", {"command": old.get("command"),
                                           "measured_at": old.get("measured_at")})
        out[model] = {model: section,
                      **{k: v for k, v in old.items()
                         if k.startswith(prefix) and not isinstance(v, dict)}}
    return out


def _targets(r: dict) -> dict:
    """``met`` is None where the target cannot be judged (an unpruned generator that is never
    usable cannot lose usability), and the markdown says so rather than claiming it."""
    targets = {}
    if "dit_speedup" in r:
        targets["dit_speedup_torch"] = {"value": round(r["dit_speedup"], 3), "target": 1.4,
                                        "met": r["dit_speedup"] >= 1.4}
        drop = r["dit_usable_full"] - r["dit_usable_pruned"]
        targets["dit_usable_drop_pp"] = {"value": round(100 * drop, 2), "target": "<= 1.0",
                                         "met": drop <= 0.01 if r["dit_usable_full"] > 0 else None}
        best_usable = max(r[f"dit_usable_{m}"] for m in ("block_influence", "last_n", "random"))
        targets["dit_fft_rdp_usable_minus_best_baseline"] = {
            "value": round(r["dit_usable_pruned"] - best_usable, 4), "target": ">= 0",
            "met": r["dit_usable_pruned"] >= best_usable if r["dit_usable_full"] > 0 else None}
        best = max(r[f"dit_psnr_{m}"] for m in ("block_influence", "last_n", "random"))
        targets["dit_fft_rdp_psnr_minus_best_baseline_db"] = {
            "value": round(r["dit_psnr_pruned"] - best, 2), "target": ">= 0",
            "met": r["dit_psnr_pruned"] >= best}
    if "lm_recall50_pruned" in r:
        best_baseline = max(r[f"lm_recall50_{m}"] for m in ("block_influence", "last_n", "random"))
        targets["lm_fft_rdp_vs_best_baseline"] = {
            "value": round(r["lm_recall50_pruned"] - best_baseline, 4), "target": ">= 0",
            "met": r["lm_recall50_pruned"] >= best_baseline}
    return targets


def _markdown(r: dict, plots: list[Path]) -> str:
    lines = [f"## Block pruning (preset `{r['preset']}`)", "",
             "FFT + RDP picks the blocks; Block Influence (ShortGPT), last-N and random (mean of 3 "
             "seeds) remove the same number. Every variant is healed by distillation from the "
             f"unpruned model ({r['heal_steps']['generator']} steps for the generator, "
             f"{r['heal_steps']['lm']} for the LLM). Speed: median of round-robin rounds in one "
             "run on this machine.", ""]
    if "generator" in r:
        g = r["generator"]
        lines += [f"Generator: {g['depth']} blocks, {g['blocks_removed']} removed "
                  f"(FFT + RDP: blocks {g['drop']}); measured by "
                  f"`{g['measured_by']['command']}` at {g['measured_by']['measured_at']}.", "",
                  "| variant | oracle usable | PSNR vs full (dB) | torch speedup | "
                  "ONNX Runtime speedup |",
                  "|---|---|---|---|---|",
                  f"| full | {r['dit_usable_full']:.1%} | - | 1.00 | 1.00 |",
                  f"| FFT + RDP | {r['dit_usable_pruned']:.1%} | {r['dit_psnr_pruned']:.1f} | "
                  f"{r['dit_speedup']:.2f} | {r['dit_speedup_onnx']:.2f} |",
                  *(f"| {m} | {r[f'dit_usable_{m}']:.1%} | {r[f'dit_psnr_{m}']:.1f} | "
                    f"{r[f'dit_speedup_{m}']:.2f} | (same depth) |"
                    for m in ("block_influence", "last_n", "random")), "",
                  ("The unpruned generator is never usable by the oracle (see the ad creatives "
                   "section), so usability cannot separate the methods; fidelity to the "
                   "unpruned model's images at the same seeds (PSNR) does."
                   if r["dit_usable_full"] == 0 else
                   f"Usable = the pixel oracle's verdict on every spec combination "
                   f"(n={g.get('n_specs', 216)}) at one seed; PSNR = fidelity "
                   "to the unpruned model's images at the same seeds."), "",
                  "| method | blocks removed | drop | usable | shape / placement / colour ok | "
                  "PSNR vs full (dB) |",
                  "|---|---|---|---|---|---|",
                  *(f"| {v['method']} | {v['blocks']} | {v['drop']} | {v['usable']:.1%} | "
                    f"{v['shape_ok']:.0%} / {v['placement_ok']:.0%} / {v['colour_ok']:.0%} | "
                    f"{v['psnr_vs_full']:.1f} |" for v in g["variants"]),
                  ""]
    if "lm" in r:
        m = r["lm"]
        lines += [f"Expansion LLM: {m['depth']} decoder layers, {m['blocks_removed']} removed "
                  f"(FFT + RDP: layers {m['drop']}); measured by "
                  f"`{m['measured_by']['command']}` at {m['measured_by']['measured_at']}.", "",
                  "| variant | held-out recall@50 | torch speedup | ONNX Runtime speedup |",
                  "|---|---|---|---|",
                  f"| full | {r['lm_recall50_full']:.3f} | 1.00 | 1.00 |",
                  f"| FFT + RDP | {r['lm_recall50_pruned']:.3f} | {r['lm_speedup']:.2f} | "
                  f"{r['lm_speedup_onnx']:.2f} |",
                  *(f"| {k} | {r[f'lm_recall50_{k}']:.3f} | (same depth) | |"
                    for k in ("block_influence", "last_n", "random")),
                  "", "| method | layers removed | drop | recall@50 |", "|---|---|---|---|",
                  *(f"| {v['method']} | {v['blocks']} | {v['drop']} | {v['recall50']:.3f} |"
                    for v in m["variants"]), ""]

    def verdict(met: bool | None) -> str:
        return ("n/a (unpruned generator never usable)" if met is None
                else "yes" if met else "**no**")

    lines += ["| target | value | goal | met |", "|---|---|---|---|",
              *(f"| {k} | {v['value']} | {v['target']} | {verdict(v['met'])} |"
                for k, v in r["targets"].items()), ""]
    lines += [f"![{p.stem}]({p.relative_to('docs')})" for p in plots]
    return "\n".join(lines)
