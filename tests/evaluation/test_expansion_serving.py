from aislestream.evaluation.expansion_report import serving_verdict


def _row(delta, lo, hi, recall=0.5):
    return {"ndcg10_delta": delta, "ndcg10_delta_ci95": [lo, hi], "recall50": recall,
            "queries": 100}


def _table(**modes):
    table = {"none": {t: _row(0, 0, 0) for t in ("all", "head", "long_tail")}}
    for name, rows in modes.items():
        table[name.replace("_", " ")] = rows
    return table


def test_the_largest_gain_that_harms_no_type_is_served():
    table = _table(
        **{"sft+rl": {"all": _row(0.07, 0.05, 0.09), "head": _row(0.0, 0, 0),
                      "long_tail": _row(-0.02, -0.03, -0.01)},  # the biggest, but harms
           "sft+rl_fused": {"all": _row(0.03, 0.02, 0.04), "head": _row(0.0, 0, 0),
                            "long_tail": _row(-0.001, -0.004, 0.002)},  # within noise
           "sft+rl_gated": {"all": _row(0.05, 0.03, 0.07), "head": _row(0.0, 0, 0),
                            "long_tail": _row(0.01, 0.0, 0.02, recall=0.497)}})
    verdict = serving_verdict(table)
    assert verdict["serve"] and verdict["method"] == "sft+rl gated"
    assert (verdict["fusion"], verdict["gate"]) == ("mix", True)
    harmed = {c["method"]: c["harmed_types"] for c in verdict["candidates"]}
    assert harmed == {"sft+rl": ["long_tail"], "sft+rl fused": [], "sft+rl gated": []}


def test_nothing_is_served_when_every_mode_harms_or_gains_nothing_for_sure():
    table = _table(**{"sft+rl": {"all": _row(0.01, -0.01, 0.03), "head": _row(0, 0, 0),
                                 "long_tail": _row(0.02, 0.0, 0.04)},  # gain not significant
                      "sft+rl_fused": {"all": _row(0.02, 0.01, 0.03), "head": _row(0, 0, 0),
                                       "long_tail": _row(0.0, 0.0, 0.0, recall=0.4)}})
    verdict = serving_verdict(table)
    assert not verdict["serve"] and "method" not in verdict
    assert verdict["candidates"][1]["harmed_types"] == ["long_tail"]  # recall@50 fell 0.1


def test_the_drift_filtered_stage_is_served_when_it_is_the_best_harmless_mode():
    table = _table(**{"sft+rl_gated": {"all": _row(0.05, 0.03, 0.07), "head": _row(0, 0, 0),
                                       "long_tail": _row(-0.006, -0.01, 0.0)},  # harms
                      "sft+rl_drift_gated": {"all": _row(0.05, 0.03, 0.07),
                                             "head": _row(0, 0, 0),
                                             "long_tail": _row(0.0, 0.0, 0.0)}})
    verdict = serving_verdict(table)
    assert verdict["method"] == "sft+rl drift gated"
    assert (verdict["gate"], verdict["drift_filter"], verdict["model"]) == (True, True, "rl")
    assert [c["drift_filter"] for c in verdict["candidates"]] == [False, True]
