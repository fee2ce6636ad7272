"""The independent oracle: usability decided from pixels with no learned model.

Every usable rate this project reports comes from here, so RL against the learned reward
models cannot hide reward hacking. Checks:
  placement: the product's box lies inside its layout region (with a small tolerance), stays
             out of the safe zone and does not touch the canvas edge (cropping);
  shape:     the product's silhouette matches the requested shape, drawn at any box size the
             renderer uses, better than every other shape (and with IoU above a floor);
  colour:    the product's median colour is nearest the requested colour, and the background
             is the requested palette.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aislestream.core.adspec import (
    ASPECTS,
    COLOURS,
    LAYOUTS,
    LOGO,
    PALETTES,
    SAFE_ROWS,
    SHAPES,
    SIZE,
    AdSpec,
)
from aislestream.models.ads.renderer import shape_mask


@dataclass(frozen=True)
class OracleVerdict:
    shape: bool
    placement: bool
    colour: bool
    reasons: tuple[str, ...]

    @property
    def usable(self) -> bool:
        return self.shape and self.placement and self.colour

    def aspects(self) -> dict[str, bool]:
        return {"shape": self.shape, "placement": self.placement, "colour": self.colour}


@dataclass(frozen=True)
class OracleConfig:
    background_distance: float = 60.0  # RGB distance from the palette that counts as product
    region_tolerance: int = 2  # pixels the box may exceed its region by
    min_shape_iou: float = 0.7
    max_colour_distance: float = 90.0
    min_pixels: int = 12


def segment(image: np.ndarray, spec: AdSpec, config: OracleConfig = OracleConfig()) -> np.ndarray:
    """Product mask: pixels far from the background palette and from the text bar's grey."""
    pixels = image.astype(np.float32)
    far_bg = (np.linalg.norm(pixels - np.array(PALETTES[spec.palette]), axis=-1)
              > config.background_distance)
    far_logo = np.linalg.norm(pixels - np.array(LOGO), axis=-1) > 40.0
    return far_bg & far_logo


def _tight(mask: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(mask)
    return mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def _candidates() -> dict[str, list[np.ndarray]]:
    """Every shape's tight silhouette for every box size the renderer draws, with a one-pixel
    margin: matching at the observed pixel size avoids resampling artefacts at 32 px, and the
    box size is what tells a phone (narrow in its box) from a narrow box."""
    r0, c0, r1, c1 = next(iter(LAYOUTS.values()))  # all regions have the same size
    heights, widths = range(r1 - r0 - 5, r1 - r0 + 2), range(c1 - c0 - 4, c1 - c0 + 2)
    return {s: [_tight(shape_mask(s, h, w)) for h in heights for w in widths] for s in SHAPES}


_CANDIDATES = _candidates()


def _best_iou(observed: np.ndarray, candidates: list[np.ndarray]) -> float:
    best = 0.0
    for cand in candidates:
        h, w = max(observed.shape[0], cand.shape[0]), max(observed.shape[1], cand.shape[1])
        a = np.zeros((h, w), dtype=bool)
        b = np.zeros((h, w), dtype=bool)
        a[:observed.shape[0], :observed.shape[1]] = observed
        b[:cand.shape[0], :cand.shape[1]] = cand
        best = max(best, _iou(a, b))
    return best


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def judge(image: np.ndarray, spec: AdSpec, config: OracleConfig = OracleConfig()) -> OracleVerdict:
    reasons: list[str] = []
    mask = segment(image, spec, config)
    # The text bar region is not product; anything product-coloured there is an overlap.
    if mask.sum() < config.min_pixels:
        return OracleVerdict(False, False, False, ("no product found",))
    rows, cols = np.nonzero(mask)
    box = (int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1)
    r0, c0, r1, c1 = LAYOUTS[spec.layout]
    t = config.region_tolerance
    placement = True
    if box[0] < SAFE_ROWS:
        placement, reasons = False, reasons + ["covers the safe zone"]
    if box[0] <= 0 or box[1] <= 0 or box[2] >= SIZE or box[3] >= SIZE:
        placement, reasons = False, reasons + ["cropped at the canvas edge"]
    if box[1] < c0 - t or box[3] > c1 + t or box[2] > r1 + t:
        placement, reasons = False, reasons + [f"outside the {spec.layout} region"]
    silhouette = _tight(mask)
    fit = {s: _best_iou(silhouette, c) for s, c in _CANDIDATES.items()}
    best = max(fit, key=fit.get)
    shape = best == spec.shape and fit[spec.shape] >= config.min_shape_iou
    if not shape:
        reasons.append(f"shape looks like {best} (IoU {fit[best]:.2f}; "
                       f"{spec.shape} {fit[spec.shape]:.2f})")
    product_colour = np.median(image[mask].astype(np.float32), axis=0)
    distances = {c: float(np.linalg.norm(product_colour - np.array(v))) for c, v in COLOURS.items()}
    nearest = min(distances, key=distances.get)
    colour = nearest == spec.colour and distances[spec.colour] <= config.max_colour_distance
    if not colour:
        reasons.append(f"product colour nearest {nearest}, asked {spec.colour}")
    background = ~mask
    background[:SAFE_ROWS] = False
    if not background.any():
        return OracleVerdict(shape, placement, False, tuple(reasons + ["no background left"]))
    bg_colour = np.median(image[background].astype(np.float32), axis=0)
    palette = min(PALETTES, key=lambda p: np.linalg.norm(bg_colour - np.array(PALETTES[p])))
    if palette != spec.palette:
        colour, reasons = False, reasons + [f"background is {palette}, asked {spec.palette}"]
    return OracleVerdict(shape, placement, colour, tuple(reasons))


def judge_all(images: Sequence[np.ndarray], specs: Sequence[AdSpec],
              config: OracleConfig = OracleConfig()) -> list[OracleVerdict]:
    return [judge(image, spec, config) for image, spec in zip(images, specs)]


def rates(verdicts: Sequence[OracleVerdict]) -> dict[str, float]:
    """The usable share and, per aspect, the share judged right: how every report states it."""
    return {"usable": float(np.mean([v.usable for v in verdicts])),
            **{f"{a}_ok": float(np.mean([v.aspects()[a] for v in verdicts])) for a in ASPECTS}}
