"""Expansion caches: an in-process LRU in front of an optional shared Redis cache.

Shoppers repeat queries heavily (head queries dominate traffic), so most expansions
are served from memory. A cache failure is a miss, never an error: search must not
depend on Redis being up.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from aislestream.connectors.search.base import WeightedTerm
from aislestream.engines.expansion.base import Expander, Expansion, normalize_query

log = logging.getLogger(__name__)


class ExpansionCache(Protocol):
    def get_many(self, keys: Sequence[str]) -> list[Expansion | None]: ...

    def put_many(self, items: Sequence[tuple[str, Expansion]]) -> None: ...


class LruCache:
    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._data: OrderedDict[str, Expansion] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def get_many(self, keys: Sequence[str]) -> list[Expansion | None]:
        out = []
        for key in keys:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            out.append(value)
        return out

    def put_many(self, items: Sequence[tuple[str, Expansion]]) -> None:
        for key, value in items:
            self._data[key] = value
            self._data.move_to_end(key)
        while len(self._data) > self.max_size:
            self._data.popitem(last=False)


class RedisCache:
    """Shared across workers; values are JSON with a TTL so model upgrades age out."""

    def __init__(self, url: str, ttl_s: int = 3600, namespace: str = "aisle:expansion") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.05, socket_connect_timeout=0.5)
        self.ttl_s = ttl_s
        self.namespace = namespace

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{hashlib.sha1(key.encode()).hexdigest()}"

    def get_many(self, keys: Sequence[str]) -> list[Expansion | None]:
        import redis

        try:
            raw = self._redis.mget([self._key(k) for k in keys])
        except redis.RedisError as exc:
            log.warning("redis cache unavailable, treating as miss: %s", exc)
            return [None] * len(keys)
        out: list[Expansion | None] = []
        for value in raw:
            if value is None:
                out.append(None)
                continue
            data = json.loads(value)
            terms = tuple(WeightedTerm(t, w) for t, w in data.pop("terms"))
            out.append(Expansion(terms=terms, **data))
        return out

    def put_many(self, items: Sequence[tuple[str, Expansion]]) -> None:
        import redis

        try:
            pipe = self._redis.pipeline(transaction=False)
            for key, e in items:
                value = {"query": e.query, "engine": e.engine, "variant": e.variant,
                         "terms": [(t.term, t.weight) for t in e.terms]}
                pipe.set(self._key(key), json.dumps(value), ex=self.ttl_s)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("redis cache unavailable, not storing: %s", exc)


class CachedExpander:
    """Looks queries up in each cache in order, back-fills faster caches, expands the misses."""

    def __init__(self, inner: Expander, caches: Sequence[ExpansionCache]) -> None:
        self.inner = inner
        self.caches = list(caches)
        self.name = inner.name
        self.variant = inner.variant

    def _key(self, query: str) -> str:
        return f"{self.name}:{self.variant}:{normalize_query(query)}"

    def expand(self, queries: Sequence[str]) -> list[Expansion]:
        keys = [self._key(q) for q in queries]
        found: list[Expansion | None] = [None] * len(queries)
        for level, cache in enumerate(self.caches):
            missing = [i for i, f in enumerate(found) if f is None]
            if not missing:
                break
            for i, value in zip(missing, cache.get_many([keys[i] for i in missing])):
                if value is not None:
                    found[i] = replace(value, query=queries[i], cached=True)
                    for faster in self.caches[:level]:
                        faster.put_many([(keys[i], value)])
        missing = [i for i, f in enumerate(found) if f is None]
        if missing:
            fresh = self.inner.expand([queries[i] for i in missing])
            for i, value in zip(missing, fresh):
                found[i] = value
            for cache in self.caches:
                cache.put_many([(keys[i], found[i]) for i in missing])  # type: ignore[misc]
        return found  # type: ignore[return-value]
