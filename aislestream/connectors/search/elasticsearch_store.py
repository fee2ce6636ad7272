"""Search store on Elasticsearch through the official client (the production backend).

Installed with the ``elasticsearch`` extra. Documents use the product id as ``_id`` so bulk
re-indexing replaces rather than duplicates; attributes are keyword fields under ``attrs``.
A secured cluster takes an API key or a user and password, and a CA bundle for its certificate
(``StoreSettings.es_*``, mapped by :func:`client_options`).

With an ``encoder`` (``store.dense``) the store is hybrid the way Elasticsearch does it: each
product's embedding goes in a ``dense_vector`` field (cosine, HNSW-indexed by the cluster), and
a search is an ``rrf`` retriever over the BM25 query and a ``knn`` retriever on the query's
embedding, both under the request's filters (retrievers are GA from Elasticsearch 8.16). A
request with ``dense=False`` (an experiment arm on BM25) is a plain BM25 search; ``dense_default``
decides for requests that do not say.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from aislestream.connectors.search.base import (
    Hit,
    SearchRequest,
    product_attributes,
    retrieval_of,
)
from aislestream.connectors.search.dense import Encoder, product_passage
from aislestream.core.products import Product
from aislestream.core.text import tokenize
from aislestream.errors import ConfigError, StoreError, StoreUnavailable
from aislestream.redact import redact, redact_url
from aislestream.settings import StoreSettings

try:
    from elasticsearch import Elasticsearch, helpers
    from elasticsearch import exceptions as es_exceptions
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the Elasticsearch store needs the 'elasticsearch' extra: "
        "pip install 'aislestream[elasticsearch]'"
    ) from exc

TEMPLATE = {
    "settings": {"number_of_shards": 1, "number_of_replicas": 0},
    "mappings": {
        "dynamic_templates": [
            {"attrs_as_keywords": {"path_match": "attrs.*", "mapping": {"type": "keyword"}}}
        ],
        "properties": {
            "id": {"type": "keyword"},
            "title": {"type": "text", "analyzer": "english"},
            "description": {"type": "text", "analyzer": "english"},
            "price": {"type": "float"},
            "attrs": {"type": "object"},
        },
    },
}
_FIELDS = ["title^2", "description"]
EMBEDDING = "embedding"


def template(dims: int | None) -> dict:
    """The index template; with ``dims`` a dense_vector field for the products' embeddings."""
    if dims is None:
        return TEMPLATE
    properties = {**TEMPLATE["mappings"]["properties"],  # type: ignore[index]
                  EMBEDDING: {"type": "dense_vector", "dims": dims, "index": True,
                              "similarity": "cosine"}}
    return {**TEMPLATE, "mappings": {**TEMPLATE["mappings"], "properties": properties}}


def client_options(settings: StoreSettings) -> dict[str, Any]:
    """``Elasticsearch(url, **client_options(settings))``: credentials, and for an https URL how
    the cluster's certificate is checked (the client refuses TLS options on http URLs)."""
    options: dict[str, Any] = {}
    if settings.es_api_key is not None:
        options["api_key"] = settings.es_api_key.get_secret_value()
    if settings.es_username is not None and settings.es_password is not None:
        options["basic_auth"] = (settings.es_username, settings.es_password.get_secret_value())
    if (settings.es_url or "").lower().startswith("https://"):
        options["verify_certs"] = settings.es_verify_certs
        if settings.es_ca_certs is not None:
            options["ca_certs"] = str(settings.es_ca_certs)
    return options


