"""How good the autoencoder is, in the only terms that matter downstream: the share of its
reconstructions of held-out renders that the independent oracle accepts (usable and per aspect).

A latent generator can be no better than its decoder, so this figure bounds it. Training and
evaluation draw from disjoint random streams (``TRAIN_STREAM`` and ``HELDOUT_STREAM`` seed
their generators), so no held-out render is ever a training render. Every rate is stored with
its sample count ``n``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from diffusers import AutoencoderKL

from aislestream.core.adspec import ALL_SPECS, N_CLASSES, AdSpec
from aislestream.models.ads.autoencoder import reconstruct
from aislestream.models.ads.oracle import judge_all, rates
from aislestream.models.ads.renderer import render

TRAIN_STREAM = 1_001  # seeds np.random.default_rng([TRAIN_STREAM, seed]) for training batches
HELDOUT_STREAM = 1_002  # and [HELDOUT_STREAM, seed] for the held-out renders
RATE_KEYS = ("usable", "shape_ok", "placement_ok", "colour_ok")


def stream_seed(stream: int, seed: int) -> list[int]:
    return [stream, seed]


@dataclass(frozen=True)
class HeldOut:
    images: np.ndarray  # (n, 32, 32, 3) uint8
    specs: list[AdSpec]
    seed: list[int]  # the SeedSequence entropy they were drawn from


def draw_renders(n: int, rng: np.random.Generator) -> tuple[np.ndarray, list[AdSpec]]:
    """``n`` clean renders of random specs: uint8 (n, 32, 32, 3) and the specs."""
    specs = [ALL_SPECS[int(i)] for i in rng.integers(N_CLASSES, size=n)]
    return np.stack([render(s, rng).image for s in specs]), specs


def rendered_set(n: int, seed: list[int]) -> HeldOut:
    return HeldOut(*draw_renders(n, np.random.default_rng(seed)), seed)


def heldout_set(n: int, seed: int) -> HeldOut:
    return rendered_set(n, stream_seed(HELDOUT_STREAM, seed))


def failure_kind(reason: str) -> str:
    """An oracle reason without its numbers: 'shape looks like box (IoU 0.88; ...)' -> 'shape
    looks like box'."""
    return reason.split(" (")[0]


def oracle_report(images: np.ndarray, specs: Sequence[AdSpec], examples: int = 8) -> dict:
    """Usable and per-aspect rates with ``n``, failure kinds counted, a few failures quoted."""
    verdicts = judge_all(images, specs)
    failed = [(s, v) for s, v in zip(specs, verdicts) if not v.usable]
    return {
        "n": len(verdicts), **rates(verdicts),
        "failures": dict(Counter(failure_kind(r) for _, v in failed for r in v.reasons)
                         .most_common()),
        "examples": [{"spec": asdict(s), "reasons": list(v.reasons)} for s, v in failed[:examples]],
    }


def evaluate_reconstructions(vae: AutoencoderKL, heldout: HeldOut) -> dict:
    was_training = vae.training
    vae.eval()
    report = oracle_report(reconstruct(vae, heldout.images), heldout.specs)
    vae.train(was_training)
    return {**report, "heldout_seed": heldout.seed}


def write_curve(points: list[dict], out: Path, target: float = 0.995) -> None:
    """``curve.json`` (every point: step, n, the rates) and ``curve.png``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "curve.json").write_text(json.dumps({"target_usable": target, "points": points},
                                               indent=2))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    steps = [p["step"] for p in points]
    for key in RATE_KEYS:
        ax.plot(steps, [p[key] for p in points], marker="o", markersize=3, label=key)
    ax.axhline(target, color="grey", linestyle="--", linewidth=0.8, label=f"target {target}")
    sizes = sorted({p["n"] for p in points})
    ax.set_title("oracle acceptance of reconstructions (held-out renders, n = "
                 f"{', '.join(str(s) for s in sizes)} per point)", fontsize=9)
    ax.set_xlabel("training step")
    ax.set_ylabel("rate")
    ax.set_ylim(min(0.8, *(p["usable"] for p in points)) - 0.02, 1.005)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "curve.png", dpi=120)
    plt.close(fig)
