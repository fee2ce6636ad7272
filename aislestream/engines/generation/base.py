"""The generator contract: what the creative service needs of a backend (torch, ONNX Runtime)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from aislestream.core.adspec import AdSpec


class Generator(Protocol):
    """Ad specs -> creative images. Backends draw the starting noise on the CPU from ``seed``,
    so one seed gives the same creatives on every backend (up to float rounding)."""

    def generate(self, specs: Sequence[AdSpec], num_inference_steps: int = 20,
                 seed: int | None = None) -> np.ndarray:
        """uint8 RGB images, (len(specs), 32, 32, 3); ``seed`` None draws fresh noise."""
        ...