class ElasticsearchStore:
    name = "elasticsearch"

    def __init__(self, url: str, index: str = "aisle-products", timeout_s: float = 10.0,
                 options: Mapping[str, Any] | None = None, encoder: Encoder | None = None,
                 dense_depth: int = 100, dense_default: bool = True) -> None:
        if not url:
            raise ConfigError("store.es_url is required for the elasticsearch backend")
        self.index_name = index
        self._encoder = encoder
        self._depth = dense_depth
        self.dense_available = encoder is not None
        self.dense_default = dense_default
        self._es = Elasticsearch(url, request_timeout=timeout_s, **(options or {}))
        try:
            self._es.indices.put_index_template(
                name=f"{index}-template", index_patterns=[index],
                template=template(encoder.dim if encoder is not None else None))
            if not self._es.indices.exists(index=index):
                self._es.indices.create(index=index)
        except es_exceptions.AuthenticationException as exc:
            raise StoreError(f"Elasticsearch at {redact_url(url)} refused the credentials (see "
                             "store.es_api_key, store.es_username/es_password): "
                             f"{redact(str(exc))}") from exc
        except es_exceptions.ConnectionError as exc:  # TLS failures included (TlsError)
            raise StoreError(
                f"cannot reach Elasticsearch at {redact_url(url)}: {redact(str(exc))}") from exc

    def _actions(self, products: Iterable[Product], batch_size: int) -> Iterator[dict]:
        """Bulk actions, embedded a batch at a time when the store is hybrid."""
        remaining = iter(products)
        while batch := list(islice(remaining, batch_size)):
            vectors = (self._encoder.encode([product_passage(b) for b in batch]).tolist()
                       if self._encoder is not None else [None] * len(batch))
            for b, vector in zip(batch, vectors):
                source = {"id": b.id, "title": b.title, "description": b.description,
                          "price": b.price, "attrs": product_attributes(b)}
                if vector is not None:
                    source[EMBEDDING] = vector
                yield {"_index": self.index_name, "_id": b.id, "_source": source}

    def index(self, products: Iterable[Product], batch_size: int = 5_000) -> int:
        written, errors = helpers.bulk(
            self._es, self._actions(products, batch_size), chunk_size=batch_size,
            raise_on_error=False,
        )
        if errors:
            raise StoreError(f"Elasticsearch rejected {len(errors)} document(s), e.g. {errors[:1]}")
        self._es.indices.refresh(index=self.index_name)
        return int(written)

    @staticmethod
    def build_query(request: SearchRequest) -> dict:
        should = []
        if tokenize(request.query):
            should.append({"multi_match": {"query": request.query, "fields": _FIELDS}})
        should += [
            {"multi_match": {"query": t.term, "fields": _FIELDS, "boost": t.weight}}
            for t in request.expansions if t.weight > 0 and tokenize(t.term)
        ]
        filters: list[dict] = [{"term": {f"attrs.{k}": v.lower()}}
                               for k, v in request.filters.items()]
        if request.price_min is not None or request.price_max is not None:
            bounds = {"gte": request.price_min, "lte": request.price_max}
            filters.append({"range": {"price": {k: v for k, v in bounds.items() if v is not None}}})
        query: dict = {"bool": {"filter": filters}}
        excluded = [{"term": {f"attrs.{k}": v.lower()}}
                    for k, vs in request.exclude.items() for v in vs]
        if excluded:
            query["bool"]["must_not"] = excluded
        if should:
            query["bool"].update(should=should, minimum_should_match=1)
        return query

    @staticmethod
    def build_hybrid(request: SearchRequest, vector: Sequence[float], depth: int = 100) -> dict:
        """The search body of a hybrid request: RRF over BM25 and kNN, both filtered."""
        query = ElasticsearchStore.build_query(request)
        window = max(request.k, depth)
        knn: dict = {"field": EMBEDDING, "query_vector": list(vector), "k": window,
                     "num_candidates": 2 * window}
        filters = {k: v for k, v in query["bool"].items() if k in ("filter", "must_not")}
        if filters.get("filter") or filters.get("must_not"):
            knn["filter"] = {"bool": filters}
        return {"retriever": {"rrf": {"retrievers": [{"standard": {"query": query}},
                                                     {"knn": knn}],
                                      "rank_window_size": window}},
                "size": request.k}

    def search(self, request: SearchRequest) -> list[Hit]:
        return self.search_many([request])[0]

    def _bodies(self, requests: Sequence[SearchRequest]) -> list[dict]:
        """The msearch body: hybrid (rrf over BM25 and kNN) where ``retrieval_of`` says so,
        plain BM25 elsewhere; the queries of hybrid requests are embedded in one call."""
        hybrid = [i for i, r in enumerate(requests) if retrieval_of(self, r) == "hybrid"]
        vectors: list[list[float] | None] = [None] * len(requests)
        if hybrid and self._encoder is not None:
            encoded = self._encoder.encode([requests[i].query for i in hybrid]).tolist()
            for i, vector in zip(hybrid, encoded):
                vectors[i] = vector
        body: list[dict] = []
        for r, vector in zip(requests, vectors):  # one round trip for the whole batch
            search = (self.build_hybrid(r, vector, self._depth) if vector is not None
                      else {"query": self.build_query(r), "size": r.k})
            body += [{"index": self.index_name},
                     {**search, "_source": ["id", "title", "description"]}]
        return body

    def search_many(self, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        if not requests:
            return []
        body = self._bodies(requests)
        try:
            responses = self._es.msearch(searches=body)["responses"]
        except (es_exceptions.ConnectionError, es_exceptions.ConnectionTimeout) as exc:
            raise StoreUnavailable(f"Elasticsearch is unreachable: {redact(str(exc))}") from None
        except es_exceptions.ApiError as exc:
            # overloaded or restarting: wait, do not reject
            if exc.meta.status in (429, 502, 503, 504):
                raise StoreUnavailable(
                    f"Elasticsearch answered {exc.meta.status}: {redact(str(exc))}") from None
            raise
        out = []
        for response in responses:
            if "error" in response:
                raise StoreError(f"Elasticsearch search failed: {response['error']}")
            out.append([
                Hit(id=h["_source"]["id"], score=float(h["_score"] or 0.0),
                    title=h["_source"]["title"], description=h["_source"].get("description", ""))
                for h in response["hits"]["hits"]
            ])
        return out

    def count(self) -> int:
        return int(self._es.count(index=self.index_name)["count"])

    def close(self) -> None:
        self._es.close()
