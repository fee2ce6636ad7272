"""The expansion channel fused with the original query's results."""

from hypothesis import given, settings
from hypothesis import strategies as st

from aislestream.connectors.search.base import FusionConfig, Hit, SearchRequest
from aislestream.connectors.search.fusion import fuse, search_fused
from aislestream.core.text import WeightedTerm

ids = st.lists(st.integers(0, 300).map(lambda i: f"p{i}"), unique=True, max_size=100)


def _hits(pids):
    return [Hit(pid, 1.0, pid) for pid in pids]


@settings(max_examples=300, deadline=None)
@given(ids, ids)
def test_the_original_top_three_stay_in_the_fused_top_ten(original, expanded):
    fused = [h.id for h in fuse(_hits(original), _hits(expanded), FusionConfig(), 10)]
    assert set(original[:3]) <= set(fused)
    assert all(fused.index(pid) < 6 for pid in original[:3])  # the bound the docstring derives


@settings(max_examples=300, deadline=None)
@given(ids, ids)
def test_what_only_the_expansion_found_comes_after_the_original_top_fifty(original, expanded):
    fused = [h.id for h in fuse(_hits(original), _hits(expanded), FusionConfig(), 200)]
    only_expanded = [fused.index(p) for p in expanded if p not in original]
    assert all(i >= min(50, len(original)) for i in only_expanded)
    assert set(fused) == set(original) | set(expanded)


def test_agreement_promotes_and_fills_in_where_the_original_found_little():
    original = _hits(["a", "b", "c", "d", "e", "f", "g", "h"])
    fused = [h.id for h in fuse(original, _hits(["h", "x", "y"]), FusionConfig(), 10)]
    assert fused.index("h") < 7  # both channels found it: up from 8th
    assert fused[-2:] == ["x", "y"]  # found by the expansion alone: after the original's
    assert [h.id for h in fuse(original, [], FusionConfig(), 10)] == list("abcdefgh")


def test_search_fused_on_a_real_store(tantivy_store, small_world):
    query = next(q for q in small_world.queries if len(q.relevance) > 5)
    plain = SearchRequest(query.text, k=10, fusion=FusionConfig())
    word = small_world.products[0].title.split()[-1].lower()
    mixed = SearchRequest(query.text, (WeightedTerm(word, 1.0),), k=10)
    expanded = SearchRequest(query.text, (WeightedTerm(word, 1.0),), k=10, fusion=FusionConfig())
    as_is, as_mixed, fused = search_fused(tantivy_store, [plain, mixed, expanded])
    assert [h.id for h in as_is] == [h.id for h in tantivy_store.search(plain)]
    assert [h.id for h in as_mixed] == [h.id for h in tantivy_store.search(mixed)]
    assert len(fused) == 10
    assert {h.id for h in as_is[:3]} <= {h.id for h in fused}
    assert fused[0].score > fused[-1].score  # fused scores, in order


def test_the_gate_opens_where_the_original_retrieval_looks_weak():
    from aislestream.connectors.search.fusion import weak

    strong = [Hit(f"p{i}", 1.0, "red kettle", "boils fast") for i in range(10)]
    assert not weak("red kettle", strong)
    assert weak("red kettel", strong)  # a query word none of the top 10 contains
    assert weak("red kettle", strong[:4])  # too few results
    assert not weak("Red  KETTLE boils", strong)  # words as the stores tokenise them


def test_a_gated_request_keeps_the_original_results_where_they_look_fine(tantivy_store,
                                                                        small_world):
    product = small_world.products[3]
    word = product.title.split()[-1].lower()
    gated = FusionConfig("expanded", gate=True)
    terms = (WeightedTerm("zzzunknown", 2.0), WeightedTerm(word, 2.0))
    fine = SearchRequest(word, terms, k=10, fusion=gated)
    kept, = search_fused(tantivy_store, [fine])
    original = tantivy_store.search(SearchRequest(word, k=10))
    assert len(original) == 10  # each contains the one query word: the gate stays closed
    assert [h.id for h in kept] == [h.id for h in original]
    typo = SearchRequest(word + "x", terms, k=10, fusion=gated)
    opened, = search_fused(tantivy_store, [typo])
    assert [h.id for h in opened] == [h.id for h in tantivy_store.search(
        SearchRequest(word + "x", terms, k=10))]  # gate open: the expanded ranking
    assert opened  # the misspelling alone finds nothing; the expansion does
