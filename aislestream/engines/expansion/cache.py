"""Expansion caches: an in-process LRU in front of an optional shared Redis cache.

Shoppers repeat queries heavily (head queries dominate traffic), so most expansions
are served from memory. A cache failure is a miss, never an error: search must not
depend on Redis being up. Nor on what Redis holds: a stored value is checked before it
is used, and one that does not check out is a miss, deleted so that it is recomputed.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aislestream.core.text import WeightedTerm, tokenize
from aislestream.engines.expansion.base import Expander, Expansion, normalize_query
from aislestream.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)

# Bounds on a stored value. RM3 gives the expansion a total weight proportional to the query's
# token count, (1 - lambda) / lambda per token (0.25 at the default lambda 0.8); the LLM
# expanders a fixed ``mass`` (0.5) whatever the length. 4.0 per token admits lambda down to 0.2
# and eight times the LLM default; past it the expansion, not the shopper's words, decides the
# ranking, which is what a corrupt value (1e308) would do. Defaults make 8 and 6 terms of
# catalogue words.
MAX_MASS_PER_TOKEN = 4.0
MAX_TERMS = 64
MAX_TERM_CHARS = 64
MAX_VALUE_BYTES = 64 * 1024  # checked before parsing: a huge value costs no JSON parse

Name = Annotated[str, Field(min_length=1, max_length=128)]
Term = Annotated[str, Field(min_length=1, max_length=MAX_TERM_CHARS)]
Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]  # PRF rounds tiny weights to 0.0


class StoredExpansion(BaseModel):
    """The JSON ``RedisCache`` writes; anything else under its keys is not an expansion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    query: str
    engine: Name
    variant: Name
    terms: list[tuple[Term, Weight]] = Field(max_length=MAX_TERMS)

    @model_validator(mode="after")
    def _bounded_mass(self) -> StoredExpansion:
        limit = MAX_MASS_PER_TOKEN * max(1, len(tokenize(self.query)))
        if sum(w for _, w in self.terms) > limit:
            raise ValueError(f"total weight above {limit:g} for the query's length")
        return self

    @classmethod
    def of(cls, e: Expansion) -> StoredExpansion:
        return cls(query=e.query, engine=e.engine, variant=e.variant,
                   terms=[(t.term, t.weight) for t in e.terms])

    def expansion(self) -> Expansion:
        terms = tuple(WeightedTerm(t, w) for t, w in self.terms)
        return Expansion(self.query, terms, self.engine, self.variant)


def parse_stored(raw: bytes) -> Expansion:
    """The expansion a stored value holds; ValueError (ValidationError is one) if it holds none."""
    if len(raw) > MAX_VALUE_BYTES:
        raise ValueError(f"value of {len(raw)} bytes, limit is {MAX_VALUE_BYTES}")
    return StoredExpansion.model_validate_json(raw).expansion()


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
    """Shared across workers; values are JSON with a TTL so model upgrades age out.

    Another writer, an old release or a corrupted value must not break a batch or skew
    ranking, so values are validated on read; a bad one is deleted, since otherwise it would
    be a miss (a recompute) on every batch until its TTL ran out. Warnings are rate-limited:
    during an outage every batch fails the same way.
    """

    def __init__(self, url: str, ttl_s: int = 3600, namespace: str = "aisle:expansion") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.05, socket_connect_timeout=0.5)
        self.ttl_s = ttl_s
        self.namespace = namespace
        self.invalid = 0  # bad values found (and deleted) since start
        self._warn = RateLimitedLog(log, interval_s=30.0)

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{hashlib.sha1(key.encode()).hexdigest()}"

    def get_many(self, keys: Sequence[str]) -> list[Expansion | None]:
        import redis

        redis_keys = [self._key(k) for k in keys]
        try:
            raw = self._redis.mget(redis_keys)
        except redis.RedisError as exc:
            self._warn.warning("get", "redis cache unavailable, treating as miss: %s", exc)
            return [None] * len(keys)
        out: list[Expansion | None] = []
        bad: list[str] = []
        for redis_key, value in zip(redis_keys, raw):
            expansion = None
            if value is not None:
                try:
                    expansion = parse_stored(value)
                except ValueError as exc:
                    bad.append(redis_key)
                    self._warn.warning("invalid", "invalid cached expansion %s, deleted: %s",
                                       redis_key, _reason(exc))
            out.append(expansion)
        if bad:
            self.invalid += len(bad)
            self._delete(bad)
        return out

    def _delete(self, redis_keys: list[str]) -> None:
        """Best effort: a value rewritten meanwhile by another worker is lost, one recompute."""
        import redis

        try:
            self._redis.delete(*redis_keys)
        except redis.RedisError as exc:
            self._warn.warning("delete", "redis cache unavailable, invalid values not deleted: %s",
                               exc)

    def put_many(self, items: Sequence[tuple[str, Expansion]]) -> None:
        import redis

        values: list[tuple[str, str]] = []
        for key, e in items:
            try:
                values.append((self._key(key), StoredExpansion.of(e).model_dump_json()))
            except ValidationError as exc:  # would be rejected on read: not worth a round trip
                self._warn.warning("unstorable", "not caching an expansion from %s: %s",
                                   e.engine, _reason(exc))
        if not values:
            return
        try:
            pipe = self._redis.pipeline(transaction=False)
            for redis_key, value in values:
                pipe.set(redis_key, value, ex=self.ttl_s)
            pipe.execute()
        except redis.RedisError as exc:
            self._warn.warning("put", "redis cache unavailable, not storing: %s", exc)


def _reason(exc: ValueError) -> str:
    """Why a value was rejected, without echoing the value (it can be huge, or anyone's data)."""
    if isinstance(exc, ValidationError):
        first = exc.errors(include_input=False, include_url=False)[0]
        return (f"{first['type']} at {'.'.join(map(str, first['loc'])) or 'top'} "
                f"({exc.error_count()} in all)")
    return str(exc)


class CachedExpander:
    """Looks queries up in each cache in order, back-fills faster caches, expands the misses
    (``hits`` and ``misses`` count queries, for the worker's metrics)."""

    def __init__(self, inner: Expander, caches: Sequence[ExpansionCache]) -> None:
        self.inner = inner
        self.caches = list(caches)
        self.name = inner.name
        self.variant = inner.variant
        self.hits = self.misses = 0

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
        self.hits += len(queries) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = self.inner.expand([queries[i] for i in missing])
            for i, value in zip(missing, fresh):
                found[i] = value
            for cache in self.caches:
                cache.put_many([(keys[i], found[i]) for i in missing])  # type: ignore[misc]
        return found  # type: ignore[return-value]
