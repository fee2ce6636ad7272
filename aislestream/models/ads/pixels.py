"""8-bit creatives <-> the [-1, 1] channels-first tensors every ads model works in."""

from __future__ import annotations

import numpy as np
import torch


def to_model_space(images: np.ndarray) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(images).float().permute(0, 3, 1, 2) / 127.5 - 1.0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Model space (B, 3, H, W) -> uint8 (B, H, W, 3), clipped."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
