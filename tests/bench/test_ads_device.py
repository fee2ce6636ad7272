"""The accelerator benchmark runs end to end on the CPU with the micro preset."""

from aislestream.bench.ads_device import markdown, run
from aislestream.core.adspec import ALL_SPECS
from aislestream.models.ads.generator import load_pipeline


def test_device_benchmark_trains_within_budget_and_reports_rates(tmp_path):
    results = run(["micro"], budget_s=2.0, device="cpu", workers=0, out=tmp_path, timing_s=0.2)
    micro = results["micro"]
    assert 1 <= micro["train_steps"] <= micro["preset_train_steps"]
    assert 0 <= micro["usable"] <= 1 and 0 <= micro["colour_ok"] <= 1
    assert micro["batch1_images_per_s"] > 0 and micro["batch256_images_per_s"] > 0
    assert load_pipeline(tmp_path / "micro").generate(ALL_SPECS[:2], 2, seed=0).shape == (2, 32, 32, 3)
    assert "| micro |" in markdown(results, "cpu")
