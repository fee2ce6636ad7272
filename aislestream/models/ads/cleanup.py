"""The one deterministic step after sampling: flat fills restored where the creative should be
flat.

Each pixel nearer the requested background palette or the text bar's grey than to any product
colour is set to exactly that palette colour or grey; every other pixel, the product, is left as
the generator drew it. So a soft edge becomes a hard one and faint haze on the background or
around the text bar disappears, while the product's shape, place and colour stay the
generator's: a product drawn in the wrong colour or shape stays wrong. Every usable rate is
reported with and without this step (``*_raw``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aislestream.core.adspec import COLOURS, LOGO, PALETTES, AdSpec

_PRODUCT_COLOURS = np.array(list(COLOURS.values()), dtype=np.float32)


def clean(images: np.ndarray, specs: Sequence[AdSpec]) -> np.ndarray:
    """A cleaned copy of uint8 (B, 32, 32, 3) ``images``."""
    out = images.copy()
    for image, cleaned, spec in zip(images, out, specs):
        flats = np.array([PALETTES[spec.palette], LOGO], dtype=np.float32)
        refs = np.concatenate([flats, _PRODUCT_COLOURS])
        nearest = np.linalg.norm(image[..., None, :].astype(np.float32) - refs,
                                 axis=-1).argmin(-1)
        for k, colour in enumerate(flats):
            cleaned[nearest == k] = colour.astype(np.uint8)
    return out
