"""Fine-tune the generator on the reward models' feedback (reward-ranked fine-tuning, RAFT),
anchored to the base model by distillation.

Each round samples creatives for random *training* combinations (held-out combinations never
reach RL either), scores the served images with the reward ensemble, keeps those it accepts
and fits the flow-matching loss on the latents that produced them, weighted by the
*minimum-gated* reward: every aspect must clear its threshold to be kept at all, and the weight
is the smallest per-aspect P(right), so the hardest aspect sets the pace (a weighted sum lets it
stall while the easy ones improve). A second term distils the frozen base model's velocity on
the same inputs, so the policy stays near the base.

What is fitted is the *guided* velocity, the one that drew the samples: fitting the conditional
velocity to samples drawn with guidance and then guiding again at serving compounds the
guidance each round (the first run lost 30 points of usable rate in six rounds this way).

Only the learned rewards steer the updates. The pixel oracle's verdict on each round's samples
is logged beside the ensemble's, so reward hacking (accept rate up, oracle down) shows in
``rl.json``; and it plays the human reviewer who picks the checkpoint: after every round it
judges the policy on every training combination from one fixed seed (``SELECT_SEED``, paired
across rounds), and the round it finds most usable is kept (round 0 is the base model, so
feedback that only hurts keeps the base). No evaluation uses that seed; the serving gate then
judges the kept policy on a fresh one.
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

from aislestream.core.adspec import ASPECTS
from aislestream.models.ads.conditioning import TRAIN_SPECS, random_train_specs, spec_tokens
from aislestream.models.ads.flow import cond_and_uncond, noised
from aislestream.models.ads.generator import AdCreativePipeline, velocity
from aislestream.models.ads.oracle import judge_all, rates
from aislestream.models.ads.presets import FeedbackConfig
from aislestream.models.ads.reward_models import RewardEnsemble

ROUND_SEED = 9_001  # rounds sample from seeds [ROUND_SEED + config.seed * 1000 + round]
GATE_SEED = 8_001  # the serving gate's fresh seed
SELECT_SEED = 8_501  # checkpoint selection: every training combination, this seed, each round


def serving_gate(policy: AdCreativePipeline, base: AdCreativePipeline, steps: int,
                 reps: int = 1) -> dict:
    """Does the fine-tuned generator beat the base one? The oracle judges both on every
    combination ``reps`` times from one fresh seed; the worker serves the RL generator by
    default only when it is strictly better (a model that loses to its baseline is not the
    served default). This reads the oracle after training; it never steers it."""
    from aislestream.core.adspec import ALL_SPECS

    specs = list(ALL_SPECS) * reps
    usable = {name: _usable_rate(p, specs, steps, GATE_SEED)
              for name, p in (("base", base), ("rl", policy))}
    return {"n": len(specs), "seed": GATE_SEED, "base_usable": usable["base"],
            "rl_usable": usable["rl"], "serve_rl": usable["rl"] > usable["base"]}


def _usable_rate(pipeline: AdCreativePipeline, specs: list, steps: int, seed: int) -> float:
    """The oracle's usable rate of the served creatives for ``specs`` from ``seed``."""
    return rates(judge_all(pipeline.generate(specs, steps, seed=seed), specs))["usable"]


def _selection_usable(pipeline: AdCreativePipeline, steps: int) -> float:
    """The oracle's usable rate on every training combination from one fixed seed: the same
    requests and noise every round, so rounds compare paired, not through fresh draws."""
    return _usable_rate(pipeline, list(TRAIN_SPECS), steps, SELECT_SEED)


