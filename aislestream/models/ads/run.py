"""Presets, artifact paths and the drivers behind `aisle train ads`, `aisle eval ads`, `aisle bench ads`.

    .aisle/ads/<preset>/{generator, reward/{specialized,monolithic}, rl}
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aislestream.errors import ConfigError
from aislestream.models.ads.generator import GENERATOR_PRESETS, GeneratorPreset, load_pipeline, train_generator
from aislestream.models.ads.reward_models import RewardEnsemble, RewardTrainConfig
from aislestream.models.ads.rl import FeedbackConfig, finetune_on_feedback
from aislestream.models.ads.train_rewards import train_reward_models
from aislestream.settings import Settings

STAGES = ("generator", "reward", "rl")


@dataclass(frozen=True)
class AdsPreset:
    name: str
    generator: GeneratorPreset
    reward: RewardTrainConfig
    feedback: FeedbackConfig
    eval_reps: int  # every spec combination this many times
    eval_stride: int = 1  # or every n-th combination, for quick checks


ADS_PRESETS = {
    "micro": AdsPreset("micro", GENERATOR_PRESETS["micro"],
                       RewardTrainConfig(train_images=400, val_images=200, steps=30),
                       FeedbackConfig(rounds=1, samples_per_round=16, steps_per_round=3, batch_size=8,
                                      inference_steps=4), eval_reps=1, eval_stride=9),
    "tiny": AdsPreset("tiny", GENERATOR_PRESETS["tiny"], RewardTrainConfig(), FeedbackConfig(), eval_reps=2),
    "small": AdsPreset("small", GENERATOR_PRESETS["small"], RewardTrainConfig(train_images=50_000, steps=6_000),
                       FeedbackConfig(rounds=20, samples_per_round=1_024), eval_reps=4),
}


def get_ads_preset(name: str) -> AdsPreset:
    if name not in ADS_PRESETS:
        raise ConfigError(f"unknown ads preset {name!r}; choose one of {', '.join(ADS_PRESETS)}")
    return ADS_PRESETS[name]


def ads_dir(settings: Settings, preset: AdsPreset) -> Path:
    return settings.data_dir / "ads" / preset.name


def train_ads(settings: Settings, preset: AdsPreset, stages: Sequence[str],
              log: Callable[[str], None] = print) -> Path:
    root = ads_dir(settings, preset)
    for stage in stages:
        started = time.time()
        if stage == "generator":
            step_every = max(1, preset.generator.train_steps // 10)
            train_generator(preset.generator, root / "generator", progress=lambda s, n, loss: (
                log(f"generator step {s}/{n} loss {loss:.4f}") if s % step_every == 0 else None))
        elif stage == "reward":
            report = train_reward_models(preset.reward, root / "reward", log)
            overall = report["recall_at_p95"]["overall"]
            log(f"defect recall at 95% precision: specialized {overall['specialized']:.3f}, "
                f"monolithic {overall['monolithic']:.3f}")
        elif stage == "rl":
            finetune_on_feedback(load_pipeline(root / "generator"), RewardEnsemble.load(root / "reward" / "specialized"),
                                 preset.feedback, root / "rl",
                                 progress=lambda r, rec: log(f"feedback round {r}: accepted {rec['accept_rate']:.2f}"))
        log(f"{stage} done in {time.time() - started:,.0f}s")
    return root


def eval_ads(settings: Settings, preset: AdsPreset, write: bool, log: Callable[[str], None] = print) -> dict:
    from aislestream.models.ads.evaluate import contact_sheet, evaluate

    root = ads_dir(settings, preset)
    base = load_pipeline(root / "generator")
    ensemble = RewardEnsemble.load(root / "reward" / "specialized")
    rl = load_pipeline(root / "rl") if (root / "rl" / "model_index.json").exists() else None
    result = evaluate(base, ensemble, rl, reps=preset.eval_reps, steps=preset.generator.inference_steps,
                      stride=preset.eval_stride)
    samples = result.pop("_samples", None)
    rewards = json.loads((root / "reward" / "reward_report.json").read_text())["recall_at_p95"]
    result["recall_at_p95_specialized"] = rewards["overall"]["specialized"]
    result["recall_at_p95_monolithic"] = rewards["overall"]["monolithic"]
    result["recall_at_p95_by_aspect"] = rewards
    result["targets"] = {
        "usable_rl_first_try": {"value": result.get("usable_rl"), "target": 0.98,
                                "met": (result.get("usable_rl") or 0) >= 0.98},
        "specialized_to_monolithic_recall": {
            "value": round(result["recall_at_p95_specialized"] / max(result["recall_at_p95_monolithic"], 1e-9), 3),
            "target": 1.3,
            "met": result["recall_at_p95_specialized"] >= 1.3 * result["recall_at_p95_monolithic"]},
    }
    for key in ("usable_base", "usable_recurrent", "mean_attempts", "usable_rl", "usable_rl_recurrent"):
        if key in result:
            log(f"{key}: {result[key]:.3f}")
    if write:
        from aislestream.bench.report import write_results

        sheet = None
        if samples is not None:
            sheet = contact_sheet(*samples, Path("docs/plots/ads_contact_sheet.png"))
        write_results("ads", result, _markdown(result, preset, sheet), f"aisle eval ads --preset {preset.name} --write",
                      page="RESULTS.md")
    return result


def _markdown(r: dict, preset: AdsPreset, sheet: Path | None) -> str:
    def pct(key: str) -> str:
        return f"{r[key]:.1%}" if key in r else "not trained"

    rows = [("base generator, first try", pct("usable_base")),
            (f"recurrent generation (K={r['candidates']}, up to {r['max_attempts']} attempts; "
             f"mean attempts {r['mean_attempts']:.2f})", pct("usable_recurrent")),
            ("after RL, first try (goal 98%)", pct("usable_rl")),
            ("after RL, recurrent", pct("usable_rl_recurrent"))]
    by_aspect = r["recall_at_p95_by_aspect"]
    lines = [f"## Ad creatives (preset `{preset.name}`)", "",
             f"{r['specs']} requests (every {'' if preset.eval_stride == 1 else f'{preset.eval_stride}th '}spec "
             f"combination x {preset.eval_reps}), {r['inference_steps']} DDIM "
             "steps. Usable = judged by the pixel oracle, never by the reward models.", "",
             "| generation | oracle usable |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows), "",
             "Where the oracle fails first tries (share of requests failing each aspect), and how often "
             "the learned reward models accepted a recurrent-generation candidate: a high accept rate "
             "with a low usable rate means the reward models, trained on renders, are fooled by "
             "generated images (what the independent oracle is there to expose).", "",
             "| aspect | base fails | after RL fails |", "|---|---|---|",
             *(f"| {a} | {r['base_failures_by_aspect'][a]:.1%} | "
               f"{r.get('rl_failures_by_aspect', {}).get(a, float('nan')):.1%} |" for a in r["base_failures_by_aspect"]),
             "", f"Reward-model accept rate during recurrent generation: {r['reward_accept_rate_recurrent']:.1%}.", "",
             "Defect recall at 95% precision on held-out renders (specialized: shape + placement + colour "
             "scorers; monolithic: one scorer of the same total size):", "",
             "| aspect | specialized | monolithic |", "|---|---|---|",
             *(f"| {a} | {v['specialized']:.3f} | {v['monolithic']:.3f} |" for a, v in by_aspect.items()), "",
             "| target | value | goal | met |", "|---|---|---|---|",
             *(f"| {k} | {v['value']} | {v['target']} | {'yes' if v['met'] else '**no**'} |"
               for k, v in r["targets"].items())]
    if sheet is not None:
        lines += ["", f"![contact sheet]({sheet.relative_to('docs')})"]
    return "\n".join(lines)
