"""Ramer–Douglas–Peucker curve simplification, iterative and vectorised.

The textbook recursion recomputes every point's distance to each new chord on its way down and
can recurse as deep as the curve is long. Here one explicit stack of segments is used, each
segment's distances are computed once with numpy, and the chord distance is the perpendicular
distance to the *segment* (not the infinite line), so a curve that doubles back is handled.
"""

from __future__ import annotations

import numpy as np


def segment_distances(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Distance of every point to the segment start-end (to ``start`` if the two coincide)."""
    chord = end - start
    length2 = float(chord @ chord)
    if length2 == 0.0:
        return np.linalg.norm(points - start, axis=1)
    along = np.clip((points - start) @ chord / length2, 0.0, 1.0)
    return np.linalg.norm(points - (start + along[:, None] * chord), axis=1)


def rdp_mask(points: np.ndarray, epsilon: float) -> np.ndarray:
    """Boolean mask of the points RDP keeps at tolerance ``epsilon`` (end points always kept)."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or len(points) < 2:
        raise ValueError(f"need an (n >= 2, d) array of points, got shape {points.shape}")
    if epsilon < 0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon}")
    keep = np.zeros(len(points), dtype=bool)
    keep[[0, -1]] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        distances = segment_distances(points[first + 1:last], points[first], points[last])
        worst = int(np.argmax(distances))
        if distances[worst] > epsilon:
            split = first + 1 + worst
            keep[split] = True
            stack += [(first, split), (split, last)]
    return keep


def rdp(points: np.ndarray, epsilon: float) -> np.ndarray:
    """The simplified curve: the kept points, in order."""
    return np.asarray(points)[rdp_mask(points, epsilon)]


def epsilon_for_budget(points: np.ndarray, dropped: int, iterations: int = 60,
                       eligible: np.ndarray | None = None) -> float:
    """Smallest tolerance at which RDP drops at least ``dropped`` interior points, counting
    only the ``eligible`` ones (a boolean mask over the points; default all) (bisection: the
    number dropped grows with epsilon for the monotone curves pruning builds)."""
    mask = np.ones(len(points), bool) if eligible is None else np.asarray(eligible, bool).copy()
    mask[[0, -1]] = False  # end points are always kept
    if not 0 <= dropped <= int(mask.sum()):
        raise ValueError(f"can drop between 0 and {int(mask.sum())} interior points, "
                         f"asked {dropped}")
    lo, hi = 0.0, float(np.ptp(points, axis=0).max()) or 1.0
    if dropped == 0:
        return 0.0
    for _ in range(iterations):
        mid = (lo + hi) / 2
        if (~rdp_mask(points, mid) & mask).sum() >= dropped:
            hi = mid
        else:
            lo = mid
    return hi
