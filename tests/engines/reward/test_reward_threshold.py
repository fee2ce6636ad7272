"""The reward threshold has one meaning: the P(right) every aspect must exceed."""

import json

import numpy as np

from aislestream.core.adspec import ASPECTS
from aislestream.engines.reward import load_reward_model
from aislestream.models.ads.reward_models import THRESHOLDS_FILE, RewardEnsemble, Scorer

SCORES = {"shape": np.array([0.9, 0.7, 0.95]), "placement": np.array([0.9, 0.9, 0.6]),
          "colour": np.array([0.9, 0.9, 0.9])}


def ensemble(reward_thresholds: dict[str, float]) -> RewardEnsemble:
    return RewardEnsemble({a: Scorer(2) for a in ASPECTS}, reward_thresholds)


def test_a_creative_is_accepted_only_when_every_aspect_exceeds_its_threshold():
    reward = ensemble({"shape": 0.7, "placement": 0.5, "colour": 0.8})
    # the second creative's shape sits exactly on its threshold: not above it, so rejected
    assert reward.usable(SCORES).tolist() == [True, False, True]


def test_one_threshold_for_every_aspect_leaves_the_trained_ones_alone():
    trained = ensemble({"shape": 0.5, "placement": 0.5, "colour": 0.5})
    strict = trained.with_reward_threshold(0.85)
    assert strict.reward_thresholds == dict.fromkeys(ASPECTS, 0.85)
    assert strict.usable(SCORES).tolist() == [True, False, False]
    assert trained.usable(SCORES).tolist() == [True, True, True]


def test_thresholds_round_trip_and_the_older_defect_score_file_means_the_same(tmp_path):
    levels = {"shape": 0.75, "placement": 0.5, "colour": 0.875}
    ensemble(levels).save(tmp_path / "new")
    assert json.loads((tmp_path / "new" / THRESHOLDS_FILE).read_text()) == levels
    assert load_reward_model(tmp_path / "new").reward_thresholds == levels
    # reward models trained before the rename saved the largest defect score (1 - P) accepted
    (tmp_path / "new" / THRESHOLDS_FILE).unlink()
    defect_scores = {a: 1 - p for a, p in levels.items()}
    (tmp_path / "new" / "thresholds.json").write_text(json.dumps(defect_scores))
    assert load_reward_model(tmp_path / "new").reward_thresholds == levels
