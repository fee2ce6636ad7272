"""Fine-tune the generator on the reward models' feedback, kept close to the base model.

Each round samples creatives for random specs, keeps those the reward ensemble accepts
(weighted by its reward), and trains on them with the denoising loss, plus a regulariser that
distils the frozen base model's predictions on the same inputs (RFNet's fine-tuning on
feedback, in the reward-ranked form of RAFT). Only the learned rewards steer it; the pixel
oracle only reports, so it can expose reward hacking.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from aislestream.core.adspec import ALL_SPECS, N_CLASSES
from aislestream.models.ads.generator import (
    AdCreativePipeline,
    noise_scheduler,
    noised,
    to_model_space,
)
from aislestream.models.ads.presets import FeedbackConfig
from aislestream.models.ads.reward_models import RewardEnsemble


def finetune_on_feedback(pipeline: AdCreativePipeline, ensemble: RewardEnsemble,
                         config: FeedbackConfig, out: Path,
                         progress: Callable[[int, dict], None] | None = None) -> AdCreativePipeline:
    rng = np.random.default_rng(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model = pipeline.transformer
    base = copy.deepcopy(model).eval().requires_grad_(False)
    scheduler = noise_scheduler()
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr)
    history, started = [], time.time()
    for round_ in range(config.rounds):
        specs = [ALL_SPECS[int(i)] for i in rng.integers(N_CLASSES, size=config.samples_per_round)]
        model.eval()
        images = pipeline.generate(specs, config.inference_steps, seed=config.seed * 100 + round_)
        scores = ensemble.score(images, specs)
        accepted = ensemble.usable(scores)
        reward = ensemble.reward(scores)
        record = {"round": round_, "accept_rate": float(accepted.mean()),
                  "mean_reward": float(reward.mean())}
        history.append(record)
        if progress is not None:
            progress(round_, record)
        if accepted.sum() < 2:
            continue
        x0 = to_model_space(images[accepted])
        labels = torch.tensor([s.class_id for s, ok in zip(specs, accepted) if ok])
        weights = torch.tensor(reward[accepted], dtype=torch.float32)
        model.train()
        for _ in range(config.steps_per_round):
            idx = torch.multinomial(weights, min(config.batch_size, len(weights)), replacement=True,
                                    generator=gen)
            batch = noised(scheduler, x0[idx], gen)
            prediction = model(batch.noisy, timestep=batch.timesteps,
                               class_labels=labels[idx]).sample
            with torch.no_grad():
                base_prediction = base(batch.noisy, timestep=batch.timesteps,
                                       class_labels=labels[idx]).sample
            mse = torch.nn.functional.mse_loss
            loss = (mse(prediction, batch.target)
                    + config.base_weight * mse(prediction, base_prediction))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
    model.eval()
    pipeline.save_pretrained(out)
    (out / "rl.json").write_text(json.dumps({"config": asdict(config), "history": history,
                                             "seconds": round(time.time() - started, 1)}, indent=2))
    return pipeline
