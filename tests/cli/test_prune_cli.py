"""`aisle prune analyze|apply|heal`, `aisle export onnx` of a pruned generator, and
`aisle bench prune` (with and without --device), end to end on the micro presets."""

import json

import numpy as np
from click.testing import CliRunner

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
    generator = ["--model", "generator", "--preset", "micro", "--blocks", "1"]
    analyzed = invoke(*data, "prune", "analyze", *generator)
    assert "fft_rdp" in analyzed and "block_influence" in analyzed
    invoke(*data, "prune", "apply", *generator)
    healed = invoke(*data, "prune", "heal", *generator, "--steps", "3")
    variant = settings.data_dir / "prune" / "generator" / "micro" / "fft_rdp-n1"
    assert "healed" in healed
    assert json.loads((variant / "selection.json").read_text())["method"] == "fft_rdp"
    pruned = load_pipeline(variant / "healed")
    assert pruned.transformer.config.num_layers == 2
    invoke("export", "onnx", str(variant / "healed"), str(tmp_path / "onnx"))
    onnx = OnnxCreativePipeline(tmp_path / "onnx")
    a, b = onnx.generate(ALL_SPECS[:4], 4, seed=2), pruned.generate(ALL_SPECS[:4], 4, seed=2)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1, "ONNX Runtime and torch agree"


def test_prune_before_training_says_what_to_run(tmp_path):
    out = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "prune", "analyze", "--model", "lm",
                                   "--preset", "micro"])
    assert out.exit_code == 2 and "aisle train lm --preset micro" in out.output


def test_bench_prune_reports_both_models_against_the_baselines(micro_ads, tmp_path, monkeypatch):
    settings, _ = micro_ads
    data = ["--data-dir", str(settings.data_dir)]
    invoke(*data, "train", "lm", "--preset", "micro")
    monkeypatch.chdir(tmp_path)  # --write lands in ./docs
    blocks = ["--preset", "micro", "--generator-blocks", "1", "--lm-blocks", "1"]
    invoke(*data, "bench", "prune", *blocks, "--heal-steps-generator", "2", "--heal-steps-lm", "2")
    result = json.loads((tmp_path / "docs" / "results" / "pruning.json").read_text())
    for key in ("dit_speedup", "dit_usable_full", "dit_usable_pruned", "dit_usable_block_influence",
                "dit_usable_last_n", "dit_usable_random", "dit_speedup_onnx",
                "lm_speedup", "lm_recall50_full", "lm_recall50_pruned", "lm_recall50_random",
                "lm_speedup_onnx"):
        assert key in result, key
    assert result["dit_speedup"] > 0 and 0 <= result["lm_recall50_pruned"] <= 1
    assert {v["method"] for v in result["generator"]["variants"]} == {
        "fft_rdp", "block_influence", "last_n", "random_0", "random_1", "random_2"}
    assert result["dit_onnx_pixel_parity"] > 0.99 and result["lm_onnx_token_parity"] == 1.0
    assert "## Block pruning" in (tmp_path / "docs" / "RESULTS.md").read_text()
    for plot in ("prune_curve_generator", "prune_quality_generator", "prune_curve_lm",
                 "prune_quality_lm"):
        assert (tmp_path / "docs" / "plots" / f"{plot}.png").stat().st_size > 5_000

    # the same micro LM and generator, through the full-link evaluation
    monkeypatch.setenv("AISLE_ADS__PRESET", "micro")
    invoke(*data, "eval", "full-link", "--preset", "micro", "--write")
    full_link = json.loads((tmp_path / "docs" / "results" / "full_link.json").read_text())
    assert set(full_link["methods"]) == {"none", "prf", "llm"} and full_link["ads"]["specs"] == 216
    results_md = (tmp_path / "docs" / "RESULTS.md").read_text()
    assert "blamed expansion / retrieval / ranking" in results_md

    # the accelerator benchmark reads the same checkpoints (here on the CPU)
    invoke(*data, "bench", "prune", *blocks, "--device", "cpu", "--steps", "2",
           "--max-new-tokens", "3", "--rounds", "1")
    device = json.loads((tmp_path / "docs" / "results" / "pruning_device.json").read_text())
    gen, lm = device["generator"], device["lm"]
    assert device["device"] == "cpu" and device["command"].startswith("aisle bench prune --device")
    assert gen["layers"] == lm["layers"] == {"full": 3, "pruned": 2}
    assert gen["images_per_s"]["batch16"]["speedup"] > 0
    assert lm["expansions_per_s"]["batch64"]["full"] > 0
    assert "| lm | 3 → 2 |" in (tmp_path / "docs" / "BENCHMARKS.md").read_text()


def test_device_bench_before_bench_prune_says_what_to_run(tmp_path):
    for marker in ("ads/micro/generator/model_index.json", "lm/micro/rl/config.json"):  # "trained"
        (tmp_path / marker).parent.mkdir(parents=True)
        (tmp_path / marker).write_text("{}")
    out = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "bench", "prune", "--device", "cpu",
                                   "--preset", "micro", "--generator-blocks", "1"])
    assert out.exit_code == 2 and "no pruned generator" in out.output
    assert "aisle bench prune --preset micro --generator-blocks 1 --lm-blocks 1" in out.output


def test_bench_prune_of_one_model_keeps_the_other_models_figures(tmp_path):
    """A generator-only run carries the LLM's section over, naming the run that measured it."""
    from aislestream.bench.prune import carried_over

    previous = tmp_path / "pruning.json"
    previous.write_text(json.dumps({
        "preset": "tiny", "command": "aisle bench prune --preset tiny --model generator --model lm",
        "measured_at": "2026-11-26T06:57:28Z", "generator": {"depth": 6}, "dit_speedup": 1.1,
        "lm": {"depth": 4}, "lm_speedup": 1.5, "lm_recall50_full": 0.8}))
    kept = carried_over(("generator",), "tiny", previous)
    assert set(kept) == {"lm"}
    assert kept["lm"]["lm_speedup"] == 1.5 and "dit_speedup" not in kept["lm"]
    assert kept["lm"]["lm"]["measured_by"]["measured_at"] == "2026-11-26T06:57:28Z"
    assert carried_over(("generator",), "micro", previous) == {}  # another preset: nothing
    assert carried_over(("generator", "lm"), "tiny", previous) == {}
