import json

import numpy as np
import torch

from aislestream.core.adspec import ALL_SPECS
from aislestream.evaluation.ads_report import eval_ads
from aislestream.models.ads.generator import load_pipeline, noise_scheduler, noised, rendered_batch
from aislestream.models.ads.presets import get_ads_preset


def test_generator_saves_as_a_diffusers_pipeline_and_is_deterministic(micro_ads):
    _, root = micro_ads
    pipeline = load_pipeline(root / "generator")
    a = pipeline.generate(ALL_SPECS[:3], 4, seed=1)
    b = pipeline.generate(ALL_SPECS[:3], 4, seed=1)
    assert a.shape == (3, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert json.loads((root / "generator" / "train.json").read_text())["parameters"] > 0


def test_feedback_round_is_recorded_and_eval_reports_oracle_rates(micro_ads):
    settings, root = micro_ads
    history = json.loads((root / "rl" / "rl.json").read_text())["history"]
    assert len(history) == 1 and 0 <= history[0]["accept_rate"] <= 1
    result = eval_ads(settings, get_ads_preset("micro"), write=False, log=lambda _: None)
    for key in ("usable_base", "usable_recurrent", "mean_attempts", "usable_rl",
                "recall_at_p95_specialized", "recall_at_p95_monolithic"):
        assert key in result
    assert 0 <= result["usable_base"] <= 1 and result["mean_attempts"] >= 1


def test_velocity_target_recovers_the_clean_image():
    """v-prediction: x0 = sqrt(a) x_t - sqrt(1 - a) v, so a perfect prediction gives the render
    back."""
    scheduler = noise_scheduler()
    x0, _ = rendered_batch(8, np.random.default_rng(0))
    batch = noised(scheduler, x0, torch.Generator().manual_seed(0))
    alpha = scheduler.alphas_cumprod[batch.timesteps].view(-1, 1, 1, 1)
    recovered = alpha.sqrt() * batch.noisy - (1 - alpha).sqrt() * batch.target
    assert torch.allclose(recovered, x0, atol=1e-4)
    assert not torch.allclose(batch.target, batch.noisy)
