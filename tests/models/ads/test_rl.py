"""Fine-tuning on feedback: the minimum-gated reward and the loss that pulls the policy toward
the accepted samples."""

import copy

import numpy as np
import torch

from aislestream.core.adspec import ALL_SPECS
from aislestream.models.ads.conditioning import spec_tokens
from aislestream.models.ads.flow import guided, noised
from aislestream.models.ads.generator import build_transformer, velocity
from aislestream.models.ads.presets import GENERATOR_PRESETS
from aislestream.models.ads.reward_models import RewardEnsemble
from aislestream.models.ads.rl import feedback_loss, min_gated_reward


def test_min_gated_reward_is_the_weakest_aspect_and_zero_unless_every_aspect_passes():
    ensemble = RewardEnsemble({a: None for a in ("shape", "placement", "colour")},
                              {"shape": 0.5, "placement": 0.5, "colour": 0.5})
    scores = {"shape": np.array([0.9, 0.9, 0.4]), "placement": np.array([0.8, 0.6, 0.9]),
              "colour": np.array([0.95, 0.99, 0.99])}
    accepted, weight = min_gated_reward(ensemble, scores)
    assert accepted.tolist() == [True, True, False]
    assert np.allclose(weight, [0.8, 0.6, 0.0])  # a weighted sum would rank the third above 0


def test_feedback_loss_moves_the_model_toward_the_accepted_samples():
    """A few steps of the RL loss lower the micro model's flow-matching error on the accepted
    latents it is fitted to (its distance to them), with the base anchor in place."""
    torch.manual_seed(0)
    model = build_transformer(GENERATOR_PRESETS["micro"], 4, 16)
    base = copy.deepcopy(model).eval().requires_grad_(False)
    accepted = torch.randn(16, 4, 16, 16) * 0.5 + 0.3
    tokens = spec_tokens(ALL_SPECS[:16])
    gen = torch.Generator().manual_seed(1)
    probe = [noised(accepted, torch.Generator().manual_seed(k)) for k in range(4)]

    def distance() -> float:
        with torch.no_grad():
            return float(np.mean([torch.nn.functional.mse_loss(
                velocity(model, b.noisy, b.timesteps, tokens), b.target) for b in probe]))

    before = distance()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(40):
        loss = feedback_loss(model, base, accepted, tokens, base_weight=0.5, generator=gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert distance() < 0.9 * before


def test_feedback_loss_fits_the_guided_velocity_that_sampled():
    """With guidance w the loss is the flow error of uncond + w (cond - uncond), the velocity
    the sampler integrates, not of the conditional model alone."""
    torch.manual_seed(0)
    model = build_transformer(GENERATOR_PRESETS["micro"], 4, 16).eval()
    z = torch.randn(4, 4, 16, 16)
    tokens = spec_tokens(ALL_SPECS[:4])
    batch = noised(z, torch.Generator().manual_seed(3))

    def run(x, t, c):
        return velocity(model, x, t, c)

    with torch.no_grad():
        expected = torch.nn.functional.mse_loss(
            guided(run, batch.noisy, batch.timesteps, tokens, 3.0), batch.target)
        loss = feedback_loss(model, model, z, tokens, base_weight=0.0, guidance_scale=3.0,
                             generator=torch.Generator().manual_seed(3))
        conditional = feedback_loss(model, model, z, tokens, base_weight=0.0,
                                    generator=torch.Generator().manual_seed(3))
    assert torch.allclose(loss, expected)
    assert not torch.allclose(loss, conditional)


def test_the_kept_policy_is_the_round_the_oracle_found_most_usable(micro_ads):
    """Round 0 is the base model, so feedback that only hurts leaves the base weights."""
    import json

    from aislestream.models.ads.generator import load_pipeline

    _, root = micro_ads
    record = json.loads((root / "rl" / "rl.json").read_text())
    usable = [r["oracle_usable"] for r in record["history"]]
    assert len(usable) == record["config"]["rounds"] + 1
    assert record["selected_round"] == int(np.argmax(usable))
    if record["selected_round"] == 0:
        rl = load_pipeline(root / "rl").transformer.state_dict()
        base = load_pipeline(root / "generator").transformer.state_dict()
        assert all(torch.equal(rl[k], base[k]) for k in base)
