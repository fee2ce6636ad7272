"""Train and compare the reward models: three specialized scorers vs one monolithic scorer.

Both see the same renders; both are calibrated on the same validation set; the comparison is
defect recall at 95% precision on a held-out test set, overall and per aspect.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from aislestream.core.adspec import ASPECTS
from aislestream.models.ads.presets import RewardTrainConfig
from aislestream.models.ads.reward_models import (
    Batch,
    RewardEnsemble,
    Scorer,
    calibrate,
    make_dataset,
    n_params,
    predict,
    recall_at_precision,
    save_scorer,
    train_scorer,
)

PRECISION = 0.95


def compare(ensemble: RewardEnsemble, monolithic: Scorer,
            test: Batch) -> dict[str, dict[str, float]]:
    """Defect recall at 95% precision: overall, and per aspect (that aspect's defects vs clean)."""
    spec_scores = {a: 1.0 - predict(m, test.images, test.specs)
                   for a, m in ensemble.scorers.items()}
    mono_score = 1.0 - predict(monolithic, test.images, test.specs)
    usable = test.labels["usable"].numpy().astype(bool)
    out = {"overall": {
        "specialized": recall_at_precision(np.max(list(spec_scores.values()), axis=0), ~usable,
                                           PRECISION)[0],
        "monolithic": recall_at_precision(mono_score, ~usable, PRECISION)[0],
    }}
    for aspect in ASPECTS:
        broken = ~test.labels[aspect].numpy().astype(bool)
        keep = broken | usable  # this aspect's defects against clean creatives
        out[aspect] = {
            "specialized": recall_at_precision(spec_scores[aspect][keep], broken[keep],
                                               PRECISION)[0],
            "monolithic": recall_at_precision(mono_score[keep], broken[keep], PRECISION)[0],
        }
    return out


def train_reward_models(config: RewardTrainConfig, out: Path, log=print) -> dict:
    started = time.time()
    train = make_dataset(config.train_images, config.seed)
    val = make_dataset(config.val_images, config.seed + 1)
    test = make_dataset(config.val_images, config.seed + 2)
    scorers = {}
    for aspect in ASPECTS:
        model = Scorer(config.specialized_width)
        train_scorer(model, train, aspect, config.steps, seed=config.seed)
        calibrate(model, val, aspect)
        scorers[aspect] = model
        log(f"{aspect} scorer trained ({n_params(model):,} parameters)")
    reward_thresholds = {}
    for aspect, model in scorers.items():
        broken = ~val.labels[aspect].numpy().astype(bool)
        _, cut = recall_at_precision(1.0 - predict(model, val.images, val.specs), broken, PRECISION)
        # defects are scores >= cut: accept P(right) above 1 - cut (at least 0.001)
        reward_thresholds[aspect] = 1.0 - min(cut, 0.999)
    ensemble = RewardEnsemble(scorers, reward_thresholds)
    monolithic = Scorer(config.monolithic_width)
    train_scorer(monolithic, train, "usable", config.steps, seed=config.seed)
    calibrate(monolithic, val, "usable")
    log(f"monolithic scorer trained ({n_params(monolithic):,} parameters)")
    ensemble.save(out / "specialized")
    (out / "monolithic").mkdir(parents=True, exist_ok=True)
    save_scorer(monolithic, out / "monolithic" / "usable.pt")
    comparison = compare(ensemble, monolithic, test)
    report = {
        "seconds": round(time.time() - started, 1), "config": json.loads(config.to_json()),
        "parameters": {"specialized_total": sum(n_params(m) for m in scorers.values()),
                       "monolithic": n_params(monolithic)},
        "reward_thresholds": reward_thresholds, "recall_at_p95": comparison,
    }
    (out / "reward_report.json").write_text(json.dumps(report, indent=2))
    return report
