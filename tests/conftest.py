"""Shared fixtures: a small deterministic world, indexed stores, a real embedded broker, and a
micro LM trained through all three stages."""

from __future__ import annotations

import pytest

from aislestream.connectors.broker import EmbeddedBroker
from aislestream.connectors.search.tantivy_store import TantivyStore
from aislestream.core.products import Product
from aislestream.models.lm.presets import get_preset
from aislestream.models.lm.train import prepare, run_pretrain, run_rl, run_sft
from aislestream.models.world import World, WorldConfig

SMALL_WORLD = WorldConfig(seed=11, n_products=3_000, n_users=200, n_queries=400)


@pytest.fixture(scope="session")
def small_world() -> World:
    return World.generate(SMALL_WORLD)


@pytest.fixture(scope="session")
def tantivy_store(small_world: World, tmp_path_factory: pytest.TempPathFactory) -> TantivyStore:
    store = TantivyStore(tmp_path_factory.mktemp("tantivy"))
    store.index(small_world.products)
    return store


@pytest.fixture(scope="session")
def minilm():
    """all-MiniLM-L6-v2 from its wheel (the dense extra), loaded once."""
    from aislestream.connectors.search.dense import MiniLMEncoder

    return MiniLMEncoder()


def shoe_products() -> list[Product]:
    """Five products where no title or description says "sneakers": BM25 finds nothing for
    it, a dense channel finds the two pairs of shoes."""
    rows = [("p1", "Trailfox running trainers, mesh", "Lightweight shoes for daily jogging.",
             "footwear", "black", 80.0),
            ("p2", "Peakfoot jogging shoes", "Cushioned shoes for marathon training.",
             "footwear", "red", 120.0),
            ("p3", "Cucina stainless steel kettle", "Boils water fast.", "kitchen", "grey", 30.0),
            ("p4", "Nordhem oak coffee table", "Solid wood living room table.", "furniture",
             "brown", 250.0),
            ("p5", "Voltra wireless earbuds", "Bluetooth in-ear headphones.", "electronics",
             "white", 60.0)]
    return [Product(pid, title, desc, category=cat, colour=colour, price=price)
            for pid, title, desc, cat, colour, price in rows]


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory):
    """A real Kafka-compatible broker (Tansu, in-memory storage) for the whole session."""
    embedded = EmbeddedBroker(log_dir=tmp_path_factory.mktemp("broker-logs"))
    embedded.start(timeout_s=30)
    yield embedded.bootstrap
    embedded.stop()


@pytest.fixture(scope="session")
def micro_run(tmp_path_factory):
    """One micro-preset training run (all three stages, a few seconds) shared by the LM tests."""
    preset = get_preset("micro")
    world = World.generate(WorldConfig(seed=5, n_products=preset.n_products, n_users=50,
                                       n_queries=preset.n_queries))
    ctx = prepare(preset, tmp_path_factory.mktemp("lm-micro"), world, seed=0)
    run_pretrain(ctx)
    run_sft(ctx)
    run_rl(ctx)
    return ctx


@pytest.fixture(scope="session")
def micro_ads(tmp_path_factory):
    """Ads artifacts from the micro preset (generator, reward models, one feedback round)."""
    from aislestream.models.ads.presets import STAGES, get_ads_preset
    from aislestream.models.ads.run import train_ads
    from aislestream.settings import load_settings

    settings = load_settings(data_dir=tmp_path_factory.mktemp("ads-data"))
    root = train_ads(settings, get_ads_preset("micro"), STAGES, log=lambda _: None)
    return settings, root


@pytest.fixture(scope="session")
def micro_assistant(tmp_path_factory):
    """Assistant artifacts from the micro preset (its LLM stage 1, the mined lexicon, then
    adapt, SFT and GRPO)."""
    from aislestream.models.assistant.presets import get_assistant_preset
    from aislestream.models.assistant.run import train
    from aislestream.models.assistant.train import STAGES
    from aislestream.settings import load_settings

    settings = load_settings(data_dir=tmp_path_factory.mktemp("assistant-data"),
                             world={"n_users": 50})
    return settings, train(settings, get_assistant_preset("micro"), STAGES)
