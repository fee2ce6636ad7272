"""`aisle bench soak` for half a minute on the real broker: samples taken, every message
answered, the figures computed from the samples."""

import pytest
from rich.console import Console

from aislestream.bench.soak import window_quantile
from aislestream.settings import load_settings


def _buckets(counts: dict[float, float]) -> dict:
    return {("aisle_message_latency_seconds_bucket", (("agent", "a"), ("le", str(le)))): n
            for le, n in counts.items()}


def test_a_window_quantile_is_read_from_the_bucket_deltas():
    before = _buckets({0.01: 90, 0.1: 100, float("inf"): 100})
    after = _buckets({0.01: 90, 0.1: 190, float("inf"): 200})  # this window: 90 slow, 10 slower
    assert window_quantile(before, after, "a", 0.5) == 0.1
    assert window_quantile(before, after, "a", 0.99) == float("inf")
    assert window_quantile(after, after, "a", 0.99) is None  # nothing observed


@pytest.mark.integration
def test_a_short_soak_samples_and_loses_nothing(broker, tmp_path):
    from aislestream.bench.soak import run_soak

    settings = load_settings(data_dir=tmp_path, broker={"bootstrap_servers": broker},
                             world={"n_products": 2_000, "n_users": 50, "n_queries": 200},
                             topics={"partitions": 2})
    out = run_soak(settings, minutes=0.5, rate=40, write=False, console=Console(quiet=True),
                   sample_s=5.0, timeout_s=120, state_ttl_s=20.0)
    assert len(out["samples"]) >= 4
    assert all(s["rss_mb"] > 0 for s in out["samples"])
    assert out["sent"]["search"] > 0 and out["sent"]["assistant"] > 0
    assert out["sent"]["feedback"] > 0
    assert out["nothing_lost"] and out["lost"] == {"search": 0, "assistant": 0, "feedback": 0}
    assert out["target_met"] is False  # half a minute is not the ten the target asks for
    assert out["state_ttl_s"] == {"served": 20.0, "assistant_sessions": 20.0}
