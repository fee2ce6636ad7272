"""Hybrid retrieval: a lexical store (BM25) and dense kNN over sentence embeddings, fused by
reciprocal rank, behind the ``SearchStore`` contract, so that every caller (the pipeline, the
expansion channel, the evaluation) can use it in place of the lexical store.

    score(d) = 1 / (k_lexical + rank_bm25(d)) + dense_weight / (k_dense + rank_dense(d))

The dense channel embeds the shopper's original query only: expansion terms stay a lexical
matter (``search_fused`` puts them in a channel of their own), and a request's filters and price
bounds are applied to the dense candidates after the kNN search (which is why a batch in which
any request filters fetches ``depth`` times ``overfetch`` of them).

A request with ``dense=False`` is served by the lexical store alone, so that an experiment arm
can compare BM25 with hybrid retrieval on one worker; ``HybridConfig.default`` decides for
requests no arm assigns.

The embeddings persist beside the lexical index, append-only (``vector_files.VectorFiles``):
an ``embed`` appends its rows, so indexing in batches costs what the batches hold. On start
the vector index is rebuilt from them in memory. A product indexed again under its id replaces
the old vector: the old row is skipped from then on (a search asks the kNN for that many more
candidates), and the rows are compacted, on start or after an ``embed``, once stale rows
outnumber live ones.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from aislestream.connectors.search.base import (
    FusionConfig,
    Hit,
    SearchRequest,
    SearchStore,
    product_attributes,
    retrieval_of,
)
from aislestream.connectors.search.dense import Encoder, product_passage, vector_index
from aislestream.connectors.search.fusion import fuse
from aislestream.connectors.search.vector_files import VectorFiles
from aislestream.core.products import Product

COMPACT_AFTER = 10_000  # rows before an embed may compact stale ones away in process


@dataclass(frozen=True)
class HybridConfig:
    vectors: str = "exact"  # a dense.VECTOR_BACKENDS name, chosen by `aisle bench vectors`
    k_lexical: float = 60.0
    k_dense: float = 60.0
    dense_weight: float = 1.0
    depth: int = 100  # results each channel contributes
    overfetch: int = 4  # dense candidates per result wanted when a request filters
    default: bool = True  # serve requests with ``dense=None`` hybrid


@dataclass(frozen=True)
class _Doc:
    id: str
    title: str
    description: str
    attrs: dict[str, str]
    price: float

    def passes(self, r: SearchRequest) -> bool:
        if any(self.attrs.get(k) != v.lower() for k, v in r.filters.items()):
            return False
        if any(self.attrs.get(k) in {v.lower() for v in vs} for k, vs in r.exclude.items()):
            return False
        return ((r.price_min is None or self.price >= r.price_min)
                and (r.price_max is None or self.price <= r.price_max))


class HybridStore:
    """Thread safety as the protocol asks: ``embed`` adds vectors and documents under a lock,
    and a search holds it for its kNN and document lookup (not for encoding the queries), so
    it sees the products before or after an ``embed``, never half of one."""

    dense_available = True

    def __init__(self, lexical: SearchStore, encoder: Encoder, path: Path | None = None,
                 config: HybridConfig = HybridConfig()) -> None:
        self.name = f"{lexical.name}+dense"
        self._lexical = lexical
        self._encoder = encoder
        self.config = config
        self.dense_default = config.default
        self._lock = threading.Lock()
        self._docs: list[_Doc | None] = []  # by vector position; None once replaced
        self._position: dict[str, int] = {}
        self._index = vector_index(config.vectors, encoder.dim)
        self._files = None if path is None else VectorFiles(path, encoder.dim)
        self._load()

    def _load(self) -> None:
        if self._files is None:
            return
        records, vectors = self._files.load()
        self._add([_Doc(**r) for r in records], vectors)
        if 2 * len(self._position) < len(self._docs):
            self._compact(vectors)

    def _add(self, docs: list[_Doc], vectors: np.ndarray) -> None:
        start = len(self._docs)
        for offset, doc in enumerate(docs):
            old = self._position.get(doc.id)
            if old is not None:
                self._docs[old] = None
            self._position[doc.id] = start + offset
            self._docs.append(doc)
        self._index.add(vectors)

    def _compact(self, vectors: np.ndarray) -> None:
        """Live rows only, in their order, in memory and (if persisted) on disk; the caller
        holds the lock or is the constructor."""
        live = [i for i, d in enumerate(self._docs) if d is not None]
        docs: list[_Doc] = [self._docs[i] for i in live]  # type: ignore[misc]
        self._docs, self._position = [], {}
        self._index = vector_index(self.config.vectors, self._encoder.dim)
        self._add(docs, vectors[live])
        if self._files is not None:
            self._files.rewrite([asdict(d) for d in docs], vectors[live])

    def index(self, products: Iterable[Product], batch_size: int = 5_000) -> int:
        products = list(products)
        written = self._lexical.index(products, batch_size)
        self.embed(products)
        return written

    def embed(self, products: Sequence[Product]) -> None:
        """The dense side of ``index`` alone, for a lexical index that already holds these
        products: indexing them again would count replaced documents in BM25's statistics
        until segments merge (tantivy), moving every lexical score a little."""
        if not products:
            return
        docs = [_Doc(p.id, p.title, p.description, product_attributes(p), float(p.price))
                for p in products]
        vectors = self._encoder.encode([product_passage(p) for p in products])
        with self._lock:
            self._add(docs, vectors)
            if self._files is None:
                return  # in memory only: nothing to compact from
            self._files.append([asdict(d) for d in docs], vectors)
            if len(self._docs) > COMPACT_AFTER and 2 * len(self._position) < len(self._docs):
                self._compact(self._files.read_vectors())

    def dense_search_many(self, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        """The dense channel alone: each request's nearest products that pass its filters."""
        if not requests or not self._position:
            return [[] for _ in requests]
        queries = self._encoder.encode([r.query for r in requests])  # the slow part, unlocked
        filtering = any(r.filters or r.exclude or r.price_min is not None
                        or r.price_max is not None for r in requests)
        want = max(max(r.k for r in requests), self.config.depth)
        with self._lock:  # the kNN and the documents as one ``embed`` left them, or the next
            docs = self._docs
            stale = len(docs) - len(self._position)
            positions, sims = self._index.search(
                queries, want * (self.config.overfetch if filtering else 1) + stale)
            found = [[docs[int(pos)] if 0 <= pos < len(docs) else None for pos in row]
                     for row in positions]
        out = []
        for r, row, scores in zip(requests, found, sims):
            hits: list[Hit] = []
            for doc, score in zip(row, scores):
                if doc is not None and doc.passes(r):
                    hits.append(Hit(doc.id, float(score), doc.title, doc.description))
                    if len(hits) == max(r.k, self.config.depth):
                        break
            out.append(hits)
        return out

    def search_many(self, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        """One lexical call for every request (hybrid ones at fusion depth), one dense call
        for the hybrid ones; a request with ``dense=False`` gets its BM25 results as they are."""
        depth = self.config.depth
        hybrid = [i for i, r in enumerate(requests) if retrieval_of(self, r) == "hybrid"]
        wide = set(hybrid)
        lexical = self._lexical.search_many(
            [replace(r, k=max(r.k, depth)) if i in wide else r for i, r in enumerate(requests)])
        dense = self.dense_search_many([requests[i] for i in hybrid])
        rrf = FusionConfig(k_original=self.config.k_lexical, k_expansion=self.config.k_dense,
                           weight=self.config.dense_weight, depth=depth)
        for i, den in zip(hybrid, dense):
            lexical[i] = fuse(lexical[i], den, rrf, requests[i].k)
        return lexical

    def search(self, request: SearchRequest) -> list[Hit]:
        return self.search_many([request])[0]

    def count(self) -> int:
        return self._lexical.count()

    def missing(self, products: Sequence[Product]) -> list[Product]:
        """The products whose ids the dense side does not hold."""
        with self._lock:
            return [p for p in products if p.id not in self._position]

    def embedded(self) -> int:
        """Products the dense channel holds (``count`` is the lexical store's)."""
        return len(self._position)

    def close(self) -> None:
        self._lexical.close()
