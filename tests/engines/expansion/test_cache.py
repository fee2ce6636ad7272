import json
import logging
import uuid

import pytest

from aislestream.core.text import WeightedTerm
from aislestream.engines.expansion import CachedExpander, Expansion, LruCache, RedisCache

REDIS_URL = "redis://127.0.0.1:6379/0"


class CountingExpander:
    name, variant = "counting", "v1"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def expand(self, queries):
        self.calls += list(queries)
        return [Expansion(q, (WeightedTerm(f"{q}-x", 0.5),), self.name, self.variant)
                for q in queries]


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


@pytest.fixture
def redis_cache():
    """A RedisCache in a namespace of its own, emptied afterwards."""
    cache = RedisCache(REDIS_URL, 60, f"aisle-test:{uuid.uuid4().hex}")
    yield cache
    keys = list(cache._redis.scan_iter(f"{cache.namespace}:*"))
    if keys:
        cache._redis.delete(*keys)


def _valid(**changes):
    value = {"query": "red shoes", "engine": "counting", "variant": "v1",
             "terms": [["trainers", 0.25]]}
    return json.dumps({**value, **changes})


BAD_VALUES = {
    "not json": b"{not json",
    "not an object": json.dumps([["trainers", 0.25]]),
    "missing key": json.dumps({"query": "red shoes", "engine": "counting", "terms": []}),
    "unknown key": _valid(cached=True),
    "huge weight": _valid(terms=[["trainers", 1e308]]),
    "nan weight": _valid(terms=[["trainers", float("nan")]]),  # json.dumps writes NaN
    "infinite weight": _valid(terms=[["trainers", float("inf")]]),
    "negative weight": _valid(terms=[["trainers", -0.5]]),
    "weight as string": _valid(terms=[["trainers", "0.25"]]),
    "term not a string": _valid(terms=[[7, 0.25]]),
    "empty term": _valid(terms=[["", 0.25]]),
    "term too long": _valid(terms=[["x" * 500, 0.25]]),
    "pair of three": _valid(terms=[["trainers", 0.25, 1]]),
    "terms not a list": _valid(terms={"trainers": 0.25}),
    "too many terms": _valid(terms=[[f"t{i}", 0.001] for i in range(100)]),
    "oversized value": _valid(query="shoes " * 20_000),
    "mass too high for the query": _valid(terms=[["a", 5.0], ["b", 5.0]]),  # 2 tokens: limit 8.0
    "engine not a string": _valid(engine=None),
}


@pytest.mark.integration
@pytest.mark.parametrize("raw", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_a_bad_stored_value_is_a_miss_and_is_deleted(redis_cache, raw):
    stored = redis_cache._key("counting:v1:red shoes")
    redis_cache._redis.set(stored, raw, ex=60)
    assert redis_cache.get_many(["counting:v1:red shoes", "counting:v1:absent"]) == [None, None]
    assert redis_cache._redis.exists(stored) == 0 and redis_cache.invalid == 1


@pytest.mark.integration
def test_a_bad_stored_value_is_recomputed_and_rewritten(redis_cache):
    redis_cache._redis.set(redis_cache._key("counting:v1:red shoes"), b"\xff garbage", ex=60)
    inner = CountingExpander()
    (out,) = CachedExpander(inner, [redis_cache]).expand(["red shoes"])  # raised before
    assert inner.calls == ["red shoes"] and not out.cached
    (again,) = CachedExpander(CountingExpander(), [redis_cache]).expand(["red shoes"])
    assert again.cached and again.terms == (WeightedTerm("red shoes-x", 0.5),)


@pytest.mark.integration
def test_expansions_at_the_edge_of_the_real_weight_range_are_kept(redis_cache):
    # a PRF weight rounded to 0.0, and one term carrying the whole RM3 mass of a long query at
    # lambda 0.2 (4.0 per token): both are what the expanders can really produce
    long_query = "waterproof hiking boots for wide feet in dark brown leather"
    expansions = [Expansion("kettle", (WeightedTerm("boil", 0.0), WeightedTerm("jug", 0.3)),
                            "prf", "v"),
                  Expansion(long_query, (WeightedTerm("trek", 4.0 * 10),), "prf", "v")]
    redis_cache.put_many([("a", expansions[0]), ("b", expansions[1])])
    assert redis_cache.get_many(["a", "b"]) == expansions and redis_cache.invalid == 0


@pytest.mark.integration
def test_an_expansion_that_would_be_rejected_is_not_stored(redis_cache):
    bad = Expansion("kettle", (WeightedTerm("boil", float("nan")),), "prf", "v")
    good = Expansion("kettle", (WeightedTerm("jug", 0.3),), "prf", "v")
    redis_cache.put_many([("bad", bad), ("good", good)])  # no exception: the good one is written
    assert redis_cache.get_many(["bad", "good"]) == [None, good] and redis_cache.invalid == 0


@pytest.mark.integration
def test_an_outage_warns_once_not_once_per_batch(caplog):
    cached = CachedExpander(CountingExpander(), [RedisCache("redis://127.0.0.1:1/0", 60)])
    with caplog.at_level(logging.WARNING, logger="aislestream.engines.expansion.cache"):
        for _ in range(5):
            cached.expand(["kettle"])
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(":")[0] for m in messages] == ["redis cache unavailable, treating as miss",
                                                   "redis cache unavailable, not storing"], messages