def min_gated_reward(ensemble: RewardEnsemble, scores: dict[str, np.ndarray]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(accepted, weight): accepted when every aspect clears its threshold; weight the smallest
    per-aspect P(right), zero where not accepted."""
    accepted = ensemble.usable(scores)
    weight = np.min([scores[a] for a in ensemble.scorers], axis=0)
    return accepted, np.where(accepted, weight, 0.0)


def feedback_loss(model, base, z: torch.Tensor, tokens: torch.Tensor, base_weight: float,
                  guidance_scale: float = 1.0,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Flow matching of the guided velocity on accepted latents, plus distillation of the base
    model's conditional and unconditional velocities apiece (anchoring only their guided sum
    would leave the two free to drift in ways that cancel at this guidance and show at any
    other)."""
    batch = noised(z, generator)
    cond, uncond = _halves(model, batch.noisy, batch.timesteps, tokens, guidance_scale)
    with torch.no_grad():
        base_cond, base_uncond = _halves(base, batch.noisy, batch.timesteps, tokens,
                                         guidance_scale)
    mse = torch.nn.functional.mse_loss
    fit = mse(cond if uncond is None else uncond + guidance_scale * (cond - uncond),
              batch.target)
    anchor = mse(cond, base_cond) + (0.0 if uncond is None else mse(uncond, base_uncond))
    return fit + base_weight * anchor


def _halves(transformer, x: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor,
            guidance_scale: float) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(conditional, unconditional) velocities as ``flow.guided`` runs them; no unconditional
    pass at guidance 1."""
    def denoise(x_, t_, c_):
        return velocity(transformer, x_, t_, c_)

    if guidance_scale == 1.0:
        return denoise(x, t, tokens), None
    return cond_and_uncond(denoise, x, t, tokens)


def _round_record(round_: int, ensemble: RewardEnsemble, scores: dict, accepted: np.ndarray,
                  images: np.ndarray, specs: list) -> dict:
    oracle = rates(judge_all(images, specs))
    return {"round": round_, "samples": len(specs), "accept_rate": float(accepted.mean()),
            "mean_p_right": {a: float(scores[a].mean()) for a in ensemble.scorers},
            "oracle_usable": oracle["usable"],
            "oracle_ok": {a: oracle[f"{a}_ok"] for a in ASPECTS}}


def finetune_on_feedback(pipeline: AdCreativePipeline, ensemble: RewardEnsemble,
                         config: FeedbackConfig, out: Path,
                         progress: Callable[[int, dict], None] | None = None
                         ) -> AdCreativePipeline:
    rng = np.random.default_rng(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model = pipeline.transformer
    base = copy.deepcopy(model).eval().requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr)
    w = pipeline.config.guidance_scale
    history, started, best = [], time.time(), (-1.0, 0, None)
    for round_ in range(config.rounds + 1):  # the last round only judges the last update
        # 1. sample served creatives for training combinations, score them, judge them
        specs = random_train_specs(config.samples_per_round, rng)
        model.eval()
        z = pipeline.sample_latents(specs, config.inference_steps,
                                    seed=ROUND_SEED + config.seed * 1000 + round_)
        images = pipeline.to_images(z, specs)
        scores = ensemble.score(images, specs)
        accepted, weight = min_gated_reward(ensemble, scores)
        history.append(_round_record(round_, ensemble, scores, accepted, images, specs))
        selection = _selection_usable(pipeline, config.inference_steps)
        history[-1]["selection_usable"] = selection
        if progress is not None:
            progress(round_, history[-1])
        if selection > best[0]:
            best = (selection, round_, copy.deepcopy(model.state_dict()))
        if round_ == config.rounds or accepted.sum() < 2:
            continue
        # 2. fit the accepted latents, weighted by their weakest aspect, near the base model
        keep = np.nonzero(accepted)[0]
        z_kept, tokens = z[keep], spec_tokens([specs[i] for i in keep])
        weights = torch.tensor(weight[keep], dtype=torch.float32)
        model.train()
        for _ in range(config.steps_per_round):
            idx = torch.multinomial(weights, min(config.batch_size, len(keep)), replacement=True,
                                    generator=gen)
            loss = feedback_loss(model, base, z_kept[idx], tokens[idx], config.base_weight, w,
                                 gen)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
    model.load_state_dict(best[2])
    model.eval()
    seconds = round(time.time() - started, 1)
    base_pipeline = AdCreativePipeline(base, pipeline.vae, pipeline.scheduler,
                                       pipeline.config.guidance_scale, pipeline.config.cleanup)
    gate = serving_gate(pipeline, base_pipeline, config.inference_steps)
    pipeline.save_pretrained(out)
    (out / "rl.json").write_text(json.dumps({
        "config": asdict(config), "history": history, "selected_round": best[1],
        "train_seconds": seconds, "gate": gate}, indent=2))
    return pipeline
