"""What the generator is conditioned on: the advertiser's request as four attribute tokens
(shape, colour, palette, layout), and the split of spec combinations that it never trains on.

Each token is a one-hot row over the attribute vocabulary plus one "null" entry per slot; the
transformer's own caption projection (PixArt's ``caption_channels``) learns the embeddings, so
everything learned lives in one diffusers model that saves, prunes and exports as it is. A
request is unconditional when all four tokens are null: training drops them *together* (the
condition dropout classifier-free guidance needs), which is why the conditioning lives here and
not in DiT's per-block label embedders, where every block drops its label on its own and the
fully unconditional input almost never occurs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from aislestream.core.adspec import ALL_SPECS, COLOURS, LAYOUTS, PALETTES, SHAPES, AdSpec

SLOTS = ("shape", "colour", "palette", "layout")
VOCAB: tuple[str, ...] = (*SHAPES, *COLOURS, *PALETTES, *LAYOUTS)
NULL_OFFSET = len(VOCAB)  # slot i's null entry is NULL_OFFSET + i
TOKEN_DIM = NULL_OFFSET + len(SLOTS)
HELD_OUT_EVERY = 9  # one combination in nine never reaches generator training (24 of 216)


def spec_tokens(specs: Sequence[AdSpec], drop: torch.Tensor | None = None) -> torch.Tensor:
    """(len(specs), 4, TOKEN_DIM) float tokens; rows where ``drop`` is True are all null."""
    x = torch.zeros(len(specs), len(SLOTS), TOKEN_DIM)
    for i, spec in enumerate(specs):
        for j, slot in enumerate(SLOTS):
            x[i, j, VOCAB.index(getattr(spec, slot))] = 1.0
    if drop is not None and bool(drop.any()):
        x[drop] = null_tokens(int(drop.sum()))
    return x


def null_tokens(n: int) -> torch.Tensor:
    """The unconditional input: every slot's null entry."""
    x = torch.zeros(n, len(SLOTS), TOKEN_DIM)
    for j in range(len(SLOTS)):
        x[:, j, NULL_OFFSET + j] = 1.0
    return x


def _index(spec: AdSpec) -> tuple[int, int, int, int]:
    return (SHAPES.index(spec.shape), list(COLOURS).index(spec.colour),
            list(PALETTES).index(spec.palette), list(LAYOUTS).index(spec.layout))


def is_held_out(spec: AdSpec) -> bool:
    """A fixed diagonal through the combination grid: every shape, colour, palette and layout
    stays in training, only some of their combinations do not (compositional generalisation)."""
    s, c, p, lay = _index(spec)
    return (s + c + 2 * p + 3 * lay) % HELD_OUT_EVERY == 0


HELD_OUT_SPECS: tuple[AdSpec, ...] = tuple(s for s in ALL_SPECS if is_held_out(s))
TRAIN_SPECS: tuple[AdSpec, ...] = tuple(s for s in ALL_SPECS if not is_held_out(s))


def random_train_specs(n: int, rng: np.random.Generator) -> list[AdSpec]:
    return [TRAIN_SPECS[int(i)] for i in rng.integers(len(TRAIN_SPECS), size=n)]
