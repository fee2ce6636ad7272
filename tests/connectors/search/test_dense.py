"""Dense retrieval with the all-MiniLM-L6-v2 wheel, the vector indexes, and the hybrid store."""

from dataclasses import replace

import numpy as np
import pytest

from aislestream.connectors.search.base import SearchRequest
from aislestream.connectors.search.dense import VECTOR_BACKENDS, MiniLMEncoder, vector_index
from aislestream.connectors.search.hybrid import HybridConfig, HybridStore
from aislestream.connectors.search.tantivy_store import TantivyStore
from aislestream.core.products import Product
from aislestream.errors import ConfigError


@pytest.fixture(scope="module")
def encoder():
    return MiniLMEncoder()


def _products():
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


def test_the_encoder_loads_offline_and_puts_synonyms_together(encoder):
    vectors = encoder.encode(["sneakers", "running trainers", "electric kettle"])
    assert vectors.shape == (3, encoder.dim) == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


@pytest.mark.parametrize("backend", VECTOR_BACKENDS)
def test_every_vector_index_finds_the_exact_neighbours_on_a_small_set(backend):
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(500, 32)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    exact, index = vector_index("exact", 32), vector_index(backend, 32)
    for chunk in (rows[:200], rows[200:]):  # added in two calls, positions continue
        exact.add(chunk)
        index.add(chunk)
    assert len(index) == 500
    queries = rows[:20] + 0.05 * rng.normal(size=(20, 32)).astype(np.float32)
    want, _ = exact.search(queries, 10)
    got, sims = index.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(want, got)])
    assert recall >= 0.95 and got.shape == (20, 10)
    assert (np.diff(sims, axis=1) <= 1e-5).all()  # most similar first
    assert got[0, 0] == 0  # a query next to row 0 finds row 0


def test_an_unknown_vector_index_is_named():
    with pytest.raises(ConfigError, match="unknown vector index 'annoy'"):
        vector_index("annoy", 8)


def test_hybrid_finds_what_bm25_misses_and_keeps_bm25s_best(encoder, tmp_path):
    store = HybridStore(TantivyStore(tmp_path / "lexical"), encoder, tmp_path / "dense")
    assert store.index(_products()) == 5 and store.embedded() == 5
    # no title or description says "sneakers": BM25 finds nothing, the dense channel does
    lexical = store._lexical.search(SearchRequest("sneakers", k=5))
    assert lexical == []
    top = [h.id for h in store.search(SearchRequest("sneakers", k=3))]
    assert set(top[:2]) == {"p1", "p2"}
    assert store.search(SearchRequest("kettle", k=5))[0].id == "p3"


def test_the_dense_channel_obeys_filters_and_price_bounds(encoder, tmp_path):
    store = HybridStore(TantivyStore(tmp_path / "lexical"), encoder, tmp_path / "dense")
    store.index(_products())
    shoes = SearchRequest("sneakers", k=5, filters={"colour": "Red"})
    assert [h.id for h in store.dense_search_many([shoes])[0]] == ["p2"]
    cheap = SearchRequest("sneakers", k=5, price_max=100.0)
    assert "p2" not in {h.id for h in store.search(cheap)}
    assert "p1" not in {h.id for h in store.search(replace(cheap, exclude={"colour": ("black",)}))}


def test_reindexing_replaces_a_vector_and_a_reopened_store_keeps_them(encoder, tmp_path):
    store = HybridStore(TantivyStore(tmp_path / "lexical"), encoder, tmp_path / "dense")
    store.index(_products())
    store.index([Product("p3", "Nordhem walnut side table", "A small table.", price=90.0)])
    assert store.embedded() == 5
    dense = [h.id for h in store.dense_search_many([SearchRequest("kettle", k=5)])[0]]
    assert dense.count("p3") == 1 and len(dense) == 5
    store.close()
    reopened = HybridStore(TantivyStore(tmp_path / "lexical"), encoder, tmp_path / "dense",
                           HybridConfig(vectors="usearch"))
    assert reopened.embedded() == 5
    hits = reopened.dense_search_many([SearchRequest("side table", k=1)])[0]
    assert hits[0].id in {"p3", "p4"} and reopened.search(SearchRequest("walnut"))[0].id == "p3"


def test_the_settings_choose_the_hybrid_store(tmp_path):
    from aislestream.connectors.search import build_search_store
    from aislestream.settings import StoreSettings

    store = build_search_store(StoreSettings(dense=True, vectors="faiss"), tmp_path)
    assert isinstance(store, HybridStore) and store.name == "tantivy+dense"
    assert store.config.vectors == "faiss"
    plain = build_search_store(StoreSettings(), tmp_path / "plain")
    assert not isinstance(plain, HybridStore)
