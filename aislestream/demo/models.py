"""The models `aisle demo` serves: trained on a fresh clone, reused on every later run.

Each is recorded by a stamp (``demo.json`` in its artifacts directory) holding a key: a hash of
its preset, the stages the demo trains and the world it learns from. A model whose stamp holds
the key of the current settings, and whose stage directories exist, is reused; any other is
trained again, over what is there. The up-front estimate is what each training took on the
reference machine (2 cores, no GPU), scaled by nothing: a faster machine finishes sooner.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from aislestream.settings import LLM_DEADLINE_MS, ExpansionSettings, Settings

STAMP = "demo.json"
LM_PRESET = "demo"
ADS_PRESET = "demo"
ASSISTANT_PRESET = "demo"


@dataclass(frozen=True)
class DemoModel:
    """One trained model behind one of the demo's paths."""

    path: str  # the stream path it serves: search, ads, assistant
    title: str
    preset: str
    stages: tuple[str, ...]
    root: Path  # its artifacts directory
    key: str
    estimate_s: float  # training time on the reference machine
    train: Callable[[Callable[[str, float], None], Callable[[str], None]], None]  # on_stage, log

    def recorded(self) -> dict:
        """Its stamp ({} when there is none or it cannot be read)."""
        try:
            stamp = json.loads((self.root / STAMP).read_text())
        except (OSError, ValueError):
            return {}
        return stamp if isinstance(stamp, dict) else {}

    def reusable(self) -> bool:
        return self.recorded().get("key") == self.key and all((self.root / s).is_dir()
                                                              for s in self.stages)

    def stamp(self, seconds: dict[str, float]) -> None:
        (self.root / STAMP).write_text(json.dumps(
            {"key": self.key, "preset": self.preset, "stages": list(self.stages),
             "seconds": {k: round(v, 1) for k, v in seconds.items()},
             "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2))


def _key(*parts: object) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _world(settings: Settings) -> dict:
    """What of the world a model learns from: the synthetic world's seed and profile, or an
    external catalog's content."""
    from aislestream.models.world import fingerprint

    w = settings.world
    data = {"seed": w.seed, "profile": w.profile, "n_users": w.n_users,
            "held_out_fraction": w.held_out_fraction}
    if w.catalog_path is not None:
        data["catalog"] = fingerprint(w.catalog_path, w.labels_path, w.test_labels_path,
                                      extra=w.relevance_scale)
    return data


# Seconds each preset's demo stages took on the reference machine (2 cores, 24 GiB, no GPU);
# what the up-front estimate adds up. micro: the tests' sizes.
ESTIMATES_S: dict[tuple[str, str], float] = {
    ("lm", "demo"): 370.0, ("lm", "tiny"): 820.0, ("lm", "micro"): 10.0,
    ("ads", "demo"): 780.0, ("ads", "micro"): 20.0,
    ("assistant", "demo"): 250.0, ("assistant", "micro"): 20.0,
}


PATHS = ("search", "ads", "assistant")


def demo_models(settings: Settings, lm_preset: str = LM_PRESET, ads_preset: str = ADS_PRESET,
                assistant_preset: str = ASSISTANT_PRESET,
                paths: tuple[str, ...] = PATHS) -> list[DemoModel]:
    """The models of ``paths``: the expansion LLM, the ad generator with its reward models,
    and the assistant, in the order they train (the assistant starts from the LLM's stage 1,
    which it trains itself when the LLM is not wanted)."""
    from aislestream.models.ads import run as ads_run
    from aislestream.models.ads.presets import get_ads_preset
    from aislestream.models.assistant import run as assistant_run
    from aislestream.models.assistant.presets import get_assistant_preset
    from aislestream.models.lm import run as lm_run
    from aislestream.models.lm.presets import get_preset

    lm, ads, chat = get_preset(lm_preset), get_ads_preset(ads_preset), \
        get_assistant_preset(assistant_preset)
    world = _world(settings)
    lm_stages = ("pretrain", "sft", "rl")
    ads_stages = ("autoencoder", "generator", "reward")  # RL did not beat base on tiny: not served
    chat_stages = ("lexicon", "adapt", "sft")  # RL moved held-out slot F1 by -0.001 on tiny
    lm_key = _key("lm", asdict(lm), lm_stages, world)

    def train_lm(on_stage, log):
        lm_run.train(settings, lm, lm_stages, on_stage=on_stage)

    def train_ads(on_stage, log):
        ads_run.train_ads(settings, ads, ads_stages, log=log, on_stage=on_stage)

    def train_chat(on_stage, log):
        assistant_run.train(settings, chat, chat_stages, on_stage=on_stage)

    return [m for m in [
        DemoModel("search", "query-expansion LLM", lm.name, lm_stages,
                  lm_run.lm_dir(settings, lm), lm_key, ESTIMATES_S.get(("lm", lm.name), 0.0),
                  train_lm),
        DemoModel("ads", "ad generator + reward models", ads.name, ads_stages,
                  settings.artifacts.ads(ads.name), _key("ads", asdict(ads), ads_stages),
                  ESTIMATES_S.get(("ads", ads.name), 0.0), train_ads),
        DemoModel("assistant", "shopping assistant", chat.name, chat_stages,
                  settings.artifacts.assistant(chat.name),
                  _key("assistant", asdict(chat), chat_stages, world, lm_key),
                  ESTIMATES_S.get(("assistant", chat.name), 0.0), train_chat),
    ] if m.path in paths]


def ensure_models(models: list[DemoModel], console: Console) -> dict[str, dict]:
    """Print the plan (reuse or train, with the estimate), train what is missing, and return
    per path what was done: {"reused": bool, "seconds": {...}, "preset": ...}."""
    todo = [m for m in models if not m.reusable()]
    plan = Table(title="aisle demo: models", show_header=True)
    for col in ("path", "model", "preset", "stages", "status"):
        plan.add_column(col)
    for m in models:
        plan.add_row(m.path, m.title, m.preset, ", ".join(m.stages),
                     "reuse" if m not in todo else f"train (~{m.estimate_s / 60:.0f} min)"
                     if m.estimate_s else "train (no estimate for this preset)")
    console.print(plan)
    if todo:
        total = sum(m.estimate_s for m in todo)
        console.print(f"[bold]training {len(todo)} model(s): about {total / 60:.0f} min on a "
                      "2-core machine[/]; later runs reuse them (under .aisle/, keyed by preset "
                      "and data)")
    done: dict[str, dict] = {}
    for m in models:
        if m not in todo:  # with what its training took, from the stamp
            done[m.path] = {"preset": m.preset, "reused": True, "seconds": {},
                            "trained_seconds": dict(m.recorded().get("seconds", {}))}
            continue
        seconds: dict[str, float] = {}
        started = time.time()

        def on_stage(stage: str, s: float, m: DemoModel = m) -> None:
            seconds[stage] = s
            console.print(f"[bold]{m.title}[/] {stage} done in {s:,.0f}s")

        console.rule(f"training the {m.title} ({m.preset}; ~{m.estimate_s / 60:.0f} min)")
        (m.root / STAMP).unlink(missing_ok=True)  # an interrupted retrain must not look done
        m.train(on_stage, lambda line: console.print(line, markup=False, highlight=False))
        seconds["total"] = time.time() - started
        m.root.mkdir(parents=True, exist_ok=True)
        m.stamp(seconds)
        console.print(f"[bold]{m.title}[/] trained in {seconds['total']:,.0f}s "
                      f"(estimate {m.estimate_s:,.0f}s)")
        done[m.path] = {"preset": m.preset, "reused": False, "seconds": seconds}
    return done


def serving_overrides(models: list[DemoModel], expander: str | None) -> dict[str, object]:
    """``section__field`` settings that point the demo worker at the models, validated with the
    rest (so the LLM gets its own deadline): the LLM as the default expander unless another was
    chosen, and as the `llm` variant the A/B's arm loads in any case (gated, as `aisle eval
    expansion` found tiny's RL harmless), beside plain PRF for the control arm; the base
    generator and the SFT assistant the demo trained (not an RL stage trained elsewhere), the
    assistant reading the mined cues in its hint. What a worker serves by default is still
    each evaluation's verdict; the summary prints every model beside its baselines."""
    by_path = {m.path: m for m in models}
    out: dict[str, object] = {}
    if "search" in by_path:
        llm = {"engine": "llm", "model_path": str(by_path["search"].root / "rl"), "gate": True,
               "fusion": "mix", "drift_filter": False}
        # a variant starts from the default's settings: each says what it must not inherit
        out["expansion__variants"] = {
            "llm": {**llm, "deadline_ms": LLM_DEADLINE_MS},
            "prf": {"engine": "prf", "gate": False,
                    "deadline_ms": ExpansionSettings.model_fields["deadline_ms"].default}}
        if expander in (None, "llm"):
            out.update({f"expansion__{k}": v for k, v in llm.items()})
    if "ads" in by_path:
        out.update(ads__enabled=True, ads__preset=by_path["ads"].preset, ads__use_rl=False)
    if "assistant" in by_path:
        chat = by_path["assistant"]
        out.update(assistant__engine="model", assistant__preset=chat.preset,
                   assistant__model_path=str(chat.root / "sft"), assistant__lexicon="mined")
    return out
