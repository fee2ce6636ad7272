import numpy as np
import pytest

from aislestream.demo.ab import aa_false_positive_rate
from aislestream.evaluation.experiment_report import analyse, write_report
from aislestream.streams.experiments.schema import parse_experiment

EXP = parse_experiment({"id": "e1", "layer": "search.expansion", "salt": "s", "arms": [
    {"name": "control", "share": 0.5, "params": {"expander": "prf"}},
    {"name": "treatment", "share": 0.5, "params": {"expander": "llm"}}]})


def windows(arm, queries, clicked, converted, revenue, split=2):
    """The same totals spread over ``split`` time windows, as the metrics table keys them."""
    return {f"e1|{arm}|{60 * w}": {"queries": queries / split, "clicked_queries": clicked / split,
                                   "converted_queries": converted / split,
                                   "revenue": revenue / split,
                                   "revenue_sq": revenue * 40 / split, "zero_results": 0,
                                   "latency_ms_sum": queries * 3 / split} for w in range(split)}


def test_report_sums_windows_finds_the_lift_and_checks_the_sample_ratio(tmp_path):
    metrics = {**windows("control", 10_000, 3_000, 1_000, 20_000),
               **windows("treatment", 10_000, 3_400, 1_200, 24_000), "other|x|0": {"queries": 5}}
    r = analyse(EXP, metrics)
    assert (r["arms"]["control"]["queries"] == 10_000
            and r["arms"]["treatment"]["ctr"] == pytest.approx(0.34))
    conv = r["comparisons"]["treatment"]["conversion_rate"]
    assert conv["lift"] == pytest.approx(0.2) and conv["p_value"] < 0.001 and r["srm_ok"]
    lo, hi = r["arms"]["control"]["ctr_ci"]
    assert lo < 0.3 < hi
    md, page = write_report(r, tmp_path)
    assert "treatment" in md.read_text() and page.read_text().startswith("<!doctype html>")
    assert (tmp_path / "e1.png").stat().st_size > 5_000


def test_a_skewed_split_fails_the_sample_ratio_check():
    r = analyse(EXP, {**windows("control", 11_000, 10, 5, 1),
                      **windows("treatment", 9_000, 10, 5, 1)})
    assert not r["srm_ok"] and r["srm_p_value"] < 1e-6


def test_aa_splits_of_identical_traffic_reject_rarely():
    rng = np.random.default_rng(0)
    # 4 queries a user
    results = [{"request_id": f"r{i}", "user_id": f"u{i % 5_000}"} for i in range(20_000)]
    draw = lambda _: {f"r{i}": {"purchases": int(rng.random() < 0.2)} for i in range(20_000)}  # noqa: E731
    aa = aa_false_positive_rate(results, draw, n=40)
    assert aa["experiments"] == 40 and aa["units"] == 5_000 and aa["aa_false_positive_rate"] <= 0.15


def test_with_per_user_sums_the_comparison_is_made_per_user():
    rng = np.random.default_rng(3)
    units = {}
    for arm, p in (("control", 0.2), ("treatment", 0.3)):
        for u in range(500):
            q = int(rng.integers(1, 6))
            units[f"e1|{arm}|u{u}"] = {"queries": q, "converted_queries": int(rng.binomial(q, p)),
                                       "clicked_queries": q, "revenue": 0.0, "zero_results": 0}
    metrics = {**windows("control", 1_500, 1_500, 300, 0),
               **windows("treatment", 1_500, 1_500, 450, 0)}
    r = analyse(EXP, metrics, units=units)
    conv = r["comparisons"]["treatment"]["conversion_rate"]
    assert (r["test_unit"] == "user (delta method)" and conv["p_value"] < 0.001
            and conv["diff"] > 0.05)
