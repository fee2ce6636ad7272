"""The ads report's targets: a ratio over nothing is not a target met."""

from aislestream.evaluation.ads_report import _targets, _value


def _result(spec, mono):
    return {"recall_at_p95_specialized": spec, "recall_at_p95_monolithic": mono,
            "train_seconds": {"total": 100.0}}


def test_recall_ratio_over_a_monolithic_recall_of_zero_is_undefined_and_missed():
    target = _targets(_result(0.004, 0.0))["specialized_to_monolithic_recall"]
    assert target["value"] is None and not target["met"]
    assert _value(target) == "undefined (specialized 0.004 over monolithic 0.000)"
    met = _targets(_result(0.39, 0.30))["specialized_to_monolithic_recall"]
    assert met["value"] == 1.3 and met["met"]
    assert not _targets(_result(0.3, 0.3))["specialized_to_monolithic_recall"]["met"]
