"""Search stores: one protocol, one file per backend, and ``build_search_store`` to pick one."""

from __future__ import annotations

from pathlib import Path

from aislestream.connectors.search.base import FusionConfig, Hit, SearchRequest, SearchStore
from aislestream.connectors.search.fusion import search_fused
from aislestream.settings import StoreSettings

__all__ = ["FusionConfig", "Hit", "SearchRequest", "SearchStore", "build_search_store",
           "search_fused"]


def build_search_store(settings: StoreSettings, path: Path) -> SearchStore:
    """Backends import lazily so an unused optional dependency is never required. With
    ``dense`` an embedded store is wrapped in the hybrid store (its vectors under
    ``path``/dense); Elasticsearch does its own hybrid search."""
    encoder = None
    if settings.dense:
        from aislestream.connectors.search.dense import MiniLMEncoder

        encoder = MiniLMEncoder()
    if settings.backend == "elasticsearch":
        from aislestream.connectors.search.elasticsearch_store import (
            ElasticsearchStore,
            client_options,
        )

        return ElasticsearchStore(settings.es_url or "", settings.index,
                                  options=client_options(settings), encoder=encoder,
                                  dense_default=settings.dense_default)
    store = _lexical_store(settings, path)
    if encoder is None:
        return store
    from aislestream.connectors.search.hybrid import HybridConfig, HybridStore

    return HybridStore(store, encoder, path / "dense",
                       HybridConfig(vectors=settings.vectors, dense_weight=settings.dense_weight,
                                    default=settings.dense_default))


def _lexical_store(settings: StoreSettings, path: Path) -> SearchStore:
    if settings.backend == "tantivy":
        from aislestream.connectors.search.tantivy_store import TantivyStore

        return TantivyStore(path)
    from aislestream.connectors.search.sqlite_store import SqliteFtsStore

    return SqliteFtsStore(path)
