"""The creative generator: a latent diffusion transformer conditioned on the advertiser's request.

A PixArt-style diffusers transformer (``PixArtTransformer2DModel``: adaLN-single on the
timestep, cross-attention to the request's four attribute tokens, see ``conditioning``)
denoises the 16 x 16 x 4 latents of the project's own autoencoder with rectified flow
(``flow``); the autoencoder's decoder turns latents into 32 px creatives, and one deterministic
cleanup (``cleanup``) restores flat background and text-bar fills. Attribute tokens, not one of
216 class ids, so that held-out combinations of seen attributes can be asked for; all tokens
dropped together in training, so that classifier-free guidance has a real unconditional model.

Saved and loaded as an ordinary diffusers pipeline (``save_pretrained`` / ``from_pretrained``):
transformer, autoencoder, scheduler, and the serving defaults (guidance scale, cleanup) in
``model_index.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from diffusers import (
    AutoencoderKL,
    DiffusionPipeline,
    FlowMatchEulerDiscreteScheduler,
    PixArtTransformer2DModel,
)

from aislestream.core.adspec import AdSpec
from aislestream.models.ads.autoencoder import decode, encode
from aislestream.models.ads.cleanup import clean
from aislestream.models.ads.conditioning import TOKEN_DIM, spec_tokens
from aislestream.models.ads.flow import sample, sampling_scheduler
from aislestream.models.ads.presets import GeneratorPreset

NO_EXTRA_CONDITIONS = {"resolution": None, "aspect_ratio": None}


def velocity(transformer: PixArtTransformer2DModel, x: torch.Tensor, timesteps: torch.Tensor,
             tokens: torch.Tensor) -> torch.Tensor:
    """The one way every caller runs the transformer: (latents, 1000 sigma, tokens) -> v."""
    return transformer(x, encoder_hidden_states=tokens, timestep=timesteps,
                       added_cond_kwargs=NO_EXTRA_CONDITIONS).sample


def build_transformer(preset: GeneratorPreset, latent_channels: int,
                      latent_size: int) -> PixArtTransformer2DModel:
    width = preset.num_heads * preset.head_dim
    return PixArtTransformer2DModel(
        num_attention_heads=preset.num_heads, attention_head_dim=preset.head_dim,
        in_channels=latent_channels, out_channels=latent_channels,
        num_layers=preset.num_layers, cross_attention_dim=width, caption_channels=TOKEN_DIM,
        sample_size=latent_size, patch_size=preset.patch_size, norm_num_groups=32,
        use_additional_conditions=False, num_embeds_ada_norm=1000,
    )


class Latents:
    """The autoencoder's latents, normalised with the shift and scale it recorded."""

    def __init__(self, vae: AutoencoderKL) -> None:
        self.vae = vae
        self.shift = float(vae.config.shift_factor or 0.0)
        self.scale = float(vae.config.scaling_factor)

    def encode(self, images: np.ndarray) -> torch.Tensor:
        return (encode(self.vae, images) - self.shift) * self.scale

    def decode(self, latents: torch.Tensor) -> np.ndarray:
        return decode(self.vae, latents / self.scale + self.shift)


class AdCreativePipeline(DiffusionPipeline):
    """Ad specs -> uint8 creatives (B, 32, 32, 3)."""

    def __init__(self, transformer: PixArtTransformer2DModel, vae: AutoencoderKL,
                 scheduler: FlowMatchEulerDiscreteScheduler, guidance_scale: float = 3.0,
                 cleanup: bool = True) -> None:
        super().__init__()
        self.register_modules(transformer=transformer, vae=vae, scheduler=scheduler)
        self.register_to_config(guidance_scale=guidance_scale, cleanup=cleanup)

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        c = self.transformer.config
        return c.in_channels, c.sample_size, c.sample_size

    @torch.no_grad()
    def generate(self, specs: Sequence[AdSpec], num_inference_steps: int = 20,
                 seed: int | None = None, guidance_scale: float | None = None,
                 cleanup: bool | None = None) -> np.ndarray:
        """``guidance_scale`` and ``cleanup`` default to the saved serving choices."""
        latents = self.sample_latents(specs, num_inference_steps, seed, guidance_scale)
        return self.to_images(latents, specs, cleanup)

    @torch.no_grad()
    def sample_latents(self, specs: Sequence[AdSpec], num_inference_steps: int = 20,
                       seed: int | None = None,
                       guidance_scale: float | None = None) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        w = self.config.guidance_scale if guidance_scale is None else guidance_scale
        return sample(lambda x, t, c: velocity(self.transformer, x, t, c), spec_tokens(specs),
                      self.latent_shape, num_inference_steps, generator, w, self.device)

    def to_images(self, latents: torch.Tensor, specs: Sequence[AdSpec],
                  cleanup: bool | None = None) -> np.ndarray:
        images = Latents(self.vae).decode(latents)
        return clean(images, specs) if (self.config.cleanup if cleanup is None else cleanup) \
            else images


def new_pipeline(transformer: PixArtTransformer2DModel, vae: AutoencoderKL,
                 preset: GeneratorPreset) -> AdCreativePipeline:
    return AdCreativePipeline(transformer, vae, sampling_scheduler(), preset.guidance_scale,
                              cleanup=True)


def load_pipeline(path: Path) -> AdCreativePipeline:
    from aislestream.errors import ConfigError

    if not (path / "model_index.json").exists():
        raise ConfigError(f"no generator at {path}: run `aisle train ads --stage generator`")
    pipeline = AdCreativePipeline.from_pretrained(path)
    pipeline.transformer.eval()
    pipeline.vae.eval()
    return pipeline
