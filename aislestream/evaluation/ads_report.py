"""`aisle eval ads`: oracle usable rates of the trained generator (first try, recurrent, after
RL), the reward models' defect recall, and the contact sheet, written to docs/results/ads.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from aislestream.evaluation.ads import contact_sheet, evaluate
from aislestream.evaluation.results import write_results
from aislestream.models.ads.generator import load_pipeline
from aislestream.models.ads.presets import AdsPreset
from aislestream.models.ads.reward_models import RewardEnsemble
from aislestream.settings import Settings


def eval_ads(settings: Settings, preset: AdsPreset, write: bool,
             log: Callable[[str], None] = print) -> dict:
    root = settings.artifacts.ads(preset.name)
    base = load_pipeline(root / "generator")
    ensemble = RewardEnsemble.load(root / "reward" / "specialized")
    rl = load_pipeline(root / "rl") if (root / "rl" / "model_index.json").exists() else None
    result = evaluate(base, ensemble, rl, reps=preset.eval_reps,
                      steps=preset.generator.inference_steps, stride=preset.eval_stride)
    samples = result.pop("_samples", None)
    rewards = json.loads((root / "reward" / "reward_report.json").read_text())["recall_at_p95"]
    result["recall_at_p95_specialized"] = rewards["overall"]["specialized"]
    result["recall_at_p95_monolithic"] = rewards["overall"]["monolithic"]
    result["recall_at_p95_by_aspect"] = rewards
    result["targets"] = {
        "usable_rl_first_try": {"value": result.get("usable_rl"), "target": 0.98,
                                "met": (result.get("usable_rl") or 0) >= 0.98},
        "specialized_to_monolithic_recall": {
            "value": round(result["recall_at_p95_specialized"]
                           / max(result["recall_at_p95_monolithic"], 1e-9), 3),
            "target": 1.3,
            "met": result["recall_at_p95_specialized"] >= 1.3 * result["recall_at_p95_monolithic"]},
    }
    for key in ("usable_base", "usable_recurrent", "mean_attempts", "usable_rl",
                "usable_rl_recurrent"):
        if key in result:
            log(f"{key}: {result[key]:.3f}")
    if write:
        sheet = None
        if samples is not None:
            sheet = contact_sheet(*samples, Path("docs/plots/ads_contact_sheet.png"))
        write_results("ads", result, _markdown(result, preset, sheet),
                      f"aisle eval ads --preset {preset.name} --write", page="RESULTS.md")
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
             f"{r['specs']} requests "
             f"(every {'' if preset.eval_stride == 1 else f'{preset.eval_stride}th '}spec "
             f"combination x {preset.eval_reps}), {r['inference_steps']} DDIM "
             "steps. Usable = judged by the pixel oracle, never by the reward models.", "",
             "| generation | oracle usable |", "|---|---|",
             *(f"| {a} | {b} |" for a, b in rows), "",
             "Where the oracle fails first tries (share of requests failing each aspect), and how "
             "often the learned reward models accepted a recurrent-generation candidate: a high "
             "accept rate with a low usable rate means the reward models, trained on renders, are "
             "fooled by generated images (what the independent oracle is there to expose).", "",
             "| aspect | base fails | after RL fails |", "|---|---|---|",
             *(f"| {a} | {r['base_failures_by_aspect'][a]:.1%} | "
               f"{r.get('rl_failures_by_aspect', {}).get(a, float('nan')):.1%} |"
               for a in r["base_failures_by_aspect"]),
             "", "Reward-model accept rate during recurrent generation: "
             f"{r['reward_accept_rate_recurrent']:.1%}.", "",
             "Defect recall at 95% precision on held-out renders (specialized: shape + placement + "
             "colour scorers; monolithic: one scorer of the same total size):", "",
             "| aspect | specialized | monolithic |", "|---|---|---|",
             *(f"| {a} | {v['specialized']:.3f} | {v['monolithic']:.3f} |"
               for a, v in by_aspect.items()), "",
             "| target | value | goal | met |", "|---|---|---|---|",
             *(f"| {k} | {v['value']} | {v['target']} | {'yes' if v['met'] else '**no**'} |"
               for k, v in r["targets"].items())]
    if sheet is not None:
        lines += ["", f"![contact sheet]({sheet.relative_to('docs')})"]
    return "\n".join(lines)
