"""Train the creatives' autoencoder on fresh renders of random specs, keeping its learning curve.

    aisle train ads --stage autoencoder --preset tiny

Every step renders a new batch from the training stream (no render is seen twice, none is
held out); every ``eval_every`` steps the EMA weights reconstruct a fixed held-out set and the
oracle judges the reconstructions. Writes under ``out``: the diffusers model
(``config.json`` + weights, latent shift and scale in the config), ``curve.json`` and
``curve.png`` (the learning curve) and ``train.json`` (the final figure on ``eval_images``
held-out renders, ``train_seconds`` without the evaluations).
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

from aislestream.models.ads.autoencoder import (
    build_autoencoder,
    encode,
    reconstruction_loss,
    record_latent_statistics,
)
from aislestream.models.ads.autoencoder_eval import (
    TRAIN_STREAM,
    draw_renders,
    evaluate_reconstructions,
    heldout_set,
    stream_seed,
)
from aislestream.models.ads.learning_curve import RATE_KEYS, oracle_report, write_curve
from aislestream.models.ads.pixels import to_model_space
from aislestream.models.ads.presets import AutoencoderPreset


def training_batches(batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Endless fresh renders from the training stream, in model space."""
    rng = np.random.default_rng(stream_seed(TRAIN_STREAM, seed))
    while True:
        yield to_model_space(draw_renders(batch_size, rng)[0])


def lr_factor(step: int, total: int) -> float:
    """Linear warm-up over 5% of the steps, then cosine to zero."""
    warmup = max(1, total // 20)
    return min(1.0, (step + 1) / warmup) * 0.5 * (1 + np.cos(np.pi * step / total))


def train_autoencoder(preset: AutoencoderPreset, out: Path,
                      log: Callable[[str], None] = lambda _: None,
                      device: str = "cpu") -> AutoencoderKL:
    # 1. model, optimiser, schedule, EMA; the held-out set is fixed for the whole curve
    torch.manual_seed(preset.seed)
    vae = build_autoencoder(preset).to(device)
    opt = torch.optim.AdamW(vae.parameters(), lr=preset.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, preset.train_steps))
    ema = EMAModel(vae.parameters(), decay=preset.ema_decay, use_ema_warmup=True, foreach=True)
    curve_set = heldout_set(preset.curve_images, preset.seed)
    batches = training_batches(preset.batch_size, preset.seed)
    points: list[dict] = []
    train_seconds, losses = 0.0, []

    def curve_point(step: int) -> None:
        ema.store(vae.parameters())
        ema.copy_to(vae.parameters())
        report = evaluate_reconstructions(vae, curve_set)
        ema.restore(vae.parameters())
        points.append({"step": step, "train_seconds": round(train_seconds, 1),
                       "loss": float(np.mean(losses[-preset.eval_every:])),
                       **{k: v for k, v in report.items() if k != "examples"}})
        write_curve(points, out, "oracle acceptance of reconstructions (held-out renders, "
                    f"n = {report['n']} per point)",
                    [(k, lambda p, k=k: p[k]) for k in RATE_KEYS], target=0.995)
        log(f"autoencoder step {step}/{preset.train_steps} loss {points[-1]['loss']:.4f} "
            f"usable {report['usable']:.3f} (n={report['n']}) shape {report['shape_ok']:.3f} "
            f"placement {report['placement_ok']:.3f} colour {report['colour_ok']:.3f}")

    # 2. train on fresh renders, a learning-curve point every eval_every steps
    vae.train()
    for step in tqdm(range(1, preset.train_steps + 1), desc="autoencoder", disable=None):
        started = time.time()
        x = next(batches).to(device)
        loss = reconstruction_loss(vae, x, preset)
        opt.zero_grad()
        loss.total.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        sched.step()
        ema.step(vae.parameters())
        losses.append(float(loss.total.detach()))
        train_seconds += time.time() - started
        if step % preset.eval_every == 0 or step == preset.train_steps:
            curve_point(step)

    # 3. keep the EMA weights, record the latent statistics, judge the final model on a larger
    #    held-out set, save
    ema.copy_to(vae.parameters())
    vae.eval().to("cpu")
    statistics_set = draw_renders(512, np.random.default_rng(stream_seed(TRAIN_STREAM,
                                                                          preset.seed)))[0]
    shift, scale = record_latent_statistics(vae, statistics_set)
    final_set = heldout_set(preset.eval_images, preset.seed)
    vae.save_pretrained(out)
    (out / "train.json").write_text(json.dumps({
        "preset": asdict(preset), "train_seconds": round(train_seconds, 1),
        "parameters": sum(p.numel() for p in vae.parameters()),
        "latent_shape": list(encode(vae, final_set.images[:1]).shape[1:]),
        "shift_factor": shift, "scaling_factor": scale,
        "train_seed": stream_seed(TRAIN_STREAM, preset.seed),
        "renders": oracle_report(final_set.images, final_set.specs, examples=0),
        "reconstructions": evaluate_reconstructions(vae, final_set),
    }, indent=2))
    return vae
