"""Train and compare the reward models: three specialized scorers vs one monolithic scorer.

Both see the same data: renders with programmatic defects and, when a generator is given, the
generator's own creatives labelled per aspect by the oracle, from seeds no evaluation uses
(``GENERATED_SEED``), sampled under several regimes (``presets.REWARD_DATA_REGIMES``: the
served settings and weaker ones that make the same model's mistakes more often). Both are
calibrated and thresholded on the same validation set of both kinds; the comparison is defect
recall at 95% precision on held-out test sets: on generated creatives of every regime, on the
served regime's alone (what the scorers judge in service) and on renders, apart.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aislestream.core.adspec import ALL_SPECS, ASPECTS
from aislestream.errors import ConfigError
from aislestream.models.ads.generator import AdCreativePipeline
from aislestream.models.ads.presets import SERVED, RewardTrainConfig, SamplingRegime
from aislestream.models.ads.reward_models import (
    Batch,
    RewardEnsemble,
    Scorer,
    calibrate,
    concat,
    labelled,
    make_dataset,
    n_params,
    predict,
    recall_at_precision,
    save_scorer,
    take,
    train_scorer,
)

PRECISION = 0.95
GENERATED_SEED = 50_001  # generated reward data: seeds GENERATED_SEED + 100 * part + chunk


def generated_dataset(generator: AdCreativePipeline, n: int, part: int, steps: int,
                      regimes: Sequence[SamplingRegime] = (SERVED,), chunk: int = 125
                      ) -> tuple[Batch, np.ndarray]:
    """``n`` creatives of random specs (every combination may occur: the scorers never train
    the generator), labelled by the oracle, and the index of the regime each was sampled
    under (chunk ``k`` uses ``regimes[k % len(regimes)]``; a regime never takes more steps
    than the served ``steps``)."""
    if -(-n // chunk) >= 100:
        raise ConfigError(f"{n} generated images in chunks of {chunk} would reach the next "
                          "split's seeds (at most 99 chunks a split): raise generated_chunk")
    rng = np.random.default_rng([GENERATED_SEED, part])
    specs = [ALL_SPECS[int(i)] for i in rng.integers(len(ALL_SPECS), size=n)]
    images, regime_of = [], np.zeros(n, dtype=int)
    for k, start in enumerate(range(0, n, chunk)):
        r = k % len(regimes)
        regime = regimes[r]
        images.append(generator.generate(specs[start:start + chunk],
                                         min(regime.steps or steps, steps),
                                         seed=GENERATED_SEED + 100 * part + k,
                                         guidance_scale=regime.guidance_scale,
                                         cleanup=regime.cleanup))
        regime_of[start:start + chunk] = r
    return labelled(np.concatenate(images), specs), regime_of


def defect_counts(data: Batch) -> dict[str, int]:
    return {"n": len(data.images),
            **{f"{a}_defects": int((data.labels[a] == 0).sum()) for a in ASPECTS},
            "unusable": int((data.labels["usable"] == 0).sum())}


def at_thresholds(ensemble: RewardEnsemble, test: Batch) -> dict[str, float | int | None]:
    """What the served decision does: the ensemble's rejections at its deployed reward
    thresholds (chosen on validation data), against the oracle's defects."""
    rejected = ~ensemble.usable(ensemble.score_tensors(test.images, test.specs))
    defect = ~test.labels["usable"].numpy().astype(bool)
    caught = int((rejected & defect).sum())
    return {"n": len(defect), "defects": int(defect.sum()), "rejected": int(rejected.sum()),
            "caught": caught,
            "precision": caught / int(rejected.sum()) if rejected.any() else None,
            "recall": caught / int(defect.sum()) if defect.any() else None}


