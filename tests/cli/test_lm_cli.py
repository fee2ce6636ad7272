"""`aisle train lm` and `aisle eval expansion` end to end on the micro preset."""

import json

from click.testing import CliRunner

from aislestream.cli.main import cli


def test_train_then_eval_on_an_external_catalog_without_labels(tmp_path, monkeypatch):
    from aislestream.models.world import World, WorldConfig

    world = World.generate(WorldConfig(seed=9, n_products=800, n_users=5, n_queries=5))
    catalog, _ = world.export(tmp_path / "export")
    monkeypatch.chdir(tmp_path)  # --write would land in ./docs
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    trained = runner.invoke(cli, [*data, "train", "lm", "--preset", "micro", "--catalog",
                                  str(catalog)])
    assert trained.exit_code == 0, trained.output
    assert "rl done" in trained.output
    evaluated = runner.invoke(cli, [*data, "eval", "expansion", "--preset", "micro", "--catalog",
                                    str(catalog), "--write"])
    assert evaluated.exit_code == 0, evaluated.output
    result = json.loads((tmp_path / "docs" / "results" / "expansion.json").read_text())
    assert set(result["methods"]) == {"none", "rm3", "pretrain", "sft", "sft+rl"}
    for method in result["methods"].values():
        assert {"recall50", "ndcg10", "zero_result_rate", "drift_rate"} <= set(method["pseudo"])
    assert (tmp_path / "docs" / "plots" / "expansion_by_query_type.png").stat().st_size > 10_000


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
