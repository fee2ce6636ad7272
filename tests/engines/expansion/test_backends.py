from aislestream.connectors.search import SearchRequest
from aislestream.core.metrics import recall_at_k
from aislestream.engines.expansion import IdentityExpander, PrfConfig, PrfExpander, build_expander
from aislestream.engines.expansion.cache import CachedExpander, LruCache
from aislestream.settings import ExpansionSettings


def test_identity_returns_no_terms():
    out = IdentityExpander("v1").expand(["a", "b"])
    assert [(e.query, e.terms, e.engine, e.variant) for e in out] == [("a", (), "identity", "v1"),
                                                                       ("b", (), "identity", "v1")]


def test_prf_adds_feedback_terms_not_in_the_query(tantivy_store):
    prf = PrfExpander(tantivy_store, PrfConfig(expansion_terms=6))
    (expansion,) = prf.expand(["comfy kicks"])
    terms = [t.term for t in expansion.terms]
    assert 0 < len(terms) <= 6
    assert "kicks" not in terms and "comfy" not in terms
    assert {"running", "shoes"} & set(terms), f"feedback docs are running shoes, got {terms}"
    assert all(t.weight > 0 for t in expansion.terms)


def test_prf_weights_follow_rm3_interpolation(tantivy_store):
    for lam in (0.5, 0.8):
        (e,) = PrfExpander(tantivy_store, PrfConfig(original_weight=lam)).expand(["red kicks"])
        # expansion mass = (1 - lambda) / lambda per query token (2 tokens here)
        assert (sum(t.weight for t in e.terms)
                == __import__("pytest").approx((1 - lam) / lam * 2, rel=1e-2))


def test_prf_with_no_feedback_returns_no_terms(tantivy_store):
    (e,) = PrfExpander(tantivy_store).expand(["zzzqqq"])
    assert e.terms == () and e.fallback is None


def test_prf_raises_recall_on_colloquial_queries(small_world, tantivy_store):
    queries = small_world.queries_by_type()["colloquial"]
    expansions = PrfExpander(tantivy_store).expand([q.text for q in queries])
    base = sum(recall_at_k([h.id for h in tantivy_store.search(SearchRequest(q.text))],
                           q.relevance, 10)
               for q in queries)
    expanded = sum(
        recall_at_k([h.id for h in tantivy_store.search(SearchRequest(q.text, e.terms))],
                    q.relevance, 10)
        for q, e in zip(queries, expansions))
    assert expanded > base


def test_build_expander_composes_cache_and_guard(tantivy_store):
    guarded = build_expander(ExpansionSettings(engine="prf", lru_size=10, deadline_ms=500),
                             tantivy_store)
    assert isinstance(guarded.inner, CachedExpander)
    assert isinstance(guarded.inner.caches[0], LruCache)
    assert isinstance(guarded.inner.inner, PrfExpander)
    first, second = guarded.expand(["red kicks"]), guarded.expand(["Red  Kicks"])
    assert not first[0].cached and second[0].cached
    assert second[0].terms == first[0].terms and second[0].query == "Red  Kicks"
    no_cache = build_expander(ExpansionSettings(engine="identity", lru_size=0), tantivy_store)
    assert isinstance(no_cache.inner, IdentityExpander)
