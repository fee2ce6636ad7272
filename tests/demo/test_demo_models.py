"""The demo's models: trained once, reused while their preset and data are the same, trained
again when either changes or a stage's output is gone."""

from __future__ import annotations

import json

from rich.console import Console

from aislestream.demo.models import STAMP, DemoModel, demo_models, ensure_models, serve_trained
from aislestream.settings import load_settings


def _model(tmp_path, key: str, calls: list[str]) -> DemoModel:
    def train(on_stage, log):
        calls.append(key)
        for stage in ("a", "b"):
            (tmp_path / stage).mkdir(parents=True, exist_ok=True)
            on_stage(stage, 0.5)

    return DemoModel("search", "a model", "micro", ("a", "b"), tmp_path, key, 60.0, train)


def test_a_model_is_trained_once_then_reused_until_its_key_or_outputs_change(tmp_path):
    console = Console(record=True, width=200)
    calls: list[str] = []
    first = ensure_models([_model(tmp_path, "k1", calls)], console)
    assert calls == ["k1"] and first["search"]["reused"] is False
    assert set(first["search"]["seconds"]) == {"a", "b", "total"}
    shown = console.export_text()
    assert "train (~1 min)" in shown and "about 1 min" in shown
    assert json.loads((tmp_path / STAMP).read_text())["key"] == "k1"

    again = ensure_models([_model(tmp_path, "k1", calls)], console)
    assert calls == ["k1"] and again["search"] == {"preset": "micro", "reused": True,
                                                   "seconds": {}}
    ensure_models([_model(tmp_path, "k2", calls)], console)  # another preset or world
    assert calls == ["k1", "k2"]
    (tmp_path / "b").rmdir()  # a stage's output removed
    ensure_models([_model(tmp_path, "k2", calls)], console)
    assert calls == ["k1", "k2", "k2"]
    (tmp_path / STAMP).write_text("{not json")
    ensure_models([_model(tmp_path, "k2", calls)], console)
    assert calls == ["k1", "k2", "k2", "k2"]


def test_keys_follow_the_preset_and_the_world(tmp_path):
    def keys(**world):
        settings = load_settings(data_dir=tmp_path, world=world)
        return {m.path: m.key for m in demo_models(settings, "micro", "micro", "micro")}

    base = keys()
    assert base == keys() and set(base) == {"search", "ads", "assistant"}
    other_world = keys(seed=8)
    assert other_world["search"] != base["search"]
    assert other_world["assistant"] != base["assistant"]  # it starts from the LLM's stage 1
    assert other_world["ads"] == base["ads"]  # the creatives do not depend on the catalog
    settings = load_settings(data_dir=tmp_path)
    tiny = {m.path: m.key for m in demo_models(settings, "tiny", "micro", "micro")}
    assert tiny["search"] != base["search"] and tiny["ads"] == base["ads"]


def test_serving_points_every_path_at_its_model(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    models = demo_models(settings, "micro", "micro", "micro")
    serve_trained(settings, models, expander_given=False)
    assert settings.expansion.engine == "llm"
    assert settings.expansion.model_path == tmp_path / "lm" / "micro" / "rl"
    assert settings.ads.enabled and settings.ads.preset == "micro"
    assert (settings.assistant.engine, settings.assistant.preset,
            settings.assistant.lexicon) == ("model", "micro", "mined")
    chosen = load_settings(data_dir=tmp_path, expansion={"engine": "prf"})
    serve_trained(chosen, models, expander_given=True)
    assert chosen.expansion.engine == "prf"  # an expander given on the command line stays
