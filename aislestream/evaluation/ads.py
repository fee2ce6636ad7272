"""`aisle eval ads`: oracle usable rates of the base and RL generators on fresh seeds (first try
and recurrent, served and raw, training and held-out combinations apart), and the contact
sheet.

"Served" images went through the generator's cleanup (``models.ads.cleanup``); "raw" ones did
not; both are judged by the pixel oracle, never by the reward models.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from aislestream.core import figures
from aislestream.core.adspec import ALL_SPECS, ASPECTS, AdSpec
from aislestream.engines.generation.recurrent import generate_until_usable
from aislestream.models.ads.conditioning import is_held_out
from aislestream.models.ads.generator import AdCreativePipeline
from aislestream.models.ads.judged import judged_samples
from aislestream.models.ads.oracle import OracleVerdict, judge_all
from aislestream.models.ads.reward_models import RewardEnsemble

EVAL_SEED = 7  # first tries sample from seed 7, recurrent attempt k from 7000 + k


class _Raw:
    """The pipeline without its cleanup step, as a ``Generator``."""

    def __init__(self, pipeline: AdCreativePipeline) -> None:
        self.pipeline = pipeline

    def generate(self, specs: Sequence[AdSpec], num_inference_steps: int = 20,
                 seed: int | None = None) -> np.ndarray:
        return self.pipeline.generate(specs, num_inference_steps, seed, cleanup=False)


def _usable(verdicts: Sequence[OracleVerdict], keep: np.ndarray | None = None) -> float:
    chosen = [v for v, k in zip(verdicts, keep if keep is not None else [True] * len(verdicts))
              if k]
    return float(np.mean([v.usable for v in chosen])) if chosen else float("nan")


def _failures(verdicts: Sequence[OracleVerdict]) -> dict[str, float]:
    return {a: float(np.mean([not v.aspects()[a] for v in verdicts])) for a in ASPECTS}


def first_try(pipeline: AdCreativePipeline, specs: list[AdSpec], steps: int, name: str,
              seed: int = EVAL_SEED) -> tuple[dict, dict]:
    """Rates of one sample per spec; and the samples (images, verdicts) for the contact sheet."""
    judged = judged_samples(pipeline, specs, steps, seed)
    v_served, v_raw = judged.served_verdicts, judged.raw_verdicts
    held = np.array([is_held_out(s) for s in specs])
    out = {f"usable_{name}": _usable(v_served), f"usable_{name}_raw": _usable(v_raw),
           f"usable_{name}_train_combos": _usable(v_served, ~held),
           f"usable_{name}_heldout_combos": _usable(v_served, held),
           f"usable_{name}_heldout_combos_raw": _usable(v_raw, held),
           f"{name}_failures_by_aspect": _failures(v_served),
           f"{name}_failures_by_aspect_raw": _failures(v_raw)}
    return out, {"images": judged.served, "verdicts": v_served}


def recurrent(pipeline: AdCreativePipeline, ensemble: RewardEnsemble, specs: list[AdSpec],
              steps: int, max_attempts: int, candidates: int, name: str,
              seed: int = EVAL_SEED, log: Callable[[str], None] = lambda _: None) -> dict:
    """Recurrent generation, served and raw: the oracle's usable rate of what it returns, the
    attempts it took, and how far the ensemble's accept rate sits from the oracle's verdict."""
    out: dict[str, float] = {}
    for suffix, generator in (("", pipeline), ("_raw", _Raw(pipeline))):
        started = time.time()
        outcomes = generate_until_usable(generator, ensemble, specs, max_attempts, candidates,
                                         steps, seed=seed)
        usable = _usable(judge_all(np.stack([o.image for o in outcomes]), specs))
        accepted = float(np.mean([o.accepted for o in outcomes]))
        out[f"usable_{name}_recurrent{suffix}"] = usable
        out[f"mean_attempts_{name}{suffix}"] = float(np.mean([o.attempts for o in outcomes]))
        out[f"reward_accept_rate_{name}_recurrent{suffix}"] = accepted
        out[f"accept_minus_usable_{name}_recurrent{suffix}"] = accepted - usable
        log(f"{name} recurrent{suffix or ' served'}: usable {usable:.3f}, accepted {accepted:.3f} "
            f"(n={len(specs)}, {time.time() - started:.0f} s)")
    return out


def evaluate(base: AdCreativePipeline, ensemble: RewardEnsemble, rl: AdCreativePipeline | None,
             reps: int = 2, steps: int = 20, max_attempts: int = 4, candidates: int = 4,
             stride: int = 1, log: Callable[[str], None] = lambda _: None) -> tuple[dict, dict]:
    """Every (stride-th) spec combination ``reps`` times. Returns the figures and the samples
    (per model: images and verdicts, plus the specs) for the contact sheet. ``log`` hears each
    phase as it ends: the raw recurrent pass is the long one."""
    specs = list(ALL_SPECS[::stride]) * reps
    result: dict = {"specs": len(specs),
                    "heldout_combo_specs": int(sum(is_held_out(s) for s in specs)),
                    "inference_steps": steps, "max_attempts": max_attempts,
                    "candidates": candidates, "guidance_scale": base.config.guidance_scale}
    samples: dict = {"specs": specs}
    for name, pipeline in (("base", base), ("rl", rl)):
        if pipeline is None:
            continue
        started = time.time()
        rates, samples[name] = first_try(pipeline, specs, steps, name)
        log(f"{name} first try: usable {rates[f'usable_{name}']:.3f}, raw "
            f"{rates[f'usable_{name}_raw']:.3f} (n={len(specs)}, {time.time() - started:.0f} s)")
        result.update(rates)
        result.update(recurrent(pipeline, ensemble, specs, steps, max_attempts, candidates, name,
                                log=log))
    if rl is not None:
        result["rl_change_by_aspect"] = {
            a: result["base_failures_by_aspect"][a] - result["rl_failures_by_aspect"][a]
            for a in ASPECTS}  # positive: RL fails this aspect less often
    return result, samples


def contact_sheet(samples: dict, path: Path, n: int = 48, seed: int = 0) -> Path:
    """``n`` random first tries, base above RL for the same request and seed; frame green =
    usable, red = not (failing aspects named); "held out" marks combinations the generator
    never trained on."""
    plt = figures.pyplot()

    specs = samples["specs"]
    rows = [(name, samples[name]) for name in ("base", "rl") if name in samples]
    picks = np.sort(np.random.default_rng(seed).choice(len(specs), min(n, len(specs)),
                                                       replace=False))
    cols = 12
    grid_rows = int(np.ceil(len(picks) / cols)) * len(rows)
    fig, axes = plt.subplots(grid_rows, cols, figsize=(1.25 * cols, 1.45 * grid_rows),
                             squeeze=False)
    for k, i in enumerate(picks):
        for r, (name, drawn) in enumerate(rows):
            ax = axes[(k // cols) * len(rows) + r][k % cols]
            verdict, spec = drawn["verdicts"][i], specs[i]
            colour = "green" if verdict.usable else "red"
            ax.imshow(drawn["images"][i], interpolation="nearest")
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(2.5)
            failing = [a for a, ok in verdict.aspects().items() if not ok]
            held = " held out" if is_held_out(spec) else ""
            ax.set_title(f"{name}{held}\n{spec.colour} {spec.shape} {spec.layout}\n"
                         + (", ".join(failing) or "usable"), fontsize=5, color=colour)
            ax.set_xticks([])
            ax.set_yticks([])
    for ax in axes.flat[len(picks) * len(rows):]:
        ax.axis("off")
    fig.suptitle(f"{len(picks)} random first-try creatives (fresh seed), "
                 + " vs ".join(name for name, _ in rows)
                 + " for the same request; judged by the pixel oracle", fontsize=9)
    return figures.save(fig, path)
