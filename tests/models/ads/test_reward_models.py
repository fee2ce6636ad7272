import json

import numpy as np
import pytest
import torch

from aislestream.core.adspec import ALL_SPECS, ASPECTS
from aislestream.models.ads.presets import get_ads_preset
from aislestream.models.ads.renderer import render
from aislestream.models.ads.reward_models import (
    RewardEnsemble,
    Scorer,
    calibrate,
    make_dataset,
    n_params,
    predict,
    recall_at_precision,
)


def test_dataset_labels_follow_the_defects():
    data = make_dataset(200, seed=3)
    assert (data.images.shape == (200, 3, 32, 32)
            and 0 <= float(data.images.min()) <= float(data.images.max()) <= 1)
    usable = data.labels["usable"].bool()
    assert 0.3 < usable.float().mean() < 0.7
    for aspect in ASPECTS:
        assert torch.all(usable <= data.labels[aspect].bool())  # usable implies every aspect right


def test_recall_at_precision_on_known_scores():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.1])
    defect = np.array([1, 1, 0, 1, 0, 0], dtype=bool)
    recall, threshold = recall_at_precision(scores, defect, precision=0.95)
    assert recall == 2 / 3 and threshold == 0.8
    assert recall_at_precision(scores, defect, precision=0.7)[0] == 1.0
    assert recall_at_precision(np.array([0.9]), np.array([False]))[0] == 0.0


def test_specialized_and_monolithic_are_comparable_in_size():
    assert abs(3 * n_params(Scorer(8)) - n_params(Scorer(22))) / n_params(Scorer(22)) < 0.05


def test_calibration_sets_a_temperature_and_keeps_probabilities_valid():
    data = make_dataset(300, seed=4)
    model = Scorer(4)
    temperature = calibrate(model, data, "colour")
    assert temperature > 0 and float(model.temperature) == temperature
    p = predict(model, data.images, data.specs)
    assert p.shape == (300,) and np.all((p >= 0) & (p <= 1))


def test_trained_reward_models_round_trip_and_score(micro_ads):
    _, root = micro_ads
    ensemble = RewardEnsemble.load(root / "reward" / "specialized")
    assert set(ensemble.scorers) == set(ASPECTS) and set(ensemble.reward_thresholds) == set(ASPECTS)
    rng = np.random.default_rng(0)
    specs = ALL_SPECS[:5]
    scores = ensemble.score(np.stack([render(s, rng).image for s in specs]), specs)
    assert all(v.shape == (5,) for v in scores.values())
    assert ensemble.usable(scores).dtype == bool and ensemble.reward(scores).shape == (5,)
    report = json.loads((root / "reward" / "reward_report.json").read_text())
    for data in ("generated", "generated_served", "renders"):
        assert set(report[f"recall_at_p95_{data}"]) == {"overall", *ASPECTS}
    preset = get_ads_preset("micro").reward
    assert [d["n"] for d in report["data"]["generated"]] == [
        preset.generated_train, preset.generated_val, preset.generated_test]
    # every regime draws a share of the test split; the served one is reported apart
    assert report["data"]["generated_test_served"]["n"] == \
        preset.generated_test // len(preset.generated_regimes)
    assert report["parameters"]["specialized_total"] > 0


def test_generated_reward_data_never_uses_an_evaluation_or_training_seed():
    """Every seed that draws generated reward data lies apart from the seeds of the evaluation,
    the learning curve and the feedback rounds, so no scorer is trained on an image it is later
    judged on, nor on one RL fine-tuned from."""
    from aislestream.evaluation.ads import EVAL_SEED
    from aislestream.models.ads.rl import GATE_SEED, ROUND_SEED
    from aislestream.models.ads.train_generator import CURVE_SEED
    from aislestream.models.ads.train_rewards import GENERATED_SEED

    preset = get_ads_preset("small").reward  # the largest: the most chunks
    chunks = max(preset.generated_train, preset.generated_val,
                 preset.generated_test) // preset.generated_chunk + 1
    assert chunks < 100  # the next split's seeds start 100 further on
    reward_seeds = {GENERATED_SEED + 100 * part + c for part in range(3) for c in range(chunks)}
    evaluation = {EVAL_SEED, *(EVAL_SEED * 1000 + a for a in range(1, 10))}
    feedback = {ROUND_SEED + seed * 1000 + r for seed in range(10) for r in range(100)}
    assert reward_seeds.isdisjoint(evaluation | feedback | {CURVE_SEED, GATE_SEED})


def test_generated_reward_data_cycles_the_regimes_chunk_by_chunk():
    """Each chunk is drawn under its regime, the label rows stay with their images, weaker
    regimes never take more steps than the served ones, and a split too large for its seed
    range is refused."""
    from aislestream.errors import ConfigError
    from aislestream.models.ads.presets import SERVED, SamplingRegime
    from aislestream.models.ads.train_rewards import generated_dataset

    calls = []

    class Stub:
        def generate(self, specs, steps, seed, guidance_scale=None, cleanup=None):
            calls.append((len(specs), steps, seed, guidance_scale, cleanup))
            return np.full((len(specs), 32, 32, 3), len(calls), dtype=np.uint8)

    regimes = (SERVED, SamplingRegime(1.0, 50), SamplingRegime(cleanup=False))
    data, regime_of = generated_dataset(Stub(), 10, part=1, steps=8, regimes=regimes, chunk=3)
    assert [c[0] for c in calls] == [3, 3, 3, 1]
    assert [c[1] for c in calls] == [8, 8, 8, 8]  # 50 capped at the served 8
    assert [(c[3], c[4]) for c in calls] == [(None, None), (1.0, None), (None, False),
                                             (None, None)]
    assert regime_of.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 0]
    fill = (data.images[:, 0, 0, 0] * 255).round().int().tolist()
    assert fill == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4]  # images in draw order, labels beside them
    assert len({c[2] for c in calls}) == 4  # a seed per chunk
    with pytest.raises(ConfigError, match="next split's seeds"):
        generated_dataset(Stub(), 1_000, part=0, steps=8, chunk=10)
