"""The demo's one summary: a row per path with its counts, quality beside its baseline and the
sample size, and latency; the HTML page inlines its plots and the creatives' contact sheet."""

from __future__ import annotations

import numpy as np
from PIL import Image
from rich.console import Console

from aislestream.demo.report import path_figures, path_rows, print_paths, write_report
from aislestream.demo.run import DemoSummary


def _summary(tmp_path, ads: bool = True) -> DemoSummary:
    images = []
    for i, colour in enumerate(((200, 30, 30), (30, 30, 200))):
        path = tmp_path / f"creative-{i}.png"
        Image.fromarray(np.full((32, 32, 3), colour, dtype=np.uint8)).save(path)
        images.append(path)
    row = {"queries": 40, "recall_without": 0.5, "recall_with": 0.6, "ndcg_without": 0.55,
           "ndcg_with": 0.62}
    engine_row = {**row, "ndcg_delta": 0.07, "ndcg_delta_ci95": [0.03, 0.11], "messages": 60,
                  "cached_share": 0.25, "p50_ms": 3.0, "p99_ms": 20.0}
    return DemoSummary(
        messages_in=100, results_out=98, dead_letters=2, dead_letters_by_type={"not_json": 2},
        missing=0, fallbacks=1, throughput_msgs_per_s=50.0, e2e_p50_ms=9.0, e2e_p99_ms=40.0,
        processing_p50_ms=3.0, processing_p99_ms=20.0, engine="llm", k=10,
        retrieval={"head": row, "long_tail": {**row, "ndcg_with": 0.5}},
        retrieval_by_engine={"llm": engine_row,
                             "prf": {**engine_row, "queries": 58,
                                     "ndcg_delta_ci95": [-0.01, 0.02]}},
        ads={"requests": 10, "accepted": 1, "rejected": 7, "dead_letters": 2, "unaccounted": 0,
             "mean_attempts": 2.5, "oracle_usable_of_accepted": 1.0,
             "usable_served_per_request": 0.125, "baseline_first_try_usable": 0.25,
             "usable_diff_ci95": [-0.4, 0.15], "held_out_combination_specs": 1,
             "latency_p50_ms": 80.0, "latency_p99_ms": 300.0, "generator": ["base"],
             "creatives": [{"image_path": str(images[0]), "spec": {"colour": "red",
                            "shape": "box", "layout": "left"}, "status": "accepted",
                            "usable": True, "failing": []},
                           {"image_path": str(images[1]), "spec": {"colour": "blue",
                            "shape": "can", "layout": "right"}, "status": "rejected"}]}
        if ads else {},
        assistant={"engine": "model-sft-mined", "dialogues": 4, "turns": 12, "answered": 12,
                   "slot_f1": 0.8, "conversion": 0.5, "rules_slot_f1": 0.7,
                   "rules_mined_slot_f1": 0.9, "latency_p50_ms": 30.0, "latency_p99_ms": 90.0,
                   "slot_f1_diff_ci95": {"rules": [0.02, 0.18], "rules_mined": [-0.2, -0.01]},
                   "error_replies": ["expired", "invalid_turn"]},
        models={"search": {"preset": "demo", "reused": False, "seconds": {"sft": 10.0}},
                "ads": {"preset": "demo", "reused": True, "seconds": {}}})


def test_every_path_has_a_row_with_its_baseline_and_sample_size(tmp_path):
    rows = {(r.path, r.model): r for r in path_rows(_summary(tmp_path))}
    assert set(rows) == {("search", "llm"), ("search", "prf"), ("ads", "base"),
                         ("assistant", "model-sft-mined")}
    llm = rows["search", "llm"]
    assert "NDCG@10 0.620" in llm.quality and "n=40 distinct held-out" in llm.quality
    assert "60 messages, 25% from the cache" in llm.quality
    assert "no expansion 0.550 (diff +0.030 to +0.110)" in llm.baseline
    assert llm.latency == "3.0 / 20.0 ms"
    ads = rows["ads", "base"]
    assert "0.125 per request" in ads.quality and "n=8" in ads.quality  # 2 of 10 malformed
    assert "first try, no reward model 0.250" in ads.baseline and "7 rejected" in ads.came_out
    chat = rows["assistant", "model-sft-mined"]
    assert "slot F1 0.800" in chat.quality and "n=4 held-out dialogues" in chat.quality
    assert chat.baseline == ("rules 0.700 (diff +0.020 to +0.180), "
                             "rules mined 0.900 (diff -0.200 to -0.010)")
    beats = {(f["path"], f["served"]): f["beats_every_baseline"]
             for f in path_figures(_summary(tmp_path))}
    # beating a baseline needs the whole interval above zero: PRF's and the ads' straddle it
    assert beats == {("search", "llm"): True, ("search", "prf"): False, ("ads", "base"): False,
                     ("assistant", "model-sft-mined"): False}
    summary = _summary(tmp_path)
    summary.ads["baseline_first_try_usable"] = summary.ads["usable_diff_ci95"] = None
    ads_alone = next(f for f in path_figures(summary) if f["path"] == "ads")
    assert ads_alone["beats_every_baseline"] is None  # no baseline: no verdict
    assert rows_of(summary)["ads", "base"].baseline == "n/a"
    console = Console(record=True, width=300)
    print_paths(_summary(tmp_path), console)
    assert "model-sft-mined" in console.export_text()


def rows_of(summary):
    return {(r.path, r.model): r for r in path_rows(summary)}


def test_the_report_is_one_page_with_its_plots_inlined(tmp_path):
    page = write_report(_summary(tmp_path), tmp_path / "out", "2 cores")
    text = page.read_text()
    assert page.name == "report.html" and text.startswith("<!doctype html>")
    assert text.count('src="data:image/png;base64,') == 2  # quality plot, contact sheet
    assert (tmp_path / "out" / "creatives.png").exists()
    assert "rules mined 0.900" in text and "trained" in text and "reused" in text
    assert "long_tail" in text and "2 cores" in text
    no_ads = write_report(_summary(tmp_path, ads=False), tmp_path / "slim", "2 cores")
    assert no_ads.read_text().count("data:image/png") == 1
    assert "<script" not in text  # a static page: nothing runs when it is opened
