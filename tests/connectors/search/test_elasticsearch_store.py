"""Elasticsearch: query construction always; indexing and search only against a live cluster.

No Elasticsearch server can be installed on the CI machines, so the live tests are skipped
(visibly) unless ES_URL points at a cluster, e.g. ES_URL=http://localhost:9200.
"""

import os
import uuid

import pytest

from aislestream.connectors.search import SearchRequest
from aislestream.core.text import WeightedTerm

es_module = pytest.importorskip("aislestream.connectors.search.elasticsearch_store")
ElasticsearchStore = es_module.ElasticsearchStore
ES_URL = os.environ.get("ES_URL")
live = pytest.mark.skipif(not ES_URL, reason="ES_URL not set: no live Elasticsearch cluster")


def test_query_has_boosted_expansions_filters_and_min_should_match():
    query = ElasticsearchStore.build_query(SearchRequest(
        "red shoes", (WeightedTerm("sneakers", 0.4), WeightedTerm("ignored", 0.0)),
        {"colour": "Red"}, price_max=100.0, k=5,
    ))["bool"]
    assert query["minimum_should_match"] == 1
    assert query["should"][0]["multi_match"]["query"] == "red shoes"
    assert query["should"][1]["multi_match"] == {"query": "sneakers",
                                                 "fields": ["title^2", "description"], "boost": 0.4}
    assert len(query["should"]) == 2
    assert {"term": {"attrs.colour": "red"}} in query["filter"]
    assert {"range": {"price": {"lte": 100.0}}} in query["filter"]


def test_filter_only_query_has_no_should_clause():
    query = ElasticsearchStore.build_query(SearchRequest("", filters={"brand": "x"}))["bool"]
    assert "should" not in query and query["filter"] == [{"term": {"attrs.brand": "x"}}]


@live
def test_live_index_search_filter_and_idempotent_ids(small_world):
    store = ElasticsearchStore(ES_URL, index=f"aisle-test-{uuid.uuid4().hex[:8]}")
    try:
        products = small_world.products[:500]
        assert store.index(products) == 500
        assert store.index(products[:10]) == 10
        assert store.count() == 500
        target = products[0]
        hits = store.search(SearchRequest(target.title, k=5))
        assert target.id in [h.id for h in hits]
        filtered = store.search(SearchRequest(target.category, filters={"colour": target.colour},
                                              k=20))
        assert filtered and all(small_world.product_by_id[h.id].colour == target.colour
                                for h in filtered)
    finally:
        store._es.indices.delete(index=store.index_name, ignore_unavailable=True)
        store.close()


def test_hybrid_body_fuses_bm25_and_knn_under_the_same_filters():
    request = SearchRequest("red shoes", filters={"colour": "Red"}, price_max=100.0,
                            exclude={"brand": ("Acme",)}, k=5)
    body = ElasticsearchStore.build_hybrid(request, [0.1, 0.2], depth=50)
    rrf = body["retriever"]["rrf"]
    standard, knn = (r for r in rrf["retrievers"])
    assert standard["standard"]["query"] == ElasticsearchStore.build_query(request)
    knn = knn["knn"]
    assert knn["field"] == "embedding" and knn["query_vector"] == [0.1, 0.2]
    assert knn["k"] == 50 and knn["num_candidates"] == 100 and rrf["rank_window_size"] == 50
    assert {"term": {"attrs.colour": "red"}} in knn["filter"]["bool"]["filter"]
    assert knn["filter"]["bool"]["must_not"] == [{"term": {"attrs.brand": "acme"}}]
    assert body["size"] == 5
    unfiltered = ElasticsearchStore.build_hybrid(SearchRequest("shoes"), [0.0], depth=10)
    assert "filter" not in unfiltered["retriever"]["rrf"]["retrievers"][1]["knn"]


def test_the_hybrid_template_maps_a_cosine_dense_vector():
    mapping = es_module.template(384)["mappings"]["properties"]["embedding"]
    assert mapping == {"type": "dense_vector", "dims": 384, "index": True,
                       "similarity": "cosine"}
    assert "embedding" not in es_module.template(None)["mappings"]["properties"]


@live
def test_live_hybrid_search_finds_a_synonym_bm25_misses():
    from aislestream.connectors.search.dense import MiniLMEncoder
    from aislestream.core.products import Product

    store = ElasticsearchStore(ES_URL, index=f"aisle-test-{uuid.uuid4().hex[:8]}",
                               encoder=MiniLMEncoder())
    try:
        store.index([Product("p1", "Trailfox running trainers", "Lightweight jogging shoes."),
                     Product("p2", "Cucina stainless steel kettle", "Boils water fast.")])
        assert store.search(SearchRequest("sneakers", k=1))[0].id == "p1"
        assert store.search(SearchRequest("sneakers", k=1, dense=False)) == []  # BM25 arm
    finally:
        store._es.indices.delete(index=store.index_name, ignore_unavailable=True)
        store.close()


def test_bulk_actions_embed_each_batch_and_keep_every_product():
    from aislestream.connectors.search.dense import MiniLMEncoder
    from aislestream.core.products import Product

    store = object.__new__(ElasticsearchStore)  # no cluster: only the actions are built
    store.index_name = "aisle-products"
    products = [Product(f"p{i}", f"kettle {i}", "") for i in range(5)]
    store._encoder = None
    plain = list(store._actions(products, batch_size=2))
    assert [a["_id"] for a in plain] == [p.id for p in products]
    assert all("embedding" not in a["_source"] for a in plain)
    store._encoder = MiniLMEncoder()
    dense = list(store._actions(iter(products), batch_size=2))  # any iterable, batched by 2
    assert [a["_id"] for a in dense] == [p.id for p in products]
    assert all(len(a["_source"]["embedding"]) == 384 for a in dense)


def test_each_request_of_a_batch_is_hybrid_or_bm25_as_it_asks(minilm):
    store = object.__new__(ElasticsearchStore)  # no cluster: only the msearch body is built
    store.index_name, store._depth = "aisle-products", 100
    store._encoder, store.dense_available, store.dense_default = minilm, True, True
    requests = [SearchRequest("sneakers"), SearchRequest("sneakers", dense=False),
                SearchRequest("kettle", dense=True)]
    searches = store._bodies(requests)[1::2]
    assert ["retriever" in s for s in searches] == [True, False, True]
    assert searches[1]["query"] == ElasticsearchStore.build_query(requests[1])
    store.dense_default = False  # hybrid only for the arms that ask
    assert ["retriever" in s for s in store._bodies(requests)[1::2]] == [False, False, True]
    store._encoder, store.dense_available = None, False  # no dense channel: BM25 for all
    assert ["retriever" in s for s in store._bodies(requests)[1::2]] == [False, False, False]
