"""The search-store contract every backend implements (Elasticsearch, tantivy, SQLite FTS5).

A request is the shopper's original query plus weighted expansion terms and exact-match
filters; backends score ``original + sum(weight_i * match(term_i))`` in their native way
and require at least one text clause to match when there is any text at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from aislestream.core.products import Product
from aislestream.core.text import WeightedTerm


@dataclass(frozen=True)
class FusionConfig:
    """Serve a request's expansion as a channel beside the original query's results
    (``connectors.search.fusion``): ``rrf`` fuses the two rankings, ``expanded`` takes the
    expanded one as it is; with ``gate`` only where the original retrieval looks weak."""

    method: Literal["rrf", "expanded"] = "rrf"
    gate: bool = False
    k_original: float = 10.0
    k_expansion: float = 60.0
    weight: float = 1.0  # of the expansion channel
    depth: int = 100  # results each channel contributes

    def __post_init__(self) -> None:
        if self.method not in ("rrf", "expanded") or self.k_original <= 0 or \
                self.k_expansion <= 0 or self.weight < 0 or self.depth < 1:
            raise ValueError(f"invalid fusion config {self}")


@dataclass(frozen=True)
class SearchRequest:
    query: str
    expansions: tuple[WeightedTerm, ...] = ()
    filters: dict[str, str] = field(default_factory=dict)  # attribute -> exact value
    price_min: float | None = None
    price_max: float | None = None
    k: int = 10
    # attribute -> values it must not have
    exclude: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # None: the stores mix the expansion terms into the query; else ``search_fused`` serves
    # them as a fused channel (a store's own search ignores this field)
    fusion: FusionConfig | None = None
    # the dense channel: None lets the store decide (hybrid stores default to it), False
    # keeps a hybrid store to BM25, True asks for it (a store without one serves BM25:
    # ``retrieval_of`` says which ran); experiment arms set it per request
    dense: bool | None = None


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    title: str
    description: str = ""


@runtime_checkable
class SearchStore(Protocol):
    """Threads: one store serves a whole worker. The PRF expander searches on its thread pool
    (and a timed-out expansion keeps running there) while the event loop's pipeline searches
    the same store, and the assistant searches from another thread, so:

    - ``search``, ``search_many`` and ``count`` may be called from any thread, concurrently
      with each other and with one ``index`` call;
    - a search beside ``index`` answers from the catalog before or after each product's
      replacement, never with a product missing half-way (SQLite: a lock around its one
      connection, a search waits for the re-index to commit; tantivy: the searcher is swapped
      whole after the commit; Elasticsearch: per document, at its refreshes);
    - ``index`` calls must not overlap one another (tantivy allows one writer per index);
    - ``close`` only once every other call has returned.
    """

    name: str

    def index(self, products: Iterable[Product], batch_size: int = 5_000) -> int:
        """Insert or replace products by id (idempotent); returns how many were written."""

    def search(self, request: SearchRequest) -> list[Hit]: ...

    def search_many(self, requests: Sequence[SearchRequest]) -> list[list[Hit]]: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


def dense_available(store: SearchStore) -> bool:
    """Whether ``store`` has a dense channel a request can ask for."""
    return bool(getattr(store, "dense_available", False))


def retrieval_of(store: SearchStore, request: SearchRequest) -> str:
    """``"hybrid"`` or ``"lexical"``: what ``store`` serves ``request`` with."""
    if not dense_available(store):
        return "lexical"
    wanted = request.dense if request.dense is not None else \
        bool(getattr(store, "dense_default", True))
    return "hybrid" if wanted else "lexical"


def product_attributes(product: Product) -> dict[str, str]:
    """Attributes as stored for filtering: lower-cased, so filters are case-insensitive."""
    return {k: v.lower() for k, v in product.attributes().items()}
