"""Pruning plots: the cumulative spectral-change curve with RDP's kept points and the pruned
blocks marked, and quality against the number of removed blocks for each method."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aislestream.core import figures
from aislestream.models.pruning.rdp import epsilon_for_budget, rdp_mask
from aislestream.models.pruning.spectral import cumulative_curve


def plot_curve(profile: dict, drop: Sequence[int], title: str, path: Path) -> Path:
    plt = figures.pyplot()

    change = np.array(profile["change"])
    curve = cumulative_curve(change)
    kept = rdp_mask(curve, epsilon_for_budget(curve, len(drop)))
    depth = np.arange(len(curve))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    top.plot(depth, curve[:, 1], "-o", color="0.6", label="cumulative spectral change")
    top.plot(depth[kept], curve[kept, 1], "-", color="tab:blue", lw=2, label="RDP simplification")
    top.scatter(depth[kept], curve[kept, 1], color="tab:blue", zorder=3, label="kept by RDP")
    marks = [k + 1 for k in drop]
    top.scatter(marks, curve[marks, 1], color="tab:red", marker="x", s=90, zorder=4,
                label="pruned block")
    top.set_ylabel("cumulative change (normalised)")
    top.set_title(f"{title}: where the spectrum changes")
    top.legend(fontsize=8)
    blocks = np.arange(1, len(change) + 1)
    bottom.bar(blocks - 0.2, profile["spectral_distance"], width=0.4, label="spectral distance")
    bottom.bar(blocks + 0.2, profile["block_influence"], width=0.4,
               label="block influence (1 - cos)")
    bottom.set_xlabel("depth k: features after the k-th block (0-based index k - 1 in the tables)")
    bottom.set_yscale("log")
    bottom.legend(fontsize=8)
    return figures.save(fig, path)


def plot_quality(variants: Sequence[dict], metric: str, full: float | None, title: str,
                 path: Path) -> Path:
    plt = figures.pyplot()

    groups: dict[str, dict[int, list[float]]] = {}
    for v in variants:
        method = "random" if v["method"].startswith("random") else v["method"]
        groups.setdefault(method, {}).setdefault(v["blocks"], []).append(v[metric])
    fig, ax = plt.subplots(figsize=(6, 4))
    if full is not None:
        ax.axhline(full, color="0.4", ls="--", label="unpruned")
    for method, by_n in groups.items():
        ns = sorted(by_n)
        ax.plot(ns, [np.mean(by_n[n]) for n in ns], "-o", label=method)
    ax.set_xlabel("blocks removed")
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return figures.save(fig, path)
