"""Index a world's catalog into the configured store, skipping work that is already done."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from aislestream.connectors.search import SearchStore, build_search_store
from aislestream.models.world import World
from aislestream.settings import Settings

MARKER = "aisle-index.json"


def world_fingerprint(settings: Settings) -> str:
    w = settings.world
    if w.catalog_path is not None:
        stat = Path(w.catalog_path).stat()
        return f"external:{Path(w.catalog_path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    profile = "" if w.profile == "default" else f":{w.profile}"  # default markers stay valid
    return f"synthetic:{w.seed}:{w.n_products}{profile}"


def _embed_missing(store: SearchStore, world: World) -> None:
    """Dense turned on over a complete lexical index: embed the products the dense side does
    not hold yet (by id), leave the lexical index as it is."""
    from aislestream.connectors.search.hybrid import HybridStore

    if isinstance(store, HybridStore):
        store.embed(store.missing(world.products))


def ensure_indexed(settings: Settings, world: World,
                   progress: Callable[[int, int], None] | None = None,
                   chunk: int = 5_000) -> tuple[SearchStore, bool]:
    """Return the store and whether it was (re)built. Idempotent by product id either way."""
    path = settings.store_path()
    store = build_search_store(settings.store, path)
    marker = path / MARKER
    fingerprint = world_fingerprint(settings)
    if marker.exists() and json.loads(marker.read_text()).get("fingerprint") == fingerprint \
            and store.count() == len(world.products):
        _embed_missing(store, world)
        return store, False
    total = len(world.products)
    for start in range(0, total, chunk):
        store.index(world.products[start:start + chunk])
        if progress is not None:
            progress(min(start + chunk, total), total)
    path.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"fingerprint": fingerprint, "documents": store.count()}))
    return store, True
