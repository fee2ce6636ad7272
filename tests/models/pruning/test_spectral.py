import numpy as np
import pytest
import torch

from aislestream.models.pruning.spectral import (
    BlockStats,
    SpectralProfile,
    band_energy,
    cumulative_curve,
    magnitude_spectrum,
)


def profile_of(pairs, grid=(4, 4)):
    stats = BlockStats(4)
    for block_in, block_out in pairs:
        stats.update(block_in, block_out, grid)
    return SpectralProfile.from_stats([stats])


def test_an_identity_block_changes_nothing():
    x = torch.randn(3, 16, 8)
    p = profile_of([(x, x)])
    assert p.spectral_distance[0] == pytest.approx(0.0, abs=1e-6)
    assert p.block_influence[0] == pytest.approx(0.0, abs=1e-6)
    assert np.allclose(p.band_change, 0.0, atol=1e-5)


def test_features_constant_over_the_grid_hold_energy_only_in_the_lowest_band():
    constant = torch.ones(2, 16, 5) * torch.arange(5.0)
    energy = band_energy(magnitude_spectrum(constant, (4, 4)), 4)
    assert energy[:, 0].min() > 0 and torch.all(energy[:, 1:] == 0)


def test_a_checkerboard_changes_the_high_band_far_more_than_the_low_one():
    smooth = (torch.randn(4, 1, 1, 8).expand(4, 4, 4, 8).reshape(4, 16, 8)
              + 0.01 * torch.randn(4, 16, 8))
    checker = torch.tensor([[(-1.0) ** (r + c) for c in range(4)]
                            for r in range(4)]).reshape(1, 16, 1)
    p = profile_of([(smooth, smooth + checker)])
    assert p.band_change[0, -1] > 5 * p.band_change[0, 0]


def test_sequence_spectrum_over_tokens_and_grid_mismatch_is_an_error():
    assert magnitude_spectrum(torch.randn(2, 10, 3), None).shape == (2, 6, 3)
    with pytest.raises(ValueError, match="does not hold 10 tokens"):
        magnitude_spectrum(torch.randn(2, 10, 3), (3, 3))


def test_cumulative_curve_runs_corner_to_corner_and_never_falls():
    curve = cumulative_curve(np.array([0.5, 0.1, 2.0, 0.4]))
    assert curve[0].tolist() == [0.0, 0.0] and curve[-1].tolist() == [1.0, 1.0]
    assert np.all(np.diff(curve[:, 1]) >= 0) and len(curve) == 5
