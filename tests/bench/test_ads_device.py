"""The accelerator benchmark runs end to end on the CPU with the micro preset, through
`aisle bench ads --device`; a bad variant is one `error:` line before anything trains."""

import json

import pytest
from click.testing import CliRunner

from aislestream.bench.ads_device import parse_variant
from aislestream.cli.main import cli
from aislestream.core.adspec import ALL_SPECS
from aislestream.errors import ConfigError
from aislestream.models.ads.generator import load_pipeline


def test_device_benchmark_trains_within_budget_and_reports_rates(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # --write lands in ./docs
    out = CliRunner().invoke(cli, ["bench", "ads", "--device", "cpu", "--variant", "micro",
                                   "--budget-s", "2", "--timing-s", "0.2",
                                   "--out", str(tmp_path / "variants")])
    assert out.exit_code == 0, out.output
    written = json.loads((tmp_path / "docs" / "results" / "ads_device.json").read_text())
    assert written["device"] == "cpu" and "--variant micro" in written["command"]
    micro = written["presets"]["micro"]
    assert 1 <= micro["train_steps"] <= micro["preset_train_steps"]
    assert 0 <= micro["usable"] <= 1 and 0 <= micro["usable_raw"] <= 1
    assert micro["n"] == 2 * len(ALL_SPECS) and micro["autoencoder"] == "micro"
    assert micro["batch1_images_per_s"] > 0 and micro["batch256_images_per_s"] > 0
    trained = load_pipeline(tmp_path / "variants" / "micro")
    assert trained.generate(ALL_SPECS[:2], 2, seed=0).shape == (2, 32, 32, 3)
    assert "| micro |" in (tmp_path / "docs" / "BENCHMARKS.md").read_text()


def test_a_variant_overrides_preset_fields():
    name, preset = parse_variant("tiny:train_steps=16000,patch_size=2")
    assert name == "tiny:train_steps=16000,patch_size=2"
    assert (preset.train_steps, preset.patch_size, preset.num_layers) == (16_000, 2, 6)


@pytest.mark.parametrize("variant, says", [
    ("huge", "unknown generator preset 'huge'"),
    ("tiny:depth=3", "'depth' is not a generator preset field"),
    ("tiny:lr=fast", "lr='fast' is not a number"),
])
def test_a_bad_variant_is_a_config_error(variant, says):
    with pytest.raises(ConfigError, match=says):
        parse_variant(variant)


def test_the_cli_rejects_a_bad_variant_before_training(tmp_path):
    out = CliRunner().invoke(cli, ["bench", "ads", "--device", "cpu", "--variant", "micro",
                                   "--variant", "tiny:depth=3", "--out", str(tmp_path)])
    assert out.exit_code == 2 and "error: 'depth' is not a generator preset field" in out.output
    assert not any(tmp_path.iterdir())