def compare(ensemble: RewardEnsemble, monolithic: Scorer,
            test: Batch) -> dict[str, dict[str, float | None]]:
    """Defect recall at 95% precision: overall, and per aspect (that aspect's defects vs clean);
    None where the test set holds no defect of that kind (no recall to measure)."""
    spec_scores = {a: 1.0 - predict(m, test.images, test.specs)
                   for a, m in ensemble.scorers.items()}
    mono_score = 1.0 - predict(monolithic, test.images, test.specs)
    usable = test.labels["usable"].numpy().astype(bool)
    if usable.all():
        return {k: {"specialized": None, "monolithic": None} for k in ("overall", *ASPECTS)}
    out = {"overall": {
        "specialized": recall_at_precision(np.max(list(spec_scores.values()), axis=0), ~usable,
                                           PRECISION)[0],
        "monolithic": recall_at_precision(mono_score, ~usable, PRECISION)[0],
    }}
    for aspect in ASPECTS:
        broken = ~test.labels[aspect].numpy().astype(bool)
        keep = broken | usable  # this aspect's defects against clean creatives
        if not broken.any():
            out[aspect] = {"specialized": None, "monolithic": None}
            continue
        out[aspect] = {
            "specialized": recall_at_precision(spec_scores[aspect][keep], broken[keep],
                                               PRECISION)[0],
            "monolithic": recall_at_precision(mono_score[keep], broken[keep], PRECISION)[0],
        }
    return out


def train_reward_models(config: RewardTrainConfig, out: Path, log=print,
                        generator: AdCreativePipeline | None = None, steps: int = 20) -> dict:
    """``generator`` (the base model, ``steps`` sampling steps) adds its creatives to every
    split; without one the scorers see renders only (as before the generator was usable)."""
    started = time.time()
    renders = [make_dataset(n, config.seed + k)
               for k, n in enumerate((config.train_images, config.val_images, config.val_images))]
    generated: Sequence[Batch] = ()
    if generator is not None:
        served_regime = _served_index(config)  # before minutes of sampling, not after
        drawn = [generated_dataset(generator, n, part, steps, config.generated_regimes,
                                   config.generated_chunk)
                 for part, n in enumerate((config.generated_train, config.generated_val,
                                           config.generated_test))]
        generated = [batch for batch, _ in drawn]
        served_test = take(generated[2], drawn[2][1] == served_regime)
        log("generated reward data: " + ", ".join(
            f"{name} {defect_counts(b)}" for name, b in zip(("train", "val", "test"), generated)))
    train, val = (concat(r, g) for r, g in zip(renders[:2], generated)) if generated \
        else renders[:2]
    ensemble, monolithic = _fit(config, train, val, log)
    ensemble.save(out / "specialized")
    (out / "monolithic").mkdir(parents=True, exist_ok=True)
    save_scorer(monolithic, out / "monolithic" / "usable.pt")
    report = {
        "seconds": round(time.time() - started, 1), "config": json.loads(config.to_json()),
        "parameters": {"specialized_total": sum(n_params(m) for m in ensemble.scorers.values()),
                       "monolithic": n_params(monolithic)},
        "reward_thresholds": ensemble.reward_thresholds,
        "data": {"renders": [defect_counts(b) for b in renders],
                 "generated": [defect_counts(b) for b in generated]},
        "recall_at_p95_renders": compare(ensemble, monolithic, renders[2]),
    }
    if generated:
        report["recall_at_p95_generated"] = compare(ensemble, monolithic, generated[2])
        report["data"]["generated_test_served"] = defect_counts(served_test)
        report["recall_at_p95_generated_served"] = compare(ensemble, monolithic, served_test)
        report["at_reward_thresholds"] = {"generated": at_thresholds(ensemble, generated[2]),
                                          "generated_served": at_thresholds(ensemble, served_test)}
    (out / "reward_report.json").write_text(json.dumps(report, indent=2))
    return report


def _served_index(config: RewardTrainConfig) -> int:
    served = [k for k, r in enumerate(config.generated_regimes) if r.served]
    if not served:
        raise ConfigError("generated_regimes must include the served regime: the scorers are "
                          "judged on what they will see in service")
    return served[0]


def _fit(config: RewardTrainConfig, train: Batch, val: Batch,
         log) -> tuple[RewardEnsemble, Scorer]:
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
    monolithic = Scorer(config.monolithic_width)
    train_scorer(monolithic, train, "usable", config.steps, seed=config.seed)
    calibrate(monolithic, val, "usable")
    log(f"monolithic scorer trained ({n_params(monolithic):,} parameters)")
    return RewardEnsemble(scorers, reward_thresholds), monolithic
