"""The creative generator's side of pruning: calibration over specs x noise levels, block
removal from the diffusers latent transformer, and healing by distillation from the unpruned
model."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from diffusers import PixArtTransformer2DModel

from aislestream.models.ads.conditioning import random_train_specs, spec_tokens
from aislestream.models.ads.flow import TIMESTEPS, noised, sampling_scheduler
from aislestream.models.ads.generator import AdCreativePipeline, Latents, velocity
from aislestream.models.ads.renderer import render
from aislestream.models.pruning.capture import profile_blocks
from aislestream.models.pruning.spectral import SpectralProfile


def token_grid(transformer: PixArtTransformer2DModel) -> tuple[int, int]:
    side = transformer.config.sample_size // transformer.config.patch_size
    return side, side


def rendered_latents(latents: Latents, n: int, rng: np.random.Generator
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Latents and tokens of fresh renders of training combinations (pruning never sees the
    held-out ones either)."""
    specs = random_train_specs(n, rng)
    return latents.encode(np.stack([render(s, rng).image for s in specs])), spec_tokens(specs)


def calibration_runs(pipeline: AdCreativePipeline, timesteps: Sequence[float],
                     specs_per_step: int, seed: int = 0) -> Iterator[Callable[[], object]]:
    """Noised render latents at each of ``timesteps`` (the sampler's own schedule)."""
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    latents = Latents(pipeline.vae)
    for t in timesteps:
        z, tokens = rendered_latents(latents, specs_per_step, rng)
        noise = torch.randn(z.shape, generator=gen)
        sigma = float(t) / TIMESTEPS
        noisy = (1 - sigma) * z + sigma * noise
        steps = torch.full((len(z),), float(t))
        yield lambda noisy=noisy, steps=steps, tokens=tokens: velocity(
            pipeline.transformer, noisy, steps, tokens)


def profile_generator(pipeline: AdCreativePipeline, inference_steps: int,
                      specs_per_step: int = 192, seed: int = 0) -> SpectralProfile:
    scheduler = sampling_scheduler()
    scheduler.set_timesteps(inference_steps)
    runs = calibration_runs(pipeline, [float(t) for t in scheduler.timesteps], specs_per_step,
                            seed)
    transformer = pipeline.transformer
    return profile_blocks(transformer.transformer_blocks, runs, grid=token_grid(transformer))


def drop_blocks(transformer: PixArtTransformer2DModel,
                drop: Sequence[int]) -> PixArtTransformer2DModel:
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


def heal_generator(student: AdCreativePipeline, teacher: PixArtTransformer2DModel, steps: int,
                   batch_size: int = 32, lr: float = 1e-4, seed: int = 0,
                   progress: Callable[[int, int, float], None] | None = None
                   ) -> PixArtTransformer2DModel:
    """Distil the unpruned model's velocity (on noised render latents at logit-normal noise
    levels) into the pruned one: the teacher's output is a denser target than the data's own
    noise."""
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    latents = Latents(student.vae)
    model = student.transformer
    teacher = teacher.eval().requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for step in range(steps):
        z, tokens = rendered_latents(latents, batch_size, rng)
        batch = noised(z, gen)
        with torch.no_grad():
            target = velocity(teacher, batch.noisy, batch.timesteps, tokens)
        loss = torch.nn.functional.mse_loss(
            velocity(model, batch.noisy, batch.timesteps, tokens), target)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if progress is not None:
            progress(step + 1, steps, float(loss.detach()))
    return model.eval()
