"""`aisle train lm` and `aisle eval expansion` end to end on the micro preset."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aislestream.cli.main import cli


def _titles_only_catalog(directory):
    """A real-catalog-like fixture: titles only, labels graded 1-4 in a ``grade`` column, and
    every third query misspelled the way shoppers do (two letters swapped)."""
    from aislestream.models.world import World, WorldConfig

    world = World.generate(WorldConfig(seed=9, n_products=800, n_users=5, n_queries=40))
    directory.mkdir()
    catalog, labels = directory / "catalog.jsonl", directory / "labels.csv"
    catalog.write_text("".join(json.dumps({"id": p.id, "title": p.title, "brand": p.brand}) + "\n"
                               for p in world.products))
    rows = ["query,product_id,grade"]
    for i, q in enumerate(world.queries):
        text = q.text
        if i % 3 == 0 and len(text) > 4:
            text = text[:2] + text[3] + text[2] + text[4:]
        rows += [f"{text},{pid},{grade + 1}" for pid, grade in q.relevance.items()]
    labels.write_text("\n".join(rows) + "\n")
    return catalog, labels


def test_train_then_eval_on_a_titles_only_catalog_with_another_label_scale(tmp_path,
                                                                          monkeypatch):
    catalog, labels = _titles_only_catalog(tmp_path / "catalog")
    monkeypatch.chdir(tmp_path)  # --write would land in ./docs
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    options = ["--preset", "micro", "--catalog", str(catalog), "--labels", str(labels),
               "--relevance-scale", "1-4"]
    trained = runner.invoke(cli, [*data, "train", "lm", *options])
    assert trained.exit_code == 0, trained.output
    assert "rl done" in trained.output
    keyed = [d for d in (tmp_path / "data" / "lm").iterdir()]
    assert len(keyed) == 1 and keyed[0].name.startswith("micro-")  # keyed by the catalog
    assert keyed[0].name in trained.output.replace("\n", "")
    out = tmp_path / "report" / "expansion.json"
    evaluated = runner.invoke(cli, [*data, "eval", "expansion", *options, "--out", str(out),
                                    "--write"])
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(out.read_text())
    docs = json.loads((tmp_path / "docs" / "results" / "expansion.json").read_text())
    assert report["methods"] == docs["methods"] and "--catalog" in docs["command"]
    llm = {"pretrain", "sft", "sft+rl", "sft+rl drift"}
    assert set(report["methods"]) == {"none", "rm3", *llm, *(f"{m} {mode}" for m in ["rm3", *llm]
                                                             for mode in ("fused", "gated",
                                                                          "gated fused"))}
    n = report["held_out_queries"]
    assert n > 0 and f"{n} held-out queries, {len(report['methods'])} methods" in evaluated.output
    assert len(report["methods"]) >= 13 and "sft+rl gated fused" in report["methods"]
    assert "sft+rl fused_ndcg10_vs_none_every_type:" in evaluated.output
    for method in report["methods"].values():
        row = method["all"]
        assert row["queries"] == n and {"recall10", "recall50", "recall100",
                                        "recall100_uncapped", "ndcg10", "zero_result_rate",
                                        "drift_rate"} <= set(row)
        assert row["recall100_uncapped"] <= row["recall100"] + 1e-9  # capped divides by less
        lo, hi = row["ndcg10_delta_ci95"]
        assert lo <= row["ndcg10_delta"] <= hi and row["better"] + row["worse"] <= n
        lo, hi = row["recall50_delta_ci95"]
        assert lo <= row["recall50"] - report["methods"]["none"]["all"]["recall50"] <= hi + 1e-4
    assert report["methods"]["none"]["all"]["ndcg10_delta"] == 0  # the baseline against itself
    verdict = report["serving"]  # also beside the model, for engine=auto
    assert verdict["model"] == "rl" and len(verdict["candidates"]) == 8  # 4 modes, drift or not
    drift = report["drift_filter"]
    assert drift["queries"] == n and drift["dropped_terms"] <= drift["terms"]
    assert (Path(report["artifacts"]) / "drift.npz").exists()
    assert "serving verdict" in evaluated.output

    beside = json.loads((Path(report["artifacts"]) / "serving.json").read_text())
    assert beside == verdict
    assert {"sft+rl_ndcg10_vs_none_every_type", "sft+rl fused_ndcg10_vs_none_every_type",
            "sft+rl gated_ndcg10_vs_none_every_type"} <= set(report["targets"])
    assert (tmp_path / "docs" / "plots" / "expansion_by_query_type.png").stat().st_size > 10_000


def test_eval_on_a_catalog_without_labels_refuses_and_says_why(tmp_path):
    catalog, _ = _titles_only_catalog(tmp_path / "catalog")
    out = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "eval", "expansion", "--preset",
                                   "micro", "--catalog", str(catalog)])
    assert out.exit_code == 2 and "needs its labelled queries (--labels" in out.output


def test_label_options_need_a_catalog_and_a_bad_scale_is_named(tmp_path):
    catalog, labels = _titles_only_catalog(tmp_path / "catalog")
    runner = CliRunner()
    alone = runner.invoke(cli, ["--data-dir", str(tmp_path), "train", "lm", "--preset", "micro",
                                "--labels", str(labels)])
    assert alone.exit_code == 2 and "need --catalog" in alone.output
    unscaled = runner.invoke(cli, ["--data-dir", str(tmp_path), "train", "lm", "--preset",
                                   "micro", "--catalog", str(catalog), "--labels", str(labels)])
    assert unscaled.exit_code == 2 and "grade 4 is outside 0-3" in unscaled.output
    bad = runner.invoke(cli, ["--data-dir", str(tmp_path), "train", "lm", "--preset", "micro",
                              "--catalog", str(catalog), "--labels", str(labels),
                              "--relevance-scale", "four"])
    assert bad.exit_code == 2 and "relevance scale 'four'" in bad.output


def test_eval_before_training_says_what_to_run(tmp_path):
    out = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "eval", "expansion",
                                   "--preset", "micro"])
    assert out.exit_code == 2 and "aisle train lm --preset micro" in out.output


def test_sft_can_start_from_any_local_checkpoint(tmp_path, micro_run):
    out = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "train", "lm", "--preset", "micro",
                                   "--stage", "sft", "--init", str(micro_run.out_dir / "pretrain")])
    assert out.exit_code == 0, out.output
    assert "sft done" in out.output and "pretrain done" not in out.output
    assert (tmp_path / "lm" / "micro" / "sft" / "config.json").exists()


def test_the_hard_world_trains_beside_the_default_one_and_writes_its_own_part(tmp_path,
                                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)  # --write lands in ./docs
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    trained = runner.invoke(cli, [*data, "train", "lm", "--preset", "micro", "--world", "hard"])
    assert trained.exit_code == 0, trained.output
    assert str(tmp_path / "data" / "lm" / "micro-hard") in trained.output.replace("\n", "")
    assert not (tmp_path / "data" / "lm" / "micro").exists()
    out = runner.invoke(cli, [*data, "eval", "expansion", "--preset", "micro", "--world", "hard",
                              "--dense", "--write"])
    assert out.exit_code == 0, out.output
    report = json.loads((tmp_path / "docs" / "results" / "expansion.json").read_text())
    hard = report["hard_world"]
    assert hard["world"] == "hard" and hard["command"].endswith("--dense --world hard")
    # (a micro model's expansions may be empty: then no fused or gated rows, they would equal it)
    assert {"sft+rl", "dense", "hybrid", "hybrid sft+rl"} <= set(hard["methods"])
    # the hybrid rows are judged against plain BM25, like every other row
    assert hard["methods"]["hybrid"]["all"]["ndcg10_delta"] == pytest.approx(
        hard["methods"]["hybrid"]["all"]["ndcg10"] - hard["methods"]["none"]["all"]["ndcg10"],
        abs=1e-3)
    assert hard["methods"]["none"]["misspelled"]["queries"] > 0
    assert "hard world" in (tmp_path / "docs" / "RESULTS.md").read_text()
    refused = runner.invoke(cli, [*data, "eval", "expansion", "--world", "hard", "--catalog",
                                  __file__])
    assert refused.exit_code == 2 and "--world picks a synthetic world" in refused.output
