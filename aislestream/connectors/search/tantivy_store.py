"""Embedded search store on tantivy (a Lucene-like engine in Rust), persisted to a directory."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import tantivy

from aislestream.connectors.search.base import Hit, SearchRequest, product_attributes
from aislestream.core.products import Product
from aislestream.core.text import tokenize
from aislestream.errors import StoreError

_TEXT_FIELDS = ["title", "description"]
_FIELD_BOOSTS = {"title": 2.0, "description": 1.0}


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("description", stored=True, tokenizer_name="en_stem")
    builder.add_json_field("attrs", stored=False, tokenizer_name="raw")
    builder.add_float_field("price", stored=False, indexed=True, fast=True)
    return builder.build()


class TantivyStore:
    name = "tantivy"

    def __init__(self, path: Path, writer_heap_mb: int = 128) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._schema = _schema()
        try:
            self._index = tantivy.Index(self._schema, path=str(path), reuse=True)
        except ValueError as exc:
            raise StoreError(f"cannot open tantivy index at {path}: {exc}") from exc
        self._heap = writer_heap_mb * 1024 * 1024
        self._searcher = self._index.searcher()

    def index(self, products: Iterable[Product], batch_size: int = 5_000) -> int:
        writer = self._index.writer(heap_size=self._heap, num_threads=1)
        written = 0
        for product in products:
            writer.delete_documents("id", product.id)  # replace by id: re-indexing is idempotent
            writer.add_document(tantivy.Document(
                id=product.id, title=product.title, description=product.description,
                attrs=product_attributes(product), price=float(product.price),
            ))
            written += 1
            if written % batch_size == 0:
                writer.commit()
        writer.commit()
        writer.wait_merging_threads()
        self._index.reload()
        self._searcher = self._index.searcher()
        return written

    def _text_query(self, text: str, boost: float) -> tantivy.Query | None:
        # tantivy's parser rejects a bare apostrophe ("men's"); its tokenizer splits words there
        # and at dots when indexing, so the query splits them the same way.
        tokens = [part for token in tokenize(text) for part in re.split(r"[.']", token) if part]
        if not tokens:
            return None
        query = self._index.parse_query(" ".join(tokens), _TEXT_FIELDS, field_boosts=_FIELD_BOOSTS)
        return query if boost == 1.0 else tantivy.Query.boost_query(query, boost)

    def _query(self, request: SearchRequest) -> tantivy.Query:
        text_clauses = [self._text_query(request.query, 1.0)]
        text_clauses += [self._text_query(t.term, t.weight)
                         for t in request.expansions if t.weight > 0]
        should = [(tantivy.Occur.Should, q) for q in text_clauses if q is not None]
        must: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if should:
            must.append((tantivy.Occur.Must, tantivy.Query.boolean_query(should)))
        for key, value in request.filters.items():
            term = tantivy.Query.term_query(self._schema, f"attrs.{key}", value.lower())
            must.append((tantivy.Occur.Must, term))
        for key, values in request.exclude.items():
            must += [(tantivy.Occur.MustNot,
                      tantivy.Query.term_query(self._schema, f"attrs.{key}", v.lower()))
                     for v in values]
        if request.price_min is not None or request.price_max is not None:
            must.append((tantivy.Occur.Must, tantivy.Query.range_query(
                self._schema, "price", tantivy.FieldType.Float,
                request.price_min, request.price_max,
            )))
        if not any(occur == tantivy.Occur.Must for occur, _ in must):
            if not must:
                return tantivy.Query.empty_query()
            # only exclusions: all but them
            must.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(must)

    def search(self, request: SearchRequest) -> list[Hit]:
        searcher = self._searcher
        result = searcher.search(self._query(request), limit=request.k, count=False)
        hits = []
        for score, address in result.hits:
            doc = searcher.doc(address)
            hits.append(Hit(
                id=doc["id"][0], score=float(score),
                title=doc["title"][0], description=doc["description"][0],
            ))
        return hits

    def search_many(self, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        return [self.search(r) for r in requests]

    def count(self) -> int:
        return self._searcher.num_docs

    def close(self) -> None:
        self._searcher = None  # type: ignore[assignment]
