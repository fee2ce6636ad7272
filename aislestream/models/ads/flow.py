"""Rectified flow for the creative generator: the forward process, the training target and the
sampler, shared by training, feedback tuning, pruning's healing and every serving backend.

``x_sigma = (1 - sigma) x0 + sigma noise``; the network predicts the velocity
``noise - x0`` at timestep ``1000 sigma`` (the convention of diffusers'
``FlowMatchEulerDiscreteScheduler``, which samples). Training draws sigma from a logit-normal
(SD3), which spends the steps on the middle noise levels where layout and shape are decided.
Sampling integrates from noise to image in ``num_inference_steps`` Euler steps; classifier-free
guidance runs the conditional and the unconditional (all-null) tokens in one batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from aislestream.models.ads.conditioning import null_tokens

TIMESTEPS = 1000
# (x, timestep in [0, 1000], tokens) -> velocity
Denoiser = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def sampling_scheduler() -> FlowMatchEulerDiscreteScheduler:
    return FlowMatchEulerDiscreteScheduler(num_train_timesteps=TIMESTEPS, shift=1.0)


@dataclass(frozen=True)
class NoisedBatch:
    noisy: torch.Tensor
    timesteps: torch.Tensor  # 1000 sigma, float
    target: torch.Tensor  # the velocity noise - x0


def noised(x0: torch.Tensor, generator: torch.Generator | None = None) -> NoisedBatch:
    """One forward draw at logit-normal noise levels."""
    noise = torch.randn(x0.shape, generator=generator, device=x0.device)
    sigma = torch.sigmoid(torch.randn(len(x0), generator=generator, device=x0.device))
    s = sigma.view(-1, 1, 1, 1)
    return NoisedBatch((1 - s) * x0 + s * noise, sigma * TIMESTEPS, noise - x0)


def guided(denoise: Denoiser, x: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor,
           guidance_scale: float) -> torch.Tensor:
    """``uncond + w (cond - uncond)``; at w = 1 the conditional model alone (one pass)."""
    if guidance_scale == 1.0:
        return denoise(x, t, tokens)
    cond, uncond = cond_and_uncond(denoise, x, t, tokens)
    return uncond + guidance_scale * (cond - uncond)


def cond_and_uncond(denoise: Denoiser, x: torch.Tensor, t: torch.Tensor,
                    tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The conditional and the unconditional (all-null tokens) velocities, in one batch."""
    both = denoise(torch.cat([x, x]), torch.cat([t, t]),
                   torch.cat([tokens, null_tokens(len(x)).to(tokens)]))
    cond, uncond = both.chunk(2)
    return cond, uncond


def sample(denoise: Denoiser, tokens: torch.Tensor, shape: tuple[int, ...],
           num_inference_steps: int, generator: torch.Generator | None,
           guidance_scale: float = 1.0, device: torch.device | str = "cpu") -> torch.Tensor:
    """Euler from noise to a clean sample, (len(tokens), *shape); the noise is drawn on the CPU,
    so a seed gives the same samples on any device or runtime."""
    scheduler = sampling_scheduler()
    scheduler.set_timesteps(num_inference_steps)
    x = torch.randn((len(tokens), *shape), generator=generator).to(device)
    tokens = tokens.to(device)
    for t in scheduler.timesteps:
        v = guided(denoise, x, t.expand(len(x)).to(device), tokens, guidance_scale)
        x = scheduler.step(v, t, x).prev_sample
    return x
