"""`aisle prune analyze|apply|heal`, `aisle export onnx` of a pruned generator, and
`aisle bench prune`, end to end on the micro presets."""

import json

import numpy as np
from click.testing import CliRunner

from aislestream.bench.prune_device import generator_rates, lm_rates, markdown
from aislestream.cli.main import cli
from aislestream.core.adspec import ALL_SPECS
from aislestream.engines.generation.onnx_backend import OnnxCreativePipeline
from aislestream.models.ads.generator import load_pipeline


def invoke(*args):
    out = CliRunner().invoke(cli, list(args))
    assert out.exit_code == 0, out.output
    return out.output


def test_prune_heal_export_and_serve_the_generator(micro_ads, tmp_path):
    settings, _ = micro_ads
    data = ["--data-dir", str(settings.data_dir)]
    analyzed = invoke(*data, "prune", "analyze", "--model", "generator", "--preset", "micro", "--blocks", "1")
    assert "fft_rdp" in analyzed and "block_influence" in analyzed
    invoke(*data, "prune", "apply", "--model", "generator", "--preset", "micro", "--blocks", "1")
    healed = invoke(*data, "prune", "heal", "--model", "generator", "--preset", "micro", "--blocks", "1",
                    "--steps", "3")
    variant = settings.data_dir / "prune" / "generator" / "micro" / "fft_rdp-n1"
    assert "healed" in healed and json.loads((variant / "selection.json").read_text())["method"] == "fft_rdp"
    pruned = load_pipeline(variant / "healed")
    assert pruned.transformer.config.num_layers == 1
    invoke("export", "onnx", str(variant / "healed"), str(tmp_path / "onnx"))
    onnx = OnnxCreativePipeline(tmp_path / "onnx")
    a, b = onnx.generate(ALL_SPECS[:4], 4, seed=2), pruned.generate(ALL_SPECS[:4], 4, seed=2)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1, "ONNX Runtime and torch agree to rounding"


def test_prune_before_training_says_what_to_run(tmp_path):
    out = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "prune", "analyze", "--model", "lm",
                                   "--preset", "micro"])
    assert out.exit_code == 2 and "aisle train lm --preset micro" in out.output


def test_bench_prune_reports_both_models_against_the_baselines(micro_ads, tmp_path, monkeypatch):
    settings, _ = micro_ads
    data = ["--data-dir", str(settings.data_dir)]
    invoke(*data, "train", "lm", "--preset", "micro")
    monkeypatch.chdir(tmp_path)  # --write lands in ./docs
    invoke(*data, "bench", "prune", "--preset", "micro", "--generator-blocks", "1", "--lm-blocks", "1",
           "--heal-steps-generator", "2", "--heal-steps-lm", "2")
    result = json.loads((tmp_path / "docs" / "results" / "pruning.json").read_text())
    for key in ("dit_speedup", "dit_usable_full", "dit_usable_pruned", "dit_usable_block_influence",
                "dit_usable_last_n", "dit_usable_random", "dit_speedup_onnx",
                "lm_speedup", "lm_recall50_full", "lm_recall50_pruned", "lm_recall50_random", "lm_speedup_onnx"):
        assert key in result, key
    assert result["dit_speedup"] > 0 and 0 <= result["lm_recall50_pruned"] <= 1
    assert {v["method"] for v in result["generator"]["variants"]} == {
        "fft_rdp", "block_influence", "last_n", "random_0", "random_1", "random_2"}
    assert result["dit_onnx_pixel_parity"] > 0.99 and result["lm_onnx_token_parity"] == 1.0
    assert "## Block pruning" in (tmp_path / "docs" / "RESULTS.md").read_text()
    for plot in ("prune_curve_generator", "prune_quality_generator", "prune_curve_lm", "prune_quality_lm"):
        assert (tmp_path / "docs" / "plots" / f"{plot}.png").stat().st_size > 5_000

    # the same micro LM and generator, through the full-link evaluation
    monkeypatch.setenv("AISLE_ADS__PRESET", "micro")
    invoke(*data, "eval", "full-link", "--preset", "micro", "--write")
    full_link = json.loads((tmp_path / "docs" / "results" / "full_link.json").read_text())
    assert set(full_link["methods"]) == {"none", "prf", "llm"} and full_link["ads"]["specs"] == 216
    assert "blamed expansion / retrieval / ranking" in (tmp_path / "docs" / "RESULTS.md").read_text()

    # the accelerator benchmark reads the same checkpoints (here on the CPU)
    prune_root = settings.data_dir / "prune"
    gen = generator_rates(settings.data_dir / "ads" / "micro" / "rl", prune_root / "generator" / "micro" / "fft_rdp-n1" /
                          "healed", "cpu", [2], steps=2, rounds=1)
    assert gen["layers"] == {"full": 2, "pruned": 1} and gen["images_per_s"]["batch2"]["speedup"] > 0
    prompts = json.loads((prune_root / "lm" / "micro" / "prompts.json").read_text())
    lm = lm_rates(settings.data_dir / "lm" / "micro" / "rl", prune_root / "lm" / "micro" / "fft_rdp-n1" / "healed",
                  prompts, "cpu", [4], max_new_tokens=3, rounds=1)
    assert lm["layers"] == {"full": 2, "pruned": 1} and "| lm |" in markdown({"device": "cpu", "generator": gen, "lm": lm})
