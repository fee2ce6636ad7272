"""The same behaviour asked of both embedded backends."""

from dataclasses import replace

import pytest

from aislestream.connectors.search import SearchRequest, SearchStore, build_search_store
from aislestream.connectors.search.sqlite_store import SqliteFtsStore
from aislestream.connectors.search.tantivy_store import TantivyStore
from aislestream.core.products import Product
from aislestream.core.text import WeightedTerm
from aislestream.settings import StoreSettings

PRODUCTS = [
    Product("a", "Stridewell red running shoes", "Light mesh shoes for daily jogging.",
            category="running shoes", brand="stridewell", colour="red", price=80.0),
    Product("b", "Peakfoot blue running trainers", "Cushioned trainers. Shoppers call them kicks.",
            category="running shoes", brand="peakfoot", colour="blue", price=120.0),
    Product("c", "Brewmaster steel kettle", "Rapid boil electric kettle.",
            category="kettle", brand="brewmaster", colour="silver", price=30.0),
    Product("d", "Nexon black smartphone", "Dual sim phone with a triple camera.",
            category="smartphone", brand="nexon", colour="black", price=400.0),
]


@pytest.fixture(params=["tantivy", "sqlite"])
def store(request, tmp_path) -> SearchStore:
    backend = TantivyStore(tmp_path) if request.param == "tantivy" else SqliteFtsStore(tmp_path)
    backend.index(PRODUCTS)
    return backend


def ids(hits):
    return [h.id for h in hits]


def test_finds_by_title_and_description(store):
    assert ids(store.search(SearchRequest("kettle")))[0] == "c"
    assert ids(store.search(SearchRequest("kicks"))) == ["b"]
    assert store.count() == 4


def test_stemming_matches_inflections(store):
    assert "a" in ids(store.search(SearchRequest("shoe")))


def test_weighted_expansion_adds_and_ranks_terms(store):
    assert ids(store.search(SearchRequest("kicks"))) == ["b"]
    expanded = store.search(SearchRequest("kicks", (WeightedTerm("running shoes", 0.3),)))
    assert set(ids(expanded)) == {"a", "b"}
    heavy = store.search(SearchRequest("kettle", (WeightedTerm("smartphone", 10.0),)))
    assert ids(heavy)[0] == "d", "a heavily weighted expansion term should dominate"
    zero = store.search(SearchRequest("kettle", (WeightedTerm("smartphone", 0.0),)))
    assert ids(zero) == ["c"], "zero-weight terms are ignored"


def test_filters_and_price_range(store):
    assert ids(store.search(SearchRequest("running", filters={"colour": "Red"}))) == ["a"]
    assert ids(store.search(SearchRequest("running", price_max=100.0))) == ["a"]
    assert ids(store.search(SearchRequest("running", price_min=100.0))) == ["b"]
    assert ids(store.search(SearchRequest("", filters={"brand": "nexon"}))) == ["d"]
    assert store.search(SearchRequest("running", filters={"colour": "green"})) == []


def test_query_syntax_characters_are_plain_text(store):
    for text in ['running AND (shoes', 'title:"kettle', "*", "^2 ~ -", "   "]:
        store.search(SearchRequest(text))  # must not raise
    assert store.search(SearchRequest("")) == []
    # apostrophes and dots inside words (tantivy's parser rejected "men's" outright)
    assert [h.id for h in store.search(SearchRequest("men's kettle 1.7 can't", k=1))] == ["c"]


def test_k_limits_hits(store):
    assert len(store.search(SearchRequest("running shoes kettle smartphone", k=2))) == 2


def test_reindex_is_idempotent_and_updates(store):
    store.index([replace(PRODUCTS[2], title="Brewmaster glass teapot")])
    assert store.count() == 4
    assert ids(store.search(SearchRequest("teapot"))) == ["c"]
    assert store.search(SearchRequest("kettle"))[0].id == "c"  # description still says kettle


def test_persists_across_reopen(tmp_path):
    for cls in (TantivyStore, SqliteFtsStore):
        path = tmp_path / cls.__name__
        first = cls(path)
        first.index(PRODUCTS)
        first.close()
        again = cls(path)
        assert again.count() == 4
        assert ids(again.search(SearchRequest("kettle")))[0] == "c"


def test_search_many_matches_search(store):
    requests = [SearchRequest("kettle"), SearchRequest("kicks")]
    assert [ids(h) for h in store.search_many(requests)] == [["c"], ["b"]]


def test_factory_builds_the_configured_backend(tmp_path):
    assert build_search_store(StoreSettings(backend="sqlite"), tmp_path / "s").name == "sqlite"
    assert build_search_store(StoreSettings(backend="tantivy"), tmp_path / "t").name == "tantivy"


def test_exclusions_remove_products_with_those_values(store):
    shoes = SearchRequest("running shoes", filters={"category": "running shoes"})
    assert sorted(ids(store.search(shoes))) == ["a", "b"]
    assert ids(store.search(replace(shoes, exclude={"colour": ("red",)}))) == ["b"]
    assert ids(store.search(replace(shoes, exclude={"colour": ("red", "blue")}))) == []



def test_concurrent_searches_and_reindexing_see_only_whole_catalogs(store):
    """The SearchStore threading contract: the PRF expander searches on its thread pool while
    the event loop searches too, and one writer may re-index meanwhile. Every search, from any
    thread, answers as a single-threaded one would: it never sees half a re-index."""
    from concurrent.futures import ThreadPoolExecutor

    requests = [SearchRequest("kettle"), SearchRequest("kicks"), SearchRequest("running shoes"),
                SearchRequest("smartphone", filters={"brand": "nexon"}),
                SearchRequest("running", price_max=100.0)]
    expected = [ids(hits) for hits in store.search_many(requests)]

    def search(_: int) -> tuple[list[list[str]], int]:
        return [ids(hits) for hits in store.search_many(requests)], store.count()

    def reindex() -> int:
        for _ in range(30):  # the same catalog again: it replaces, so answers must not change
            store.index(PRODUCTS)
        return store.count()

    with ThreadPoolExecutor(max_workers=6) as pool:
        writer = pool.submit(reindex)
        answers = list(pool.map(search, range(400)))
        assert writer.result() == len(PRODUCTS)
    assert [a for a in answers if a != (expected, len(PRODUCTS))] == []
