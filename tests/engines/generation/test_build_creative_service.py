"""``build_creative_service`` resolves the preset's ads artifacts from settings."""

import importlib.util

import pytest

from aislestream.core.adspec import ASPECTS
from aislestream.engines.generation import build_creative_service
from aislestream.errors import MissingExtra
from aislestream.settings import AdsSettings, load_settings


def ads_settings(micro_ads, **ads):
    return load_settings(data_dir=micro_ads[0].data_dir, ads=AdsSettings(preset="micro", **ads))


def test_the_rl_generator_is_served_when_it_exists_and_base_and_rl_are_variants(micro_ads):
    _, root = micro_ads
    pool = build_creative_service(ads_settings(micro_ads, candidates=2, max_attempts=3,
                                               generator_variants={"pruned": root / "generator"}))
    assert pool.default.version == "micro/rl" and pool.default.config.model_path == root / "rl"
    assert (pool.default.config.candidates, pool.default.config.max_attempts) == (2, 3)
    assert pool.default.config.inference_steps == 4  # the micro preset's
    assert pool.variants == {"base": root / "generator", "rl": root / "rl",
                             "pruned": root / "generator"}
    assert set(pool.default.reward.reward_thresholds) == set(ASPECTS)
    assert pool.get("base").version == "micro/generator"


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
