"""Learning curves in the oracle's terms: usable and per-aspect rates of a model's images, each
with its sample count, the failure kinds counted, and a plot of the rates against training
steps. The autoencoder (its reconstructions) and the generator (its samples) both keep one."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from aislestream.core import figures
from aislestream.core.adspec import AdSpec
from aislestream.models.ads.oracle import OracleVerdict, judge_all, rates

RATE_KEYS = ("usable", "shape_ok", "placement_ok", "colour_ok")


def failure_kind(reason: str) -> str:
    """An oracle reason without its numbers: 'shape looks like box (IoU 0.88; ...)' -> 'shape
    looks like box'."""
    return reason.split(" (")[0]


def oracle_report(images: np.ndarray, specs: Sequence[AdSpec], examples: int = 8) -> dict:
    """Usable and per-aspect rates with ``n``, failure kinds counted, a few failures quoted."""
    return verdict_report(judge_all(images, specs), specs, examples)


def verdict_report(verdicts: Sequence[OracleVerdict], specs: Sequence[AdSpec],
                   examples: int = 8) -> dict:
    """:func:`oracle_report` of verdicts already given."""
    failed = [(s, v) for s, v in zip(specs, verdicts) if not v.usable]
    return {
        "n": len(verdicts), **rates(verdicts),
        "failures": dict(Counter(failure_kind(r) for _, v in failed for r in v.reasons)
                         .most_common()),
        "examples": [{"spec": asdict(s), "reasons": list(v.reasons)} for s, v in failed[:examples]],
    }


def write_curve(points: list[dict], out: Path, title: str,
                series: Sequence[tuple[str, Callable[[dict], float]]], target: float) -> None:
    """``curve.json`` (every point as given) and ``curve.png``: one line per named series."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "curve.json").write_text(json.dumps({"target_usable": target, "points": points},
                                               indent=2))
    fig, ax = figures.pyplot().subplots(figsize=(6.4, 3.8))
    steps = [p["step"] for p in points]
    lowest = target
    for label, value in series:
        values = [value(p) for p in points]
        lowest = min(lowest, *values)
        ax.plot(steps, values, marker="o", markersize=3, label=label)
    ax.axhline(target, color="grey", linestyle="--", linewidth=0.8, label=f"target {target}")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("training step")
    ax.set_ylabel("rate")
    ax.set_ylim(max(0.0, lowest - 0.02), 1.005)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    figures.save(fig, out / "curve.png", dpi=120)
