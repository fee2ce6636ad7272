"""Render ad creatives from specs, with ground-truth masks, and programmatic defects.

Shapes are defined on a unit square and scaled into the layout region with a little jitter,
so no two renders are pixel-identical. Defects change exactly one aspect, which gives the
reward models clean per-aspect labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aislestream.core.adspec import (
    COLOURS,
    LAYOUTS,
    LOGO,
    PALETTES,
    SAFE_ROWS,
    SHAPES,
    SIZE,
    AdSpec,
)


def shape_mask(shape: str, h: int, w: int) -> np.ndarray:
    """Boolean h x w silhouette of a shape filling its box."""
    y, x = np.mgrid[0:h, 0:w]
    u, v = (x + 0.5) / w, (y + 0.5) / h  # unit coordinates
    if shape == "box":
        return np.ones((h, w), dtype=bool)
    if shape == "ball":
        return (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25
    if shape == "phone":
        return (np.abs(u - 0.5) <= 0.28) & (v >= 0.02)
    if shape == "bottle":
        neck = (np.abs(u - 0.5) <= 0.14) & (v < 0.35)
        body = (np.abs(u - 0.5) <= 0.4) & (v >= 0.35)
        return neck | body
    if shape == "can":
        body = (np.abs(u - 0.5) <= 0.36) & (v >= 0.12) & (v <= 0.88)
        caps = ((u - 0.5) / 0.36) ** 2 + ((v - 0.12) / 0.1) ** 2 <= 1
        caps |= ((u - 0.5) / 0.36) ** 2 + ((v - 0.88) / 0.1) ** 2 <= 1
        return body | caps
    if shape == "shoe":
        sole = v >= 0.62
        heel = (u <= 0.45) & (v >= 0.2)
        return sole | heel
    raise ValueError(f"unknown shape {shape!r}")


@dataclass
class Render:
    image: np.ndarray  # (SIZE, SIZE, 3) uint8
    mask: np.ndarray  # (SIZE, SIZE) bool: product pixels
    box: tuple[int, int, int, int]  # product box (row0, col0, row1, col1)
    spec: AdSpec
    defects: dict[str, str] = field(default_factory=dict)  # aspect -> defect kind

    def labels(self) -> dict[str, bool]:
        """Per aspect: True when the aspect is right."""
        return {aspect: aspect not in self.defects for aspect in ("shape", "placement", "colour")}


def _canvas(palette: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    img = np.empty((SIZE, SIZE, 3), dtype=np.float32)
    img[:] = palette
    bar_w = int(rng.integers(12, 24))
    c0 = int(rng.integers(2, SIZE - bar_w - 2))
    img[2:6, c0:c0 + bar_w] = LOGO  # the advertiser's text bar
    return img


def _place(region: tuple[int, int, int, int],
           rng: np.random.Generator) -> tuple[int, int, int, int]:
    r0, c0, r1, c1 = region
    h = int(rng.integers(r1 - r0 - 4, r1 - r0 + 1))
    w = int(rng.integers(c1 - c0 - 3, c1 - c0 + 1))
    top = r0 + int(rng.integers(0, r1 - r0 - h + 1))
    left = c0 + int(rng.integers(0, c1 - c0 - w + 1))
    return top, left, top + h, left + w


def render(spec: AdSpec, rng: np.random.Generator, defect: str | None = None) -> Render:
    """A usable creative for ``spec``, or one with a single named defect (see DEFECTS)."""
    img = _canvas(PALETTES[spec.palette], rng)
    top, left, bottom, right = _place(LAYOUTS[spec.layout], rng)
    shape, colour = spec.shape, np.array(COLOURS[spec.colour], dtype=np.float32)
    defects: dict[str, str] = {}
    if defect == "wrong_shape":
        shape = str(rng.choice([s for s in SHAPES if s != spec.shape]))
        defects["shape"] = defect
    elif defect == "distorted":  # squashed to a sliver of its box
        if rng.random() < 0.5:
            right = left + max(2, (right - left) // 3)
        else:
            top = bottom - max(2, (bottom - top) // 3)
        defects["shape"] = defect
    elif defect == "wrong_region":
        other = LAYOUTS[str(rng.choice([k for k in LAYOUTS if k != spec.layout and
                                        abs(LAYOUTS[k][1] - LAYOUTS[spec.layout][1]) >= 8]))]
        top, left, bottom, right = _place(other, rng)
        defects["placement"] = defect
    elif defect == "safe_zone":  # pushed up over the text bar
        shift = top - int(rng.integers(0, SAFE_ROWS - 4))  # deep enough for any silhouette
        top, bottom = top - shift, bottom - shift
        defects["placement"] = defect
    elif defect == "cropped":  # pushed off the canvas edge
        shift = int(rng.integers(6, 10))
        if spec.layout == "left":
            left, right = left - shift, right - shift
        elif spec.layout == "right":
            left, right = left + shift, right + shift
        else:
            top, bottom = top + shift, bottom + shift
        defects["placement"] = defect
    elif defect == "off_colour":
        others = [c for c in COLOURS if c != spec.colour]
        colour = np.array(COLOURS[str(rng.choice(others))], dtype=np.float32)
        defects["colour"] = defect
    elif defect == "off_palette":
        img[img[..., 0] == PALETTES[spec.palette][0]] = PALETTES[
            "dark" if spec.palette == "light" else "light"]
        defects["colour"] = defect
    elif defect is not None:
        raise ValueError(f"unknown defect {defect!r}")
    full = np.zeros((SIZE, SIZE), dtype=bool)
    silhouette = shape_mask(shape, bottom - top, right - left)
    rows = slice(max(top, 0), min(bottom, SIZE))
    cols = slice(max(left, 0), min(right, SIZE))
    full[rows, cols] = silhouette[rows.start - top:rows.stop - top,
                                  cols.start - left:cols.stop - left]
    # soft lighting across the product
    shade = 1.0 + 0.12 * (np.linspace(-1, 1, SIZE)[None, :, None])
    img = np.where(full[..., None], np.clip(colour * shade, 0, 255), img)
    img += rng.normal(0, 3.0, img.shape)  # sensor noise
    return Render(np.clip(img, 0, 255).astype(np.uint8), full, (top, left, bottom, right), spec,
                  defects)


DEFECTS: dict[str, str] = {
    "wrong_shape": "shape", "distorted": "shape",
    "wrong_region": "placement", "safe_zone": "placement", "cropped": "placement",
    "off_colour": "colour", "off_palette": "colour",
}
