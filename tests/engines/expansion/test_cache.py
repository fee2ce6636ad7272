import uuid

import pytest

from aislestream.connectors.search import WeightedTerm
from aislestream.engines.expansion import CachedExpander, Expansion, LruCache, RedisCache

REDIS_URL = "redis://127.0.0.1:6379/0"


class CountingExpander:
    name, variant = "counting", "v1"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def expand(self, queries):
        self.calls += list(queries)
        return [Expansion(q, (WeightedTerm(f"{q}-x", 0.5),), self.name, self.variant) for q in queries]


def test_lru_evicts_least_recently_used():
    cache = LruCache(2)
    e = Expansion("q", (), "e", "v")
    cache.put_many([("a", e), ("b", e)])
    cache.get_many(["a"])
    cache.put_many([("c", e)])
    assert cache.get_many(["a", "b", "c"]) == [e, None, e]
    assert len(cache) == 2


def test_cached_expander_only_expands_misses():
    inner = CountingExpander()
    cached = CachedExpander(inner, [LruCache(100)])
    cached.expand(["a", "b"])
    out = cached.expand(["b", "c", "A "])
    assert inner.calls == ["a", "b", "c"]
    assert [e.cached for e in out] == [True, False, True]
    assert out[2].query == "A " and out[2].terms[0].term == "a-x"


@pytest.mark.integration
def test_redis_cache_is_shared_between_workers():
    namespace = f"aisle-test:{uuid.uuid4().hex}"
    first_inner, second_inner = CountingExpander(), CountingExpander()
    first = CachedExpander(first_inner, [LruCache(10), RedisCache(REDIS_URL, 60, namespace)])
    second = CachedExpander(second_inner, [LruCache(10), RedisCache(REDIS_URL, 60, namespace)])
    first.expand(["red shoes"])
    (out,) = second.expand(["red shoes"])
    assert second_inner.calls == [] and out.cached
    assert out.terms == (WeightedTerm("red shoes-x", 0.5),)
    # back-filled into the faster LRU: no second Redis round trip needed
    assert second.caches[0].get_many(["counting:v1:red shoes"])[0] is not None


@pytest.mark.integration
def test_redis_outage_is_a_miss_not_an_error():
    inner = CountingExpander()
    cached = CachedExpander(inner, [RedisCache("redis://127.0.0.1:1/0", 60)])
    (out,) = cached.expand(["kettle"])
    assert inner.calls == ["kettle"] and not out.cached and out.terms
