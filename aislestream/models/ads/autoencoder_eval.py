"""How good the autoencoder is, in the only terms that matter downstream: the share of its
reconstructions of held-out renders that the independent oracle accepts (usable and per aspect).

A latent generator can be no better than its decoder, so this figure bounds it. Training and
evaluation draw from disjoint random streams (``TRAIN_STREAM`` and ``HELDOUT_STREAM`` seed
their generators), so no held-out render is ever a training render. Every rate is stored with
its sample count ``n``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from diffusers import AutoencoderKL

from aislestream.core.adspec import ALL_SPECS, N_CLASSES, AdSpec
from aislestream.models.ads.autoencoder import reconstruct
from aislestream.models.ads.learning_curve import oracle_report
from aislestream.models.ads.renderer import render

TRAIN_STREAM = 1_001  # seeds np.random.default_rng([TRAIN_STREAM, seed]) for training batches
HELDOUT_STREAM = 1_002  # and [HELDOUT_STREAM, seed] for the held-out renders


def stream_seed(stream: int, seed: int) -> list[int]:
    return [stream, seed]


@dataclass(frozen=True)
class HeldOut:
    images: np.ndarray  # (n, 32, 32, 3) uint8
    specs: list[AdSpec]
    seed: list[int]  # the SeedSequence entropy they were drawn from


def draw_renders(n: int, rng: np.random.Generator) -> tuple[np.ndarray, list[AdSpec]]:
    """``n`` clean renders of random specs: uint8 (n, 32, 32, 3) and the specs."""
    specs = [ALL_SPECS[int(i)] for i in rng.integers(N_CLASSES, size=n)]
    return np.stack([render(s, rng).image for s in specs]), specs


def rendered_set(n: int, seed: list[int]) -> HeldOut:
    return HeldOut(*draw_renders(n, np.random.default_rng(seed)), seed)


def heldout_set(n: int, seed: int) -> HeldOut:
    return rendered_set(n, stream_seed(HELDOUT_STREAM, seed))


def evaluate_reconstructions(vae: AutoencoderKL, heldout: HeldOut) -> dict:
    was_training = vae.training
    vae.eval()
    report = oracle_report(reconstruct(vae, heldout.images), heldout.specs)
    vae.train(was_training)
    return {**report, "heldout_seed": heldout.seed}
