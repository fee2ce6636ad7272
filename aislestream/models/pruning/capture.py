"""Run a model over a calibration set and feed every block's input and output to
:class:`BlockStats`, through forward hooks, without keeping the hidden states."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import contextmanager

import torch

from aislestream.models.pruning.spectral import BlockStats, SpectralProfile


def _hidden(value: object) -> torch.Tensor:
    return value[0] if isinstance(value, tuple) else value  # type: ignore[return-value]


@contextmanager
def block_hooks(blocks: torch.nn.ModuleList, stats: list[BlockStats], grid: tuple[int, int] | None,
                token_slice: Callable[[torch.Tensor], torch.Tensor] = lambda h: h):
    def hook(index: int):
        def record(module, args, kwargs, output):
            block_in = args[0] if args else kwargs["hidden_states"]
            stats[index].update(token_slice(block_in.detach()),
                                token_slice(_hidden(output).detach()), grid)
        return record

    handles = [block.register_forward_hook(hook(i), with_kwargs=True)
               for i, block in enumerate(blocks)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def profile_blocks(blocks: torch.nn.ModuleList, run_batches: Iterable[Callable[[], object]],
                   grid: tuple[int, int] | None, n_bands: int = 4,
                   token_slice: Callable[[torch.Tensor], torch.Tensor] = lambda h: h
                   ) -> SpectralProfile:
    """``run_batches`` yields thunks that each run the model once on a calibration batch."""
    stats = [BlockStats(n_bands) for _ in blocks]
    with block_hooks(blocks, stats, grid, token_slice):
        for run in run_batches:
            run()
    return SpectralProfile.from_stats(stats)
