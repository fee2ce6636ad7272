"""`aisle demo` end to end at the micro presets: the models are trained (then reused), a real
worker on the real broker serves the LLM expander, the ad generator with its reward models and
the model assistant, and the summary, its JSON and the HTML report account for every message."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from aislestream.demo.models import demo_models, ensure_models, serving_overrides
from aislestream.demo.run import held_out_pool, run_demo
from aislestream.models.world import build_world
from aislestream.settings import LLM_DEADLINE_MS, load_settings
from tests.demo.test_demo_models import nested

pytestmark = pytest.mark.integration


def test_the_demo_trains_serves_and_reports_every_path(broker, tmp_path):
    console = Console(record=True, width=240)
    base = dict(data_dir=tmp_path, broker={"bootstrap_servers": broker},
                world={"n_products": 1_500, "n_users": 50, "n_queries": 300},
                stream={"session_timeout_s": 6.0, "commit_interval_s": 0.5},
                metrics={"port": 0})
    models = demo_models(load_settings(**base), "micro", "micro", "micro")
    trained = ensure_models(models, console)
    assert {p: m["reused"] for p, m in trained.items()} == {
        "search": False, "ads": False, "assistant": False}
    serving = nested(serving_overrides(models, None))
    settings = load_settings(**{**base, **serving})

    summary = run_demo(settings, n_queries=60, timeout_s=180, console=console, ad_requests=6,
                       ab=False, dialogues=3, models=trained)

    assert summary.missing == 0 and summary.results_out + summary.dead_letters == 60
    # no experiment: the LLM served every query
    assert set(summary.retrieval_by_engine) == {"llm-torch"}
    llm = summary.retrieval_by_engine["llm-torch"]
    assert llm["messages"] == summary.results_out
    held_out = held_out_pool(settings, build_world(settings.world))
    assert llm["queries"] == min(len(held_out), summary.results_out)  # distinct, scored once
    assert llm["ndcg_delta_ci95"][0] <= llm["ndcg_delta"] <= llm["ndcg_delta_ci95"][1]
    assert settings.expansion.deadline_ms == LLM_DEADLINE_MS
    ads = summary.ads
    assert ads["unaccounted"] == 0 and ads["dead_letters"] == 2
    assert ads["accepted"] + ads["rejected"] == 6 and 0 <= ads["baseline_first_try_usable"] <= 1
    assert ads["generator"] == ["micro/generator"]  # what the baseline ran: the base generator
    chat = summary.assistant
    assert chat["engine"] == "model-sft-mined"  # the model, reading the mined cues' hint
    assert chat["answered"] == chat["turns"]
    assert {"rules_slot_f1", "rules_mined_slot_f1"} <= set(chat)  # both baselines measured
    assert len(chat["error_replies"]) == 3 and "none" not in chat["error_replies"]
    out = tmp_path / "demo"
    assert json.loads((out / "summary.json").read_text())["models"] == trained
    assert "every path" in (out / "report.html").read_text().lower()
    shown = console.export_text()
    assert "aisle demo: every path" in shown and "held-out dialogues" in shown

    again = ensure_models(demo_models(settings, "micro", "micro", "micro"), console)
    assert all(m["reused"] for m in again.values())  # the second run trains nothing
