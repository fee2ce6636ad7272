"""The latent creative generator: how it is conditioned, how guidance and cleanup behave, which
combinations it may train on, and the saved pipeline."""

import json

import numpy as np
import pytest
import torch

from aislestream.core.adspec import ALL_SPECS, LOGO, PALETTES, AdSpec
from aislestream.evaluation.ads_report import eval_ads
from aislestream.models.ads.cleanup import clean
from aislestream.models.ads.conditioning import (
    HELD_OUT_SPECS,
    SLOTS,
    TRAIN_SPECS,
    is_held_out,
    null_tokens,
    random_train_specs,
    spec_tokens,
)
from aislestream.models.ads.flow import TIMESTEPS, guided, noised
from aislestream.models.ads.generator import build_transformer, load_pipeline, velocity
from aislestream.models.ads.presets import GENERATOR_PRESETS, get_ads_preset
from aislestream.models.ads.renderer import render
from aislestream.models.ads.train_generator import training_batches


def test_generator_saves_as_a_diffusers_pipeline_and_is_deterministic(micro_ads):
    _, root = micro_ads
    pipeline = load_pipeline(root / "generator")
    a = pipeline.generate(ALL_SPECS[:3], 4, seed=1)
    b = pipeline.generate(ALL_SPECS[:3], 4, seed=1)
    assert a.shape == (3, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    train = json.loads((root / "generator" / "train.json").read_text())
    assert train["parameters"] > 0 and train["train_seconds"] > 0
    assert pipeline.config.guidance_scale == GENERATOR_PRESETS["micro"].guidance_scale


def test_learning_curve_reports_raw_cleaned_and_held_out_combinations(micro_ads):
    _, root = micro_ads
    curve = json.loads((root / "generator" / "curve.json").read_text())
    point = curve["points"][-1]
    assert point["step"] == GENERATOR_PRESETS["micro"].train_steps
    for name in ("raw", "cleaned"):
        assert point[f"{name}_heldout_combos"]["n"] == len(HELD_OUT_SPECS)
        assert point[f"{name}_train_combos"]["n"] == len(TRAIN_SPECS)
        assert 0.0 <= point[f"{name}_train_combos"]["usable"] <= 1.0
    assert (root / "generator" / "curve.png").stat().st_size > 0


def test_tokens_name_each_attribute_and_the_null_input_is_one_for_all():
    spec = AdSpec("ball", "red", "dark", "left")
    tokens = spec_tokens([spec, AdSpec("ball", "blue", "dark", "left")])
    assert tokens.shape == (2, len(SLOTS), tokens.shape[-1])
    assert (tokens.sum(-1) == 1).all()  # one-hot rows
    # only the colour token differs between the two requests
    differs = (tokens[0] != tokens[1]).any(-1)
    assert differs.tolist() == [False, True, False, False]
    dropped = spec_tokens([spec, spec], drop=torch.tensor([True, False]))
    assert torch.equal(dropped[0], null_tokens(1)[0]) and torch.equal(dropped[1], tokens[0])


def test_held_out_combinations_cover_every_attribute_and_never_reach_training():
    assert len(HELD_OUT_SPECS) >= 0.1 * len(ALL_SPECS)
    for slot in SLOTS:  # every value is still seen in training, only not in these combinations
        assert {getattr(s, slot) for s in TRAIN_SPECS} == {getattr(s, slot) for s in ALL_SPECS}
    rng = np.random.default_rng(0)
    assert not any(is_held_out(s) for s in random_train_specs(2_000, rng))


def test_training_batches_hold_no_held_out_combination(micro_ads):
    _, root = micro_ads
    latents_of = load_pipeline(root / "generator")
    from aislestream.models.ads.generator import Latents

    batches = training_batches(64, 0, Latents(latents_of.vae), cond_dropout=0.5)
    for _ in range(5):
        z, tokens, specs = next(batches)
        assert z.shape[0] == tokens.shape[0] == 64
        assert not any(is_held_out(s) for s in specs)
        dropped = (tokens == null_tokens(1)).all(-1).all(-1)
        assert 0 < int(dropped.sum()) < 64  # condition dropout drops all four tokens together


def test_guidance_of_one_is_the_conditional_model_alone():
    torch.manual_seed(0)
    model = build_transformer(GENERATOR_PRESETS["micro"], 4, 16).eval()
    x, t = torch.randn(3, 4, 16, 16), torch.tensor([900.0, 500.0, 20.0])
    tokens = spec_tokens(ALL_SPECS[:3])

    def denoise(x, t, c):
        return velocity(model, x, t, c)

    with torch.no_grad():
        assert torch.allclose(guided(denoise, x, t, tokens, 1.0), denoise(x, t, tokens))
        cond, uncond = denoise(x, t, tokens), denoise(x, t, null_tokens(3))
        assert torch.allclose(guided(denoise, x, t, tokens, 3.0), uncond + 3 * (cond - uncond),
                              atol=1e-5)


def test_velocity_target_recovers_the_clean_latent():
    z = torch.randn(8, 4, 16, 16)
    batch = noised(z, torch.Generator().manual_seed(0))
    sigma = (batch.timesteps / TIMESTEPS).view(-1, 1, 1, 1)
    assert torch.allclose(batch.noisy - sigma * batch.target, z, atol=1e-5)
    assert ((batch.timesteps > 0) & (batch.timesteps < 1000)).all()


def test_a_prompt_of_one_colour_cannot_produce_another():
    """Trained for seconds (300 steps) on red and blue boxes (as 16 px RGB "latents", so that no
    autoencoder is needed), the conditioned model's clean estimate from pure noise is red where
    red is asked for and blue where blue is."""
    from aislestream.models.ads.pixels import to_model_space

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    red, blue = AdSpec("box", "red", "light", "center"), AdSpec("box", "blue", "light", "center")

    def small(spec):
        x = torch.nn.functional.avg_pool2d(
            to_model_space(np.stack([render(spec, rng).image for _ in range(16)])), 2)
        return torch.cat([x, torch.zeros(16, 1, 16, 16)], dim=1)

    z = torch.cat([small(red), small(blue)])
    tokens = spec_tokens([red] * 16 + [blue] * 16)
    model = build_transformer(GENERATOR_PRESETS["micro"], 4, 16)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(300):
        batch = noised(z)
        loss = torch.nn.functional.mse_loss(
            velocity(model, batch.noisy, batch.timesteps, tokens), batch.target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    noise = torch.randn(8, 4, 16, 16, generator=torch.Generator().manual_seed(1))
    t = torch.full((8,), 999.0)
    with torch.no_grad():
        for spec in (red, blue):
            x0 = noise - 0.999 * velocity(model, noise, t, spec_tokens([spec] * 8))
            r, b = x0[:, 0, 7:13, 7:9].mean(), x0[:, 2, 7:13, 7:9].mean()  # the product's middle
            assert (r > b) == (spec is red), (spec.colour, float(r), float(b))


def test_cleanup_restores_flat_fills_and_leaves_the_product_alone():
    spec = AdSpec("ball", "red", "dark", "center")
    image = render(spec, np.random.default_rng(3)).image
    hazy = image.astype(np.int16)
    hazy[10:, :4] += 25  # haze on the background
    hazy[16, 16] = (120, 60, 200)  # a product pixel drawn off-colour stays as drawn
    out = clean(np.clip(hazy, 0, 255).astype(np.uint8)[None], [spec])[0]
    assert (out[10:, :4] == PALETTES["dark"]).all()
    assert out[16, 16].tolist() == [120, 60, 200]
    grey = (np.abs(image.astype(int) - LOGO).sum(-1) < 30)
    assert (out[grey] == LOGO).all()


def test_feedback_round_is_recorded_and_eval_reports_oracle_rates(micro_ads, tmp_path,
                                                                   monkeypatch):
    settings, root = micro_ads
    monkeypatch.chdir(tmp_path)  # --write lands in ./docs
    history = json.loads((root / "rl" / "rl.json").read_text())["history"]
    assert len(history) == 2 and 0 <= history[0]["accept_rate"] <= 1  # one update, judged
    assert 0 <= history[0]["oracle_usable"] <= 1  # the oracle reports beside the ensemble
    heard: list[str] = []
    result = eval_ads(settings, get_ads_preset("micro"), write=True, log=heard.append)
    phases = [line.split(":")[0] for line in heard if line.endswith(" s)")]
    assert phases == ["base first try", "base recurrent served", "base recurrent_raw",
                      "rl first try", "rl recurrent served", "rl recurrent_raw"]  # progress
    for key in ("usable_base", "usable_base_raw", "usable_base_recurrent", "mean_attempts_base",
                "usable_rl", "usable_rl_raw",
                "usable_heldout_combos", "usable_rl_recurrent", "mean_attempts_rl",
                "recall_at_p95_specialized", "recall_at_p95_monolithic",
                "recall_at_p95_specialized_served", "recall_at_p95_monolithic_served",
                "train_seconds"):
        assert key in result, key
    assert 0 <= result["usable_base"] <= 1 and result["mean_attempts_rl"] >= 1
    assert set(result["targets"]) >= {"usable_rl", "usable_heldout_combos", "train_seconds"}
    assert result["served_model"] in ("base", "rl") and "selected_round" in result["rl_stage"]
    page = (tmp_path / "docs" / "RESULTS.md").read_text()
    assert "## Ad creatives (preset `micro`)" in page and "Serving gate" in page
    assert (tmp_path / "docs" / "plots" / "ads_contact_sheet.png").stat().st_size > 5_000
    assert json.loads((tmp_path / "docs" / "results" / "ads.json").read_text())["specs"] == \
        result["specs"]


@pytest.mark.parametrize("spec", [ALL_SPECS[0], HELD_OUT_SPECS[0]])
def test_any_combination_can_be_asked_for(micro_ads, spec):
    _, root = micro_ads
    assert load_pipeline(root / "generator").generate([spec], 2, seed=0).shape == (1, 32, 32, 3)
