"""The demo's models: trained once, reused while their preset and data are the same, trained
again when either changes or a stage's output is gone."""

from __future__ import annotations

import json

from rich.console import Console

from aislestream.demo.models import (
    STAMP,
    DemoModel,
    demo_models,
    ensure_models,
    serving_overrides,
)
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
    assert calls == ["k1"] and again["search"] == {
        "preset": "micro", "reused": True, "seconds": {},
        "trained_seconds": {"a": 0.5, "b": 0.5,
                            "total": round(first["search"]["seconds"]["total"], 1)}}
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


def nested(flat: dict) -> dict:
    """``section__field`` overrides as load_settings takes them (what the CLI does)."""
    out: dict = {}
    for key, value in flat.items():
        section, _, field = key.partition("__")
        out.setdefault(section, {})[field] = value
    return out


def test_serving_points_every_path_at_its_model(tmp_path):
    from aislestream.engines.expansion.pool import ExpanderPool
    from aislestream.settings import LLM_DEADLINE_MS

    models = demo_models(load_settings(data_dir=tmp_path), "micro", "micro", "micro")
    settings = load_settings(data_dir=tmp_path, **nested(serving_overrides(models, None)))
    e = settings.expansion
    assert (e.engine, e.model_path, e.gate) == ("llm", tmp_path / "lm" / "micro" / "rl", True)
    assert e.deadline_ms == LLM_DEADLINE_MS  # validated with the rest: the LLM's own deadline
    assert settings.ads.enabled and settings.ads.preset == "micro" and not settings.ads.use_rl
    a = settings.assistant
    assert (a.engine, a.preset, a.lexicon, a.model_path) == (
        "model", "micro", "mined", tmp_path / "assistant" / "micro" / "sft")
    pool = ExpanderPool.__new__(ExpanderPool)  # only the variants' settings, no engines built
    pool.settings, pool.data_dir = e, tmp_path
    assert pool.variant_settings("prf").gate is False  # the A/B's control is plain PRF
    assert pool.variant_settings("prf").deadline_ms == 200.0
    llm = pool.variant_settings("llm")
    assert (llm.model_path, llm.gate, llm.deadline_ms) == (e.model_path, True, LLM_DEADLINE_MS)

    chosen = load_settings(data_dir=tmp_path, **nested(
        {"expansion__engine": "prf", **serving_overrides(models, "prf")}))
    assert chosen.expansion.engine == "prf"  # an expander given on the command line stays
    arm = ExpanderPool.__new__(ExpanderPool)
    arm.settings, arm.data_dir = chosen.expansion, tmp_path
    assert arm.variant_settings("llm").model_path == e.model_path  # the arm: the demo's LLM
    only_search = demo_models(load_settings(data_dir=tmp_path), "micro", "micro", "micro",
                              paths=("search",))
    assert [m.path for m in only_search] == ["search"]
    assert set(serving_overrides(only_search, None)) <= {
        f"expansion__{k}" for k in ("engine", "model_path", "gate", "fusion", "drift_filter",
                                    "variants")}


def test_an_interrupted_retrain_is_not_taken_for_a_finished_one(tmp_path):
    calls: list[str] = []
    ensure_models([_model(tmp_path, "k1", calls)], Console(quiet=True))

    def dies(on_stage, log):
        raise KeyboardInterrupt

    broken = DemoModel("search", "a model", "micro", ("a", "b"), tmp_path, "k2", 60.0, dies)
    try:
        ensure_models([broken], Console(quiet=True))
    except KeyboardInterrupt:
        pass
    # both stage directories are there (from k1), but k2 was started over them: not reusable
    assert not _model(tmp_path, "k1", calls).reusable()
