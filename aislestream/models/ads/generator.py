"""The creative generator: a diffusers DiT in pixel space, conditioned on the whole spec.

DiT conditions on class labels only, so the class is the spec combination (216 of them);
a text-conditioned transformer would replace this when specs become free-form. Trained from
scratch on rendered creatives with DDPM noise; sampled with DDIM. Saved and loaded as an
ordinary diffusers pipeline (``save_pretrained`` / ``from_pretrained``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler, DDPMScheduler, DiffusionPipeline, DiTTransformer2DModel

from aislestream.models.ads.renderer import render
from aislestream.models.ads.spec import ALL_SPECS, N_CLASSES, SIZE, AdSpec


@dataclass(frozen=True)
class GeneratorPreset:
    name: str
    num_layers: int
    num_heads: int
    head_dim: int
    patch_size: int
    train_steps: int
    batch_size: int
    lr: float
    inference_steps: int


GENERATOR_PRESETS = {
    "micro": GeneratorPreset("micro", 2, 2, 16, 8, 30, 8, 1e-3, 4),
    "tiny": GeneratorPreset("tiny", 6, 4, 32, 4, 4_000, 32, 4e-4, 20),
    "small": GeneratorPreset("small", 12, 6, 64, 2, 40_000, 128, 2e-4, 50),
}


class AdCreativePipeline(DiffusionPipeline):
    """spec class labels -> uint8 images (B, 32, 32, 3)."""

    def __init__(self, transformer: DiTTransformer2DModel, scheduler: DDIMScheduler) -> None:
        super().__init__()
        self.register_modules(transformer=transformer, scheduler=scheduler)

    @torch.no_grad()
    def __call__(self, class_labels: Sequence[int], num_inference_steps: int = 20,
                 generator: torch.Generator | None = None) -> np.ndarray:
        labels = torch.tensor(list(class_labels), dtype=torch.long, device=self.device)
        # 1. start from noise in pixel space ([-1, 1] after training normalisation)
        x = torch.randn((len(labels), 3, SIZE, SIZE), generator=generator, device=self.device)
        # 2. DDIM denoising conditioned on the spec class
        self.scheduler.set_timesteps(num_inference_steps)
        for t in self.scheduler.timesteps:
            eps = self.transformer(x, timestep=t.expand(len(labels)).to(self.device),
                                   class_labels=labels).sample
            x = self.scheduler.step(eps, t, x).prev_sample
        # 3. back to 8-bit RGB
        return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

    def generate(self, specs: Sequence[AdSpec], num_inference_steps: int = 20, seed: int | None = None
                 ) -> np.ndarray:
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return self([s.class_id for s in specs], num_inference_steps, generator)


def build_transformer(preset: GeneratorPreset) -> DiTTransformer2DModel:
    return DiTTransformer2DModel(
        num_attention_heads=preset.num_heads, attention_head_dim=preset.head_dim, in_channels=3,
        num_layers=preset.num_layers, sample_size=SIZE, patch_size=preset.patch_size,
        num_embeds_ada_norm=N_CLASSES,
    )


def noise_scheduler() -> DDPMScheduler:
    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")


def rendered_batch(n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Clean creatives for random specs, as model inputs in [-1, 1] and their class labels."""
    specs = [ALL_SPECS[int(i)] for i in rng.integers(N_CLASSES, size=n)]
    images = np.stack([render(s, rng).image for s in specs])
    return to_model_space(images), torch.tensor([s.class_id for s in specs])


def to_model_space(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().permute(0, 3, 1, 2) / 127.5 - 1.0


def denoising_loss(model: DiTTransformer2DModel, scheduler: DDPMScheduler, x0: torch.Tensor,
                   labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    noise = torch.randn(x0.shape, generator=generator)
    t = torch.randint(0, scheduler.config.num_train_timesteps, (len(x0),), generator=generator)
    noisy = scheduler.add_noise(x0, noise, t)
    return torch.nn.functional.mse_loss(model(noisy, timestep=t, class_labels=labels).sample, noise)


def train_generator(preset: GeneratorPreset, out: Path, seed: int = 0,
                    progress: Callable[[int, int, float], None] | None = None) -> AdCreativePipeline:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_transformer(preset)
    scheduler = noise_scheduler()
    opt = torch.optim.AdamW(model.parameters(), lr=preset.lr, weight_decay=0.0)
    warmup = max(1, preset.train_steps // 20)
    lr_at = lambda step: min(1.0, (step + 1) / warmup) * 0.5 * (1 + np.cos(np.pi * step / preset.train_steps))  # noqa: E731
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    started, losses = time.time(), []
    model.train()
    for step in range(preset.train_steps):
        x0, labels = rendered_batch(preset.batch_size, rng)
        loss = denoising_loss(model, scheduler, x0, labels)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if progress is not None:
            progress(step + 1, preset.train_steps, losses[-1])
    model.eval()
    pipeline = AdCreativePipeline(model, DDIMScheduler.from_config(scheduler.config))
    pipeline.save_pretrained(out)
    (out / "train.json").write_text(json.dumps({
        "preset": asdict(preset), "seconds": round(time.time() - started, 1),
        "final_loss": float(np.mean(losses[-50:])),
        "parameters": sum(p.numel() for p in model.parameters()),
    }, indent=2))
    return pipeline


def load_pipeline(path: Path) -> AdCreativePipeline:
    from aislestream.errors import ConfigError

    if not (path / "model_index.json").exists():
        raise ConfigError(f"no generator at {path}: run `aisle train ads --stage generator`")
    pipeline = AdCreativePipeline.from_pretrained(path)
    pipeline.transformer.eval()
    return pipeline
