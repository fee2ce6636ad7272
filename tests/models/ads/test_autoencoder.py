"""The creatives' autoencoder on the micro preset: latent shapes, the saved model, the held-out
evaluation and its learning curve, and the stage's place in `aisle train ads`."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from aislestream.cli.main import cli
from aislestream.models.ads.autoencoder import decode, encode, load_autoencoder, reconstruct
from aislestream.models.ads.autoencoder_eval import heldout_set
from aislestream.models.ads.learning_curve import RATE_KEYS, failure_kind, oracle_report
from aislestream.models.ads.presets import STAGES, get_ads_preset
from aislestream.models.ads.train_autoencoder import training_batches
from aislestream.settings import load_settings

PRESET = get_ads_preset("micro").autoencoder


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`aisle train ads --stage autoencoder --preset micro`, once for the module."""
    data = tmp_path_factory.mktemp("ae-data")
    out = CliRunner().invoke(cli, ["--data-dir", str(data), "train", "ads", "--preset", "micro",
                                   "--stage", "autoencoder"])
    assert out.exit_code == 0, out.output
    assert "autoencoder done" in out.output and "generator done" not in out.output
    return load_settings(data_dir=data).artifacts.ads("micro") / "autoencoder"


def test_latents_are_16px_with_four_channels_and_decode_to_32px_images(trained):
    vae = load_autoencoder(trained)
    images = heldout_set(5, seed=0).images
    latents = encode(vae, images)
    assert latents.shape == (5, PRESET.latent_channels, 16, 16) == (5, 4, 16, 16)
    decoded = decode(vae, latents)
    assert decoded.shape == (5, 32, 32, 3) and decoded.dtype == np.uint8
    assert json.loads((trained / "train.json").read_text())["latent_shape"] == [4, 16, 16]


def test_saved_model_reconstructs_exactly_as_a_second_load_and_keeps_its_latent_scale(trained):
    images = heldout_set(6, seed=3).images
    first, second = load_autoencoder(trained), load_autoencoder(trained)
    assert np.array_equal(reconstruct(first, images), reconstruct(second, images))
    record = json.loads((trained / "train.json").read_text())
    assert first.config.scaling_factor == pytest.approx(record["scaling_factor"])
    assert first.config.shift_factor == pytest.approx(record["shift_factor"])
    assert first.config.scaling_factor != 1.0  # measured, not the constructor's placeholder


def test_final_evaluation_states_its_sample_count_on_seeds_disjoint_from_training(trained):
    record = json.loads((trained / "train.json").read_text())
    final = record["reconstructions"]
    assert final["n"] == PRESET.eval_images
    assert all(0.0 <= final[k] <= 1.0 for k in RATE_KEYS)
    assert final["heldout_seed"] != record["train_seed"]
    assert record["renders"]["usable"] == 1.0  # the oracle accepts the originals
    # no held-out render is among the first training batches
    heldout = heldout_set(PRESET.eval_images, PRESET.seed).images
    batches = training_batches(PRESET.batch_size, PRESET.seed)
    seen = torch.cat([next(batches) for _ in range(PRESET.train_steps)])
    seen_u8 = ((seen + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert not any((seen_u8 == h).all(axis=(1, 2, 3)).any() for h in heldout)


def test_learning_curve_has_every_rate_with_its_sample_count_and_a_plot(trained):
    points = json.loads((trained / "curve.json").read_text())["points"]
    assert [p["step"] for p in points] == list(range(PRESET.eval_every, PRESET.train_steps + 1,
                                                     PRESET.eval_every))
    for point in points:
        assert point["n"] == PRESET.curve_images
        assert all(0.0 <= point[k] <= 1.0 for k in RATE_KEYS)
    assert (trained / "curve.png").stat().st_size > 5_000


def test_stage_all_trains_the_autoencoder_first():
    assert STAGES[0] == "autoencoder" and STAGES.index("generator") == 1


def test_oracle_report_counts_failure_kinds_and_quotes_them():
    images = heldout_set(4, seed=1).images.copy()
    specs = heldout_set(4, seed=1).specs
    images[0] = images[0, 0, 0]  # a blank canvas: nothing to find
    report = oracle_report(images, specs)
    assert report["n"] == 4 and report["usable"] == 0.75
    assert report["failures"] == {"no product found": 1}
    assert report["examples"][0]["reasons"] == ["no product found"]
    assert failure_kind("shape looks like box (IoU 0.88; phone 0.85)") == "shape looks like box"
