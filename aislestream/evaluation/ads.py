"""`aisle eval ads`: oracle usable rates (base first try, recurrent, after RL), the reward-model
comparison, and a contact sheet."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aislestream.core.adspec import ALL_SPECS, AdSpec
from aislestream.engines.generation.recurrent import generate_until_usable
from aislestream.models.ads.generator import AdCreativePipeline
from aislestream.models.ads.oracle import OracleVerdict, judge_all, rates
from aislestream.models.ads.reward_models import RewardEnsemble


def oracle_rate(images: np.ndarray, specs: list[AdSpec]) -> tuple[float, list[OracleVerdict]]:
    verdicts = judge_all(images, specs)
    return rates(verdicts)["usable"], verdicts


def evaluate(base: AdCreativePipeline, ensemble: RewardEnsemble, rl: AdCreativePipeline | None,
             reps: int = 2, steps: int = 20, max_attempts: int = 4, candidates: int = 4,
             seed: int = 7, stride: int = 1) -> dict:
    specs = list(ALL_SPECS[::stride]) * reps  # every (stride-th) spec combination, ``reps`` times
    base_images = base.generate(specs, steps, seed=seed)
    usable_base, base_verdicts = oracle_rate(base_images, specs)
    outcomes = generate_until_usable(base, ensemble, specs, max_attempts, candidates, steps,
                                     seed=seed)
    usable_recurrent, _ = oracle_rate(np.stack([o.image for o in outcomes]), specs)
    result = {
        "specs": len(specs), "inference_steps": steps, "max_attempts": max_attempts,
        "candidates": candidates,
        "usable_base": usable_base, "usable_recurrent": usable_recurrent,
        "mean_attempts": float(np.mean([o.attempts for o in outcomes])),
        "reward_accept_rate_recurrent": float(np.mean([o.accepted for o in outcomes])),
        "base_failures_by_aspect": _failures(base_verdicts),
    }
    if rl is not None:
        rl_images = rl.generate(specs, steps, seed=seed)
        result["usable_rl"], rl_verdicts = oracle_rate(rl_images, specs)
        result["rl_failures_by_aspect"] = _failures(rl_verdicts)
        rl_outcomes = generate_until_usable(rl, ensemble, specs, max_attempts, candidates, steps,
                                            seed=seed)
        result["usable_rl_recurrent"], _ = oracle_rate(np.stack([o.image for o in rl_outcomes]),
                                                       specs)
        result["mean_attempts_rl"] = float(np.mean([o.attempts for o in rl_outcomes]))
        result["_samples"] = (specs, base_images, base_verdicts, rl_images, rl_verdicts)
    return result


def _failures(verdicts: list[OracleVerdict]) -> dict[str, float]:
    return {a: float(np.mean([not v.aspects()[a] for v in verdicts]))
            for a in ("shape", "placement", "colour")}


def contact_sheet(specs, base_images, base_verdicts, rl_images, rl_verdicts, path: Path,
                  n: int = 12) -> Path:
    """Base vs RL samples for the same specs; green frame = usable, red = not, with the failing
    aspect."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picks = np.linspace(0, len(specs) - 1, n).astype(int)
    fig, axes = plt.subplots(2, n, figsize=(1.3 * n, 3.4))
    for row, (label, images, verdicts) in enumerate((("base", base_images, base_verdicts),
                                                     ("after RL", rl_images, rl_verdicts))):
        for ax, i in zip(axes[row], picks):
            verdict = verdicts[i]
            ax.imshow(images[i], interpolation="nearest")
            for spine in ax.spines.values():
                spine.set_edgecolor("green" if verdict.usable else "red")
                spine.set_linewidth(3)
            failing = [a for a, ok in verdict.aspects().items() if not ok]
            ax.set_title(f"{specs[i].shape}/{specs[i].layout}\n" + (", ".join(failing) or "usable"),
                         fontsize=6, color="green" if verdict.usable else "red")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row][0].set_ylabel(label, fontsize=9)
    fig.suptitle("Generated creatives judged by the pixel oracle "
                 "(green: usable; red: failing aspect)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
