"""Shared fixtures: a small deterministic world, indexed stores, and a real embedded broker."""

from __future__ import annotations

import pytest

from aislestream.connectors.broker import EmbeddedBroker
from aislestream.connectors.search.tantivy_store import TantivyStore
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
def broker(tmp_path_factory: pytest.TempPathFactory):
    """A real Kafka-compatible broker (Tansu, in-memory storage) for the whole session."""
    embedded = EmbeddedBroker(log_dir=tmp_path_factory.mktemp("broker-logs"))
    embedded.start(timeout_s=30)
    yield embedded.bootstrap
    embedded.stop()
