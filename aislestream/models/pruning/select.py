"""Which blocks to remove: FFT + RDP, and the baselines it is measured against."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aislestream.models.pruning.names import METHODS
from aislestream.models.pruning.rdp import epsilon_for_budget, rdp_mask
from aislestream.models.pruning.spectral import SpectralProfile, cumulative_curve


@dataclass(frozen=True)
class Selection:
    method: str
    drop: tuple[int, ...]  # 0-based block indices, sorted
    epsilon: float | None = None  # RDP tolerance, for fft_rdp


def fft_rdp(profile: SpectralProfile, n: int) -> Selection:
    """Blocks whose points on the cumulative spectral-change curve RDP drops lie on near-linear
    stretches; epsilon is the smallest tolerance that frees ``n`` of them. The first and last
    blocks are never candidates: the last block's point is an end point of the curve, and the
    first block's input is the patch or token embedding, not a transformer block's output, so
    its spectral change measures the embedding's mapping, not redundancy (the tiny generator
    with blocks 0 and 3 removed was 25.9% usable, against 77.3% for Block Influence at the
    same depth, which never picked block 0). If RDP frees more than ``n`` at that tolerance
    (ties), the ones that change the spectrum least go first."""
    change = profile.change
    curve = cumulative_curve(change)
    eligible = np.zeros(len(curve), bool)
    eligible[2:-1] = True  # point k = after block k (1-based): point 1 is the first block's
    eps = epsilon_for_budget(curve, n, eligible=eligible)
    candidates = [int(k) - 1 for k in np.flatnonzero(~rdp_mask(curve, eps) & eligible)]
    chosen = sorted(candidates, key=lambda i: change[i])[:n]
    return Selection("fft_rdp", tuple(sorted(chosen)), eps)


def block_influence(profile: SpectralProfile, n: int) -> Selection:
    """ShortGPT: remove the blocks whose output is most similar to their input."""
    return Selection("block_influence",
                     tuple(sorted(np.argsort(profile.block_influence)[:n].tolist())))


def last_n(depth: int, n: int) -> Selection:
    """Keep the final block (it maps to the output space); drop the n before it."""
    return Selection("last_n", tuple(range(depth - 1 - n, depth - 1)))


def random_blocks(depth: int, n: int, seed: int) -> Selection:
    rng = np.random.default_rng(seed)
    return Selection(f"random_{seed}",
                     tuple(sorted(rng.choice(depth, size=n, replace=False).tolist())))


def most_removable(depth: int) -> int:
    """The most blocks every method can remove, so that all compare at each count: FFT + RDP
    keeps the first block (its input is the embedding) and the last (RDP keeps endpoints)."""
    return depth - 2


def select(method: str, profile: SpectralProfile, n: int, seed: int = 0) -> Selection:
    depth = len(profile.spectral_distance)
    if not 0 < n < depth:
        raise ValueError(f"can remove 1 to {depth - 1} of {depth} blocks, asked {n}")
    if method == "fft_rdp":
        if n > most_removable(depth):
            raise ValueError(f"FFT + RDP can remove 1 to {most_removable(depth)} of {depth} "
                             f"blocks (never the first or the last), asked {n}")
        return fft_rdp(profile, n)
    if method == "block_influence":
        return block_influence(profile, n)
    if method == "last_n":
        return last_n(depth, n)
    if method == "random":
        return random_blocks(depth, n, seed)
    raise ValueError(f"unknown pruning method {method!r}; choose one of {', '.join(METHODS)}")
