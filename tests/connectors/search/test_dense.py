"""Dense retrieval with the all-MiniLM-L6-v2 wheel, the vector indexes, and the hybrid store."""

from dataclasses import replace

import numpy as np
import pytest

from aislestream.connectors.search.base import SearchRequest
from aislestream.connectors.search.dense import VECTOR_BACKENDS, vector_index
from aislestream.connectors.search.hybrid import HybridConfig, HybridStore
from aislestream.connectors.search.tantivy_store import TantivyStore
from aislestream.core.products import Product
from aislestream.errors import ConfigError
from tests.conftest import shoe_products


def test_the_encoder_loads_offline_and_puts_synonyms_together(minilm):
    vectors = minilm.encode(["sneakers", "running trainers", "electric kettle"])
    assert vectors.shape == (3, minilm.dim) == (3, 384)
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


def test_hybrid_finds_what_bm25_misses_and_keeps_bm25s_best(minilm, tmp_path):
    store = HybridStore(TantivyStore(tmp_path / "lexical"), minilm, tmp_path / "dense")
    assert store.index(shoe_products()) == 5 and store.embedded() == 5
    # no title or description says "sneakers": BM25 finds nothing, the dense channel does
    lexical = store._lexical.search(SearchRequest("sneakers", k=5))
    assert lexical == []
    top = [h.id for h in store.search(SearchRequest("sneakers", k=3))]
    assert set(top[:2]) == {"p1", "p2"}
    assert store.search(SearchRequest("kettle", k=5))[0].id == "p3"


def test_the_dense_channel_obeys_filters_and_price_bounds(minilm, tmp_path):
    store = HybridStore(TantivyStore(tmp_path / "lexical"), minilm, tmp_path / "dense")
    store.index(shoe_products())
    shoes = SearchRequest("sneakers", k=5, filters={"colour": "Red"})
    assert [h.id for h in store.dense_search_many([shoes])[0]] == ["p2"]
    cheap = SearchRequest("sneakers", k=5, price_max=100.0)
    assert "p2" not in {h.id for h in store.search(cheap)}
    assert "p1" not in {h.id for h in store.search(replace(cheap, exclude={"colour": ("black",)}))}


