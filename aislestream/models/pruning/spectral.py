"""What each transformer block does to its features, measured in the frequency domain.

A block's input and output hidden states are transformed with the FFT — 2-D over the token
grid for the generator (tokens are image patches), 1-D over the sequence for the LLM — and
compared: the relative distance between the magnitude spectra, and the change of energy in
each radial frequency band. A block that barely moves the spectrum, or moves it the same way
its neighbours do, is a pruning candidate. Statistics are accumulated batch by batch so a
calibration set of any size runs in constant memory. Block Influence (ShortGPT: 1 - cosine of
a block's input and output, per token) is gathered in the same pass as a baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


def magnitude_spectrum(hidden: torch.Tensor, grid: tuple[int, int] | None) -> torch.Tensor:
    """|FFT| of (batch, tokens, channels) features over the token axis (or the token grid)."""
    if grid is None:
        return torch.fft.rfft(hidden.float(), dim=1).abs()
    b, n, d = hidden.shape
    if grid[0] * grid[1] != n:
        raise ValueError(f"grid {grid} does not hold {n} tokens")
    return torch.fft.rfft2(hidden.float().reshape(b, *grid, d), dim=(1, 2)).abs()


def radial_bands(spectrum_shape: tuple[int, ...], n_bands: int) -> torch.Tensor:
    """Band index of every frequency bin of an rfft/rfft2 spectrum (channels last),
    by normalised radial frequency, so sequences of any length share the same bands."""
    spatial = spectrum_shape[1:-1]
    if len(spatial) == 1:
        radius = torch.linspace(0, 1, spatial[0])
    else:
        width = max(1, 2 * (spatial[1] - 1))  # rfft2 keeps width // 2 + 1 columns
        rows = torch.fft.fftfreq(spatial[0]).abs() * 2
        cols = torch.fft.rfftfreq(width) * 2
        radius = torch.sqrt(rows[:, None] ** 2 + cols[None, :] ** 2) / np.sqrt(2)
    return torch.clamp((radius * n_bands).long(), max=n_bands - 1)


def band_energy(spectrum: torch.Tensor, n_bands: int) -> torch.Tensor:
    """(batch, n_bands) energy per radial band, summed over channels."""
    bands = radial_bands(tuple(spectrum.shape), n_bands).to(spectrum.device).flatten()
    energy = (spectrum ** 2).sum(-1).flatten(1)
    return torch.zeros(len(energy), n_bands, device=spectrum.device).index_add_(1, bands, energy)


@dataclass
class BlockStats:
    """Running sums for one block over a calibration set."""

    n_bands: int
    distance_num: float = 0.0
    distance_den: float = 0.0
    band_in: np.ndarray = field(default=None)  # type: ignore[assignment]
    band_out: np.ndarray = field(default=None)  # type: ignore[assignment]
    influence_sum: float = 0.0
    tokens: int = 0

    def __post_init__(self) -> None:
        self.band_in = np.zeros(self.n_bands)
        self.band_out = np.zeros(self.n_bands)

    def update(self, block_in: torch.Tensor, block_out: torch.Tensor,
               grid: tuple[int, int] | None) -> None:
        spec_in, spec_out = magnitude_spectrum(block_in, grid), magnitude_spectrum(block_out, grid)
        self.distance_num += float(((spec_out - spec_in) ** 2).sum())
        self.distance_den += float((spec_in ** 2).sum())
        self.band_in += band_energy(spec_in, self.n_bands).sum(0).cpu().numpy()
        self.band_out += band_energy(spec_out, self.n_bands).sum(0).cpu().numpy()
        cosine = torch.nn.functional.cosine_similarity(block_in.float(), block_out.float(), dim=-1)
        self.influence_sum += float((1 - cosine).sum())
        self.tokens += cosine.numel()


@dataclass(frozen=True)
class SpectralProfile:
    """Per-block measurements, in depth order."""

    spectral_distance: np.ndarray  # ||S_out - S_in|| / ||S_in||
    band_change: np.ndarray  # (blocks, bands): |log E_out - log E_in|
    block_influence: np.ndarray  # ShortGPT's BI, mean over tokens

    @staticmethod
    def from_stats(stats: list[BlockStats]) -> "SpectralProfile":
        eps = 1e-12
        return SpectralProfile(
            spectral_distance=np.array([np.sqrt(s.distance_num / max(s.distance_den, eps))
                                        for s in stats]),
            band_change=np.stack([np.abs(np.log(s.band_out + eps) - np.log(s.band_in + eps))
                                  for s in stats]),
            block_influence=np.array([s.influence_sum / max(s.tokens, 1) for s in stats]),
        )

    @property
    def change(self) -> np.ndarray:
        """One number per block: the spectral distance plus its mean per-band energy change."""
        return self.spectral_distance + self.band_change.mean(axis=1)

    def to_json(self) -> dict:
        return {"spectral_distance": self.spectral_distance.round(6).tolist(),
                "band_change": self.band_change.round(6).tolist(),
                "block_influence": self.block_influence.round(6).tolist(),
                "change": self.change.round(6).tolist()}


def cumulative_curve(change: np.ndarray) -> np.ndarray:
    """Points (depth, cumulative change) for depth 0..L, both axes scaled to [0, 1]: point k is
    the features after block k, so a dropped interior point names block k."""
    total = np.concatenate([[0.0], np.cumsum(change)])
    depth = np.arange(len(total), dtype=np.float64)
    return np.stack([depth / depth[-1], total / max(total[-1], 1e-12)], axis=1)
