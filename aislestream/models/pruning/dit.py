"""The creative generator's side of pruning: calibration over specs x timesteps, block
removal from a diffusers DiT, and healing by distillation from the unpruned model."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from diffusers import DiTTransformer2DModel

from aislestream.core.adspec import ALL_SPECS
from aislestream.models.ads.generator import noise_scheduler, rendered_batch
from aislestream.models.pruning.capture import profile_blocks
from aislestream.models.pruning.spectral import SpectralProfile


def token_grid(transformer: DiTTransformer2DModel) -> tuple[int, int]:
    side = transformer.config.sample_size // transformer.config.patch_size
    return side, side


def calibration_runs(transformer: DiTTransformer2DModel, timesteps: Sequence[int],
                     specs_per_step: int, seed: int = 0) -> Iterator[Callable[[], object]]:
    """Noised renders of random specs at each of ``timesteps`` (the sampler's own schedule)."""
    scheduler = noise_scheduler()
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    for t in timesteps:
        x0, labels = rendered_batch(specs_per_step, rng)
        noise = torch.randn(x0.shape, generator=gen)
        steps = torch.full((len(x0),), int(t))
        noisy = scheduler.add_noise(x0, noise, steps)
        yield lambda noisy=noisy, steps=steps, labels=labels: transformer(
            noisy, timestep=steps, class_labels=labels)


def profile_generator(transformer: DiTTransformer2DModel, inference_steps: int,
                      specs_per_step: int = len(ALL_SPECS), seed: int = 0) -> SpectralProfile:
    from diffusers import DDIMScheduler

    ddim = DDIMScheduler.from_config(noise_scheduler().config)
    ddim.set_timesteps(inference_steps)
    runs = calibration_runs(transformer, [int(t) for t in ddim.timesteps], specs_per_step, seed)
    return profile_blocks(transformer.transformer_blocks, runs, grid=token_grid(transformer))


def drop_blocks(transformer: DiTTransformer2DModel, drop: Sequence[int]) -> DiTTransformer2DModel:
    """A copy without the blocks in ``drop``; its config says the new depth, so ``save_pretrained``
    writes an ordinary checkpoint that ``from_pretrained`` loads with no pruning code."""
    depth = len(transformer.transformer_blocks)
    bad = [i for i in drop if not 0 <= i < depth]
    if bad or len(set(drop)) >= depth:
        raise ValueError(f"cannot drop blocks {sorted(drop)} from a {depth}-block transformer")
    pruned = copy.deepcopy(transformer)
    pruned.transformer_blocks = torch.nn.ModuleList(
        b for i, b in enumerate(pruned.transformer_blocks) if i not in set(drop))
    pruned.register_to_config(num_layers=len(pruned.transformer_blocks))
    return pruned


def heal_generator(student: DiTTransformer2DModel, teacher: DiTTransformer2DModel, steps: int,
                   batch_size: int = 32, lr: float = 1e-4, seed: int = 0,
                   progress: Callable[[int, int, float], None] | None = None
                   ) -> DiTTransformer2DModel:
    """Distil the unpruned model's predictions (on noised renders at uniform timesteps) into
    the pruned one: the teacher's output is a denser target than the data's own noise."""
    from aislestream.models.ads.generator import noised

    scheduler = noise_scheduler()
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    teacher = teacher.eval().requires_grad_(False)
    opt = torch.optim.AdamW(student.parameters(), lr=lr)
    student.train()
    for step in range(steps):
        x0, labels = rendered_batch(batch_size, rng)
        batch = noised(scheduler, x0, gen)
        with torch.no_grad():
            target = teacher(batch.noisy, timestep=batch.timesteps, class_labels=labels).sample
        loss = torch.nn.functional.mse_loss(
            student(batch.noisy, timestep=batch.timesteps, class_labels=labels).sample, target)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        if progress is not None:
            progress(step + 1, steps, float(loss.detach()))
    return student.eval()