def test_reindexing_replaces_a_vector_and_a_reopened_store_keeps_them(minilm, tmp_path):
    store = HybridStore(TantivyStore(tmp_path / "lexical"), minilm, tmp_path / "dense")
    store.index(shoe_products())
    store.index([Product("p3", "Nordhem walnut side table", "A small table.", price=90.0)])
    assert store.embedded() == 5
    dense = [h.id for h in store.dense_search_many([SearchRequest("kettle", k=5)])[0]]
    assert dense.count("p3") == 1 and len(dense) == 5
    store.close()
    reopened = HybridStore(TantivyStore(tmp_path / "lexical"), minilm, tmp_path / "dense",
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


def test_a_request_chooses_bm25_or_hybrid_on_one_store(minilm, tmp_path):
    from aislestream.connectors.search.base import retrieval_of

    store = HybridStore(TantivyStore(tmp_path / "lexical"), minilm, tmp_path / "dense")
    store.index(shoe_products())
    sneakers = SearchRequest("sneakers", k=3)
    assert retrieval_of(store, sneakers) == "hybrid" and store.search(sneakers)
    bm25 = replace(sneakers, dense=False)
    assert retrieval_of(store, bm25) == "lexical" and store.search(bm25) == []
    mixed = store.search_many([bm25, sneakers, replace(sneakers, query="kettle", dense=False)])
    assert mixed[0] == [] and len(mixed[1]) == 3 and [h.id for h in mixed[2]] == ["p3"]
    # BM25 results on the lexical path are the lexical store's own, scores included
    assert mixed[2] == store._lexical.search(replace(sneakers, query="kettle"))

    opt_in = HybridStore(store._lexical, minilm, tmp_path / "dense",
                         HybridConfig(default=False))
    assert retrieval_of(opt_in, sneakers) == "lexical" and opt_in.search(sneakers) == []
    assert retrieval_of(opt_in, replace(sneakers, dense=True)) == "hybrid"
    # a store without a dense channel serves BM25 whatever the request asks
    assert retrieval_of(store._lexical, replace(sneakers, dense=True)) == "lexical"


def _files(directory):
    import json

    generation = json.loads((directory / "dense.json").read_text())["generation"]
    return (directory / f"vectors-{generation}.f32", directory / f"records-{generation}.jsonl")


def test_embedding_appends_to_its_files_and_torn_tails_are_cut_back(minilm, tmp_path):
    store = HybridStore(TantivyStore(tmp_path / "lexical"), minilm, tmp_path / "dense")
    products = shoe_products()
    store.index(products[:3])
    vectors, lines = _files(tmp_path / "dense")
    assert vectors.stat().st_size == 3 * minilm.dim * 4
    store.index(products[3:])
    assert _files(tmp_path / "dense") == (vectors, lines)  # appended, not rewritten
    assert vectors.stat().st_size == 5 * minilm.dim * 4
    assert len(lines.read_text().splitlines()) == 5
    store.close()
    with lines.open("a") as f:  # a crash mid-append: half a line, no vector for it
        f.write('{"id": "p6", "tit')
    with vectors.open("ab") as f:  # and half a vector row before it
        f.write(b"\0" * 6)
    reopened = HybridStore(TantivyStore(tmp_path / "lexical"), minilm, tmp_path / "dense")
    assert reopened.embedded() == 5
    vectors, lines = _files(tmp_path / "dense")  # repaired into the next generation
    assert vectors.stat().st_size == 5 * minilm.dim * 4
    assert len(lines.read_text().splitlines()) == 5 and lines.read_text().endswith("\n")
    reopened.embed([Product("p6", "Cucina copper pan", "Fries eggs.", price=40.0)])
    again = HybridStore(TantivyStore(tmp_path / "lexical"), minilm, tmp_path / "dense")
    assert again.dense_search_many([SearchRequest("kettle", k=1)])[0][0].id == "p3"
    assert again.dense_search_many([SearchRequest("frying pan", k=1)])[0][0].id == "p6"


def test_vectors_without_their_lines_are_dropped_not_paired_with_the_next(minilm, tmp_path):
    store = HybridStore(TantivyStore(tmp_path / "lexical"), minilm, tmp_path / "dense")
    store.index(shoe_products()[:2])
    vectors, lines = _files(tmp_path / "dense")
    with vectors.open("ab") as f:  # a crash after the vectors, before their lines
        f.write(np.ones((2, minilm.dim), np.float32).tobytes())
    reopened = HybridStore(store._lexical, minilm, tmp_path / "dense")
    assert reopened.embedded() == 2
    reopened.embed(shoe_products()[2:3])
    again = HybridStore(store._lexical, minilm, tmp_path / "dense")
    assert again.dense_search_many([SearchRequest("kettle", k=1)])[0][0].id == "p3"


def test_stale_rows_are_compacted_on_start_once_they_outnumber_live_ones(minilm, tmp_path):
    store = HybridStore(TantivyStore(tmp_path / "lexical"), minilm, tmp_path / "dense")
    kettle = shoe_products()[2]
    for _ in range(3):  # one product re-embedded three times: 1 live row, 2 stale
        store.embed([kettle])
    vectors, _ = _files(tmp_path / "dense")
    assert vectors.stat().st_size == 3 * minilm.dim * 4 and store.embedded() == 1
    reopened = HybridStore(store._lexical, minilm, tmp_path / "dense")
    vectors, _ = _files(tmp_path / "dense")
    assert vectors.stat().st_size == minilm.dim * 4 and reopened.embedded() == 1
    assert [h.id for h in reopened.dense_search_many([SearchRequest("kettle")])[0]] == ["p3"]
    assert sorted(f.name for f in (tmp_path / "dense").iterdir()) == sorted(
        ["dense.json", vectors.name, vectors.name.replace("vectors", "records")
         .replace(".f32", ".jsonl")])  # the old generation is gone


def test_the_first_layout_is_migrated_and_another_encoders_vectors_are_refused(minilm,
                                                                              tmp_path):
    import json
    from dataclasses import asdict

    from aislestream.connectors.search.hybrid import _Doc
    from aislestream.connectors.search.vector_files import VectorFiles

    products = shoe_products()
    directory = tmp_path / "dense"
    directory.mkdir()
    docs = [_Doc(p.id, p.title, p.description, {"category": p.category}, p.price)
            for p in products]
    np.save(directory / "vectors.npy", minilm.encode([p.title for p in products]))
    (directory / "products.jsonl").write_text("".join(json.dumps(asdict(d)) + "\n"
                                                      for d in docs))
    store = HybridStore(TantivyStore(tmp_path / "lexical"), minilm, directory)
    assert store.embedded() == 5 and not (directory / "vectors.npy").exists()
    assert store.dense_search_many([SearchRequest("kettle", k=1)])[0][0].id == "p3"
    with pytest.raises(ConfigError, match="have 384 dimensions and the encoder makes 8"):
        VectorFiles(directory, 8).load()


def test_the_exact_index_grows_one_row_at_a_time():
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(1_500, 8)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    index = vector_index("exact", 8)
    for row in rows:
        index.add(row[None, :])
    assert len(index) == 1_500
    positions, _ = index.search(rows[[0, 1_499]], 1)
    assert positions[:, 0].tolist() == [0, 1_499]
