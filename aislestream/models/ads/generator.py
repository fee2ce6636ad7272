"""The creative generator: a diffusers DiT in pixel space, conditioned on the whole spec.

DiT conditions on class labels only, so the class is the spec combination (216 of them);
a text-conditioned transformer would replace this when specs become free-form. Trained from
scratch on rendered creatives with DDPM noise; sampled with DDIM. Saved and loaded as an
ordinary diffusers pipeline (``save_pretrained`` / ``from_pretrained``).

The network predicts velocity (v-prediction), not noise: with noise prediction, flat colour
fields at 32 px came out with the wrong mean (an epsilon error at high noise levels is a
colour error in x0), and the usable rate stayed at zero. Sampling uses an exponential moving
average of the weights, which removes most of the speckle a single late step leaves.
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
from diffusers.training_utils import EMAModel

from aislestream.core.adspec import ALL_SPECS, N_CLASSES, SIZE, AdSpec
from aislestream.models.ads.presets import GeneratorPreset
from aislestream.models.ads.renderer import render

# (x, t, labels) -> prediction
Denoiser = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def sample(denoise: Denoiser, scheduler: DDIMScheduler, labels: torch.Tensor,
           num_inference_steps: int, generator: torch.Generator | None,
           device: torch.device | str = "cpu") -> np.ndarray:
    """DDIM from pixel noise to 8-bit RGB; shared by the torch pipeline and ONNX Runtime."""
    # 1. start from noise in pixel space ([-1, 1] after training normalisation), drawn on the
    #    CPU so a seed gives the same images on any device or runtime
    x = torch.randn((len(labels), 3, SIZE, SIZE), generator=generator).to(device)
    # 2. denoise conditioned on the spec class
    scheduler.set_timesteps(num_inference_steps)
    for t in scheduler.timesteps:
        x = scheduler.step(denoise(x, t.expand(len(labels)).to(device), labels), t, x).prev_sample
    # 3. back to 8-bit RGB
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


class AdCreativePipeline(DiffusionPipeline):
    """spec class labels -> uint8 images (B, 32, 32, 3)."""

    def __init__(self, transformer: DiTTransformer2DModel, scheduler: DDIMScheduler) -> None:
        super().__init__()
        self.register_modules(transformer=transformer, scheduler=scheduler)

    @torch.no_grad()
    def __call__(self, class_labels: Sequence[int], num_inference_steps: int = 20,
                 generator: torch.Generator | None = None) -> np.ndarray:
        labels = torch.tensor(list(class_labels), dtype=torch.long, device=self.device)
        return sample(lambda x, t, y: self.transformer(x, timestep=t, class_labels=y).sample,
                      self.scheduler, labels, num_inference_steps, generator, self.device)

    def generate(self, specs: Sequence[AdSpec], num_inference_steps: int = 20,
                 seed: int | None = None) -> np.ndarray:
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return self([s.class_id for s in specs], num_inference_steps, generator)


def build_transformer(preset: GeneratorPreset) -> DiTTransformer2DModel:
    return DiTTransformer2DModel(
        num_attention_heads=preset.num_heads, attention_head_dim=preset.head_dim, in_channels=3,
        num_layers=preset.num_layers, sample_size=SIZE, patch_size=preset.patch_size,
        num_embeds_ada_norm=N_CLASSES,
    )


def noise_scheduler() -> DDPMScheduler:
    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2",
                         prediction_type="v_prediction")


def rendered_batch(n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Clean creatives for random specs, as model inputs in [-1, 1] and their class labels."""
    specs = [ALL_SPECS[int(i)] for i in rng.integers(N_CLASSES, size=n)]
    images = np.stack([render(s, rng).image for s in specs])
    return to_model_space(images), torch.tensor([s.class_id for s in specs])


class RenderedCreatives(torch.utils.data.IterableDataset):
    """An endless stream of rendered training batches; each loader worker renders its own."""

    def __init__(self, batch_size: int, seed: int) -> None:
        self.batch_size, self.seed = batch_size, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        while True:
            yield rendered_batch(self.batch_size, rng)


def to_model_space(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().permute(0, 3, 1, 2) / 127.5 - 1.0


@dataclass(frozen=True)
class NoisedBatch:
    noisy: torch.Tensor
    timesteps: torch.Tensor
    target: torch.Tensor  # what the network must predict, in the scheduler's prediction type


def noised(scheduler: DDPMScheduler, x0: torch.Tensor,
           generator: torch.Generator | None = None) -> NoisedBatch:
    """One forward-diffusion draw at uniform timesteps, shared by training and feedback tuning."""
    noise = torch.randn(x0.shape, generator=generator, device=x0.device)
    t = torch.randint(0, scheduler.config.num_train_timesteps, (len(x0),), generator=generator,
                      device=x0.device)
    noisy = scheduler.add_noise(x0, noise, t)
    kind = scheduler.config.prediction_type
    target = scheduler.get_velocity(x0, noise, t) if kind == "v_prediction" else noise
    return NoisedBatch(noisy, t, target)


def denoising_loss(model: DiTTransformer2DModel, scheduler: DDPMScheduler, x0: torch.Tensor,
                   labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    batch = noised(scheduler, x0, generator)
    prediction = model(batch.noisy, timestep=batch.timesteps, class_labels=labels).sample
    return torch.nn.functional.mse_loss(prediction, batch.target)


def train_generator(preset: GeneratorPreset, out: Path, seed: int = 0,
                    progress: Callable[[int, int, float], None] | None = None,
                    device: str = "cpu", workers: int = 0) -> AdCreativePipeline:
    """``workers`` render batches in loader processes: worth it on a GPU, where rendering on
    the training thread would starve it; on a CPU the renderer and the model share the cores."""
    torch.manual_seed(seed)
    batches = iter(torch.utils.data.DataLoader(RenderedCreatives(preset.batch_size, seed),
                                               batch_size=None, num_workers=workers,
                                               pin_memory=device != "cpu"))
    model = build_transformer(preset).to(device)
    scheduler = noise_scheduler()
    opt = torch.optim.AdamW(model.parameters(), lr=preset.lr, weight_decay=0.0)
    warmup = max(1, preset.train_steps // 20)
    lr_at = lambda step: (min(1.0, (step + 1) / warmup)  # noqa: E731
                          * 0.5 * (1 + np.cos(np.pi * step / preset.train_steps)))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    ema = EMAModel(model.parameters(), decay=preset.ema_decay, use_ema_warmup=True, foreach=True)
    started, losses = time.time(), []
    model.train()
    for step in range(preset.train_steps):
        x0, labels = (t.to(device, non_blocking=True) for t in next(batches))
        loss = denoising_loss(model, scheduler, x0, labels)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        ema.step(model.parameters())
        losses.append(float(loss.detach()))
        if progress is not None:
            progress(step + 1, preset.train_steps, losses[-1])
    ema.copy_to(model.parameters())
    model.eval().to("cpu")
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
