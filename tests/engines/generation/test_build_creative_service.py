"""``build_creative_service`` resolves the preset's ads artifacts from settings."""

import importlib.util
import json
import shutil

import pytest

from aislestream.core.adspec import ASPECTS
from aislestream.engines.generation import build_creative_service
from aislestream.errors import MissingExtra
from aislestream.settings import AdsSettings, load_settings


def ads_settings(micro_ads, **ads):
    return load_settings(data_dir=micro_ads[0].data_dir, ads=AdsSettings(preset="micro", **ads))


def with_gate(micro_ads, tmp_path, serve_rl: bool | None):
    """A copy of the micro artifacts whose RL serving gate says ``serve_rl`` (None: no gate)."""
    settings, root = micro_ads
    data = tmp_path / "data"
    shutil.copytree(settings.data_dir, data)
    record = data / root.relative_to(settings.data_dir) / "rl" / "rl.json"
    blob = json.loads(record.read_text())
    if serve_rl is None:
        blob.pop("gate")
    else:
        blob["gate"]["serve_rl"] = serve_rl
    record.write_text(json.dumps(blob))
    return (load_settings(data_dir=data), data / root.relative_to(settings.data_dir))


def test_the_rl_generator_is_served_when_its_gate_found_it_better(micro_ads, tmp_path):
    copied, root = with_gate(micro_ads, tmp_path, serve_rl=True)
    pool = build_creative_service(ads_settings((copied, root), candidates=2, max_attempts=3,
                                               generator_variants={"pruned": root / "generator"}))
    assert pool.default.version == "micro/rl" and pool.default.config.model_path == root / "rl"
    assert (pool.default.config.candidates, pool.default.config.max_attempts) == (2, 3)
    assert pool.default.config.inference_steps == 4  # the micro preset's
    assert pool.variants == {"base": root / "generator", "rl": root / "rl",
                             "pruned": root / "generator"}
    assert set(pool.default.reward.reward_thresholds) == set(ASPECTS)
    assert pool.get("base").version == "micro/generator"


@pytest.mark.parametrize("serve_rl", [False, None])
def test_an_rl_generator_that_does_not_beat_the_base_is_not_the_default(micro_ads, tmp_path,
                                                                         serve_rl):
    copied, root = with_gate(micro_ads, tmp_path, serve_rl=serve_rl)
    pool = build_creative_service(ads_settings((copied, root)))
    assert pool.default.version == "micro/generator"
    assert pool.get("rl").version == "micro/rl"  # still an experiment arm


def test_the_rl_stage_records_its_serving_gate(micro_ads):
    _, root = micro_ads
    gate = json.loads((root / "rl" / "rl.json").read_text())["gate"]
    assert gate["n"] == 216 and gate["serve_rl"] == (gate["rl_usable"] > gate["base_usable"])


def test_the_base_generator_without_use_rl_and_a_configured_path_above_both(micro_ads):
    _, root = micro_ads
    assert build_creative_service(ads_settings(micro_ads, use_rl=False)).default.version == \
        "micro/generator"
    pinned = build_creative_service(ads_settings(micro_ads, generator_path=root / "generator"))
    assert pinned.default.config.model_path == root / "generator"


def test_without_the_ml_extra_it_says_which_extra_to_install(micro_ads, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "diffusers" else real(name, *a))
    with pytest.raises(MissingExtra, match=r"the ads agent needs the 'ml' extra \(diffusers"):
        build_creative_service(ads_settings(micro_ads))
