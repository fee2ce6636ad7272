"""`aisle bench stream` end to end on the real broker with a small backlog (the figures are for
docs/BENCHMARKS.md; here only that every row is measured and the ratios are the rows')."""

import pytest
from rich.console import Console

from aislestream.bench.stream import package_shares, run_stream_bench
from aislestream.settings import load_settings


def test_a_profile_is_split_by_the_package_of_the_innermost_frame():
    raw = "\n".join([  # py-spy names modules by their import path
        "run (faust/agents/agent.py:10);_send (aiokafka/producer/producer.py:3) 30",
        "process (aislestream/streams/pipeline.py:170);dumps (json/encoder.py:200) 10",
        "loop (asyncio/base_events.py:1);select (selectors.py:468) 50",
        "search (aislestream/connectors/search/tantivy_store.py:90) 5",
        "main (/abs/site-packages/faust/app/base.py:3) 5",
        "garbage line"])
    shares = package_shares(raw)
    assert shares == {"idle": 0.5, "aiokafka": 0.3, "json": 0.1,
                      "aislestream.connectors": 0.05, "faust": 0.05}
    assert list(shares) == sorted(shares, key=lambda k: -shares[k])


@pytest.mark.integration
def test_every_row_is_measured_on_one_backlog(broker, tmp_path):
    settings = load_settings(data_dir=tmp_path, broker={"bootstrap_servers": broker},
                             world={"n_products": 2_000, "n_users": 50, "n_queries": 200},
                             topics={"partitions": 4})
    out = run_stream_bench(settings, 300, write=False, console=Console(quiet=True),
                           timeout_s=180, with_channels=False)
    for key in ("retrieval_only_msgs_per_s", "pipeline_in_process_msgs_per_s",
                "identity_msgs_per_s", "identity_2_workers_msgs_per_s", "prf_msgs_per_s",
                "raw_msgs_per_s", "faust_noop_msgs_per_s"):
        assert out[key] > 0, key
    assert out["ratio_identity_to_retrieval"] == pytest.approx(
        out["identity_msgs_per_s"] / out["retrieval_only_msgs_per_s"], rel=1e-2)
    assert out["scale_2_workers"] == pytest.approx(
        out["identity_2_workers_msgs_per_s"] / out["identity_msgs_per_s"], rel=1e-2)
    assert out["identity_p99_ms"] >= out["identity_p50_ms"] > 0
    split = out["identity_time_split"]
    assert sum(split.values()) == pytest.approx(1.0, abs=0.01)
    # no LLM was trained in this data dir: the row says so instead of a figure
    assert out["llm_msgs_per_s"] is None and "aisle train lm" in out["llm_skipped"]


def test_the_plot_draws_every_row_of_the_table(tmp_path):
    from aislestream.bench.stream import plot

    rows = [["(a) retrieval only", "3,930", "1.000", "", "", "", ""],
            ["(c) worker, identity", "847", "0.216", "18.65", "62.71", "0.145", "0.430"],
            ["raw aiokafka pass-through (reference)", "42,446", "10.801", "", "", "", ""]]
    out = plot(rows, tmp_path / "plots" / "stream.png")
    assert out.exists() and out.stat().st_size > 10_000
