"""Train the latent creative generator on fresh renders of the training combinations, keeping
its learning curve in the oracle's terms.

    aisle train ads --stage generator --preset tiny

Every step renders a new batch of training-combination specs (``conditioning.TRAIN_SPECS``:
the held-out combinations never reach a batch), encodes it with the frozen autoencoder, and
fits the velocity at logit-normal noise levels; the attribute tokens of ``cond_dropout`` of the
examples are all null. Every ``eval_every`` steps the EMA weights sample every combination
``curve_reps`` times from a fixed seed and the oracle judges the samples, raw and cleaned, on
training and held-out combinations apart. Writes under ``out``: the diffusers pipeline,
``curve.json`` / ``curve.png`` and ``train.json`` (``train_seconds`` without the evaluations).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm

from aislestream.core.adspec import ALL_SPECS, AdSpec
from aislestream.models.ads.conditioning import is_held_out, random_train_specs, spec_tokens
from aislestream.models.ads.flow import noised
from aislestream.models.ads.generator import (
    AdCreativePipeline,
    Latents,
    build_transformer,
    new_pipeline,
    velocity,
)
from aislestream.models.ads.judged import judged_samples
from aislestream.models.ads.learning_curve import verdict_report, write_curve
from aislestream.models.ads.presets import GeneratorPreset
from aislestream.models.ads.renderer import render
from aislestream.models.ads.train_autoencoder import lr_factor

TRAIN_STREAM = 2_001  # np.random.default_rng([TRAIN_STREAM, seed]) draws the training renders
CURVE_SEED = 5_001  # the learning curve's sampling seed (fixed across points)


def training_batches(batch_size: int, seed: int, latents: Latents, cond_dropout: float
                     ) -> Iterator[tuple[torch.Tensor, torch.Tensor, list[AdSpec]]]:
    """Endless (latents, tokens, specs) of fresh renders of training combinations."""
    rng = np.random.default_rng([TRAIN_STREAM, seed])
    while True:
        specs = random_train_specs(batch_size, rng)
        z = latents.encode(np.stack([render(s, rng).image for s in specs]))
        drop = torch.from_numpy(rng.random(batch_size) < cond_dropout)
        yield z, spec_tokens(specs, drop), specs


def judge_samples(pipeline: AdCreativePipeline, specs: list[AdSpec], steps: int, seed: int,
                  guidance_scale: float | None = None) -> dict:
    """Oracle reports of one sample per spec: raw and cleaned, training and held-out
    combinations apart."""
    judged = judged_samples(pipeline, specs, steps, seed, guidance_scale)
    held = np.array([is_held_out(s) for s in specs])
    out = {}
    for name, verdicts in (("raw", judged.raw_verdicts), ("cleaned", judged.served_verdicts)):
        for part, keep in (("train_combos", ~held), ("heldout_combos", held)):
            out[f"{name}_{part}"] = verdict_report(
                [v for v, k in zip(verdicts, keep) if k], [s for s, k in zip(specs, keep) if k],
                examples=3)
    return out


def _curve(points: list[dict], out: Path) -> None:
    n_train = points[-1]["cleaned_train_combos"]["n"]
    n_held = points[-1]["cleaned_heldout_combos"]["n"]
    write_curve(points, out, "generator samples judged by the oracle "
                f"(n = {n_train} training-combination and {n_held} held-out samples per point)",
                [("usable (cleaned)", lambda p: p["cleaned_train_combos"]["usable"]),
                 ("usable (raw)", lambda p: p["raw_train_combos"]["usable"]),
                 ("usable held-out combos (cleaned)",
                  lambda p: p["cleaned_heldout_combos"]["usable"]),
                 *((f"{a} ok (cleaned)", lambda p, a=a: p["cleaned_train_combos"][f"{a}_ok"])
                   for a in ("shape", "placement", "colour"))], target=0.98)


def train_generator(preset: GeneratorPreset, vae: AutoencoderKL, out: Path,
                    log: Callable[[str], None] = lambda _: None,
                    device: str = "cpu") -> AdCreativePipeline:
    # 1. model, optimiser, schedule, EMA, and the frozen autoencoder's latent stream
    torch.manual_seed(preset.seed)
    vae = vae.to(device).eval().requires_grad_(False)
    latents = Latents(vae)
    model = build_transformer(preset, vae.config.latent_channels,
                              vae.config.sample_size // 2 ** (len(vae.config.block_out_channels)
                                                              - 1)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=preset.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, preset.train_steps))
    ema = EMAModel(model.parameters(), decay=preset.ema_decay, use_ema_warmup=True, foreach=True)
    pipeline = new_pipeline(model, vae, preset)
    batches = training_batches(preset.batch_size, preset.seed, latents, preset.cond_dropout)
    curve_specs = list(ALL_SPECS) * preset.curve_reps
    points: list[dict] = []
    train_seconds, losses = 0.0, []

    def curve_point(step: int) -> None:
        ema.store(model.parameters())
        ema.copy_to(model.parameters())
        model.eval()
        report = judge_samples(pipeline, curve_specs, preset.inference_steps, CURVE_SEED)
        model.train()
        ema.restore(model.parameters())
        points.append({"step": step, "train_seconds": round(train_seconds, 1),
                       "loss": float(np.mean(losses[-preset.eval_every:])), **report})
        _curve(points, out)
        c, r = report["cleaned_train_combos"], report["raw_train_combos"]
        log(f"generator step {step}/{preset.train_steps} loss {points[-1]['loss']:.4f} usable "
            f"{c['usable']:.3f} raw {r['usable']:.3f} (n={c['n']}) held-out combos "
            f"{report['cleaned_heldout_combos']['usable']:.3f} "
            f"(n={report['cleaned_heldout_combos']['n']}) shape {c['shape_ok']:.3f} "
            f"placement {c['placement_ok']:.3f} colour {c['colour_ok']:.3f}")

    # 2. fit the velocity on fresh training-combination renders
    model.train()
    for step in tqdm(range(1, preset.train_steps + 1), desc="generator", disable=None):
        started = time.time()
        z, tokens, _ = next(batches)
        batch = noised(z.to(device))
        loss = torch.nn.functional.mse_loss(
            velocity(model, batch.noisy, batch.timesteps, tokens.to(device)), batch.target)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        ema.step(model.parameters())
        losses.append(float(loss.detach()))
        train_seconds += time.time() - started
        if step % preset.eval_every == 0 or step == preset.train_steps:
            curve_point(step)
        elif step % max(1, preset.eval_every // 5) == 0:
            log(f"generator step {step}/{preset.train_steps} loss "
                f"{np.mean(losses[-50:]):.4f} ({train_seconds / step:.2f} s a step)")

    # 3. keep the EMA weights and save the pipeline
    ema.copy_to(model.parameters())
    model.eval().to("cpu")
    pipeline = new_pipeline(model, vae.to("cpu"), preset)
    pipeline.save_pretrained(out)
    (out / "train.json").write_text(json.dumps({
        "preset": asdict(preset), "train_seconds": round(train_seconds, 1),
        "final_loss": float(np.mean(losses[-50:])),
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seed": [TRAIN_STREAM, preset.seed], "final": points[-1],
    }, indent=2))
    return pipeline
