"""Embedded store candidates compared on the same world: index time, queries/s, retrieval
quality."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from aislestream.connectors.search import SearchRequest, build_search_store
from aislestream.core.metrics import score_by_type
from aislestream.evaluation.results import write_results
from aislestream.models.world import build_world
from aislestream.settings import Settings, StoreSettings

CANDIDATES = ("tantivy", "sqlite")


def run_store_bench(settings: Settings, write: bool, console: Console, k: int = 10) -> dict:
    with console.status("building the world"):
        world = build_world(settings.world)
    queries = world.queries
    results: dict[str, dict[str, float]] = {}
    for backend in CANDIDATES:
        path = Path(tempfile.mkdtemp(prefix=f"aisle-bench-{backend}-"))
        try:
            store = build_search_store(StoreSettings(backend=backend), path)
            with console.status(f"{backend}: indexing {len(world.products):,} products"):
                started = time.perf_counter()
                store.index(world.products)
                index_s = time.perf_counter() - started
            with console.status(f"{backend}: {len(queries):,} queries"):
                started = time.perf_counter()
                hits = store.search_many([SearchRequest(q.text, k=k) for q in queries])
                search_s = time.perf_counter() - started
            scores = score_by_type(((q.query_type, [h.id for h in hs], q.relevance)
                                    for q, hs in zip(queries, hits)), k)["all"]
            store.close()
            results[backend] = {"index_s": round(index_s, 3),
                                "docs_per_s": round(len(world.products) / index_s, 1),
                                "queries_per_s": round(len(queries) / search_s, 1),
                                f"recall_at_{k}": round(scores.recall, 4),
                                f"ndcg_at_{k}": round(scores.ndcg, 4)}
        finally:
            shutil.rmtree(path, ignore_errors=True)
    chosen = max(CANDIDATES, key=lambda b: results[b]["queries_per_s"])
    table = Table(title=f"embedded stores: {len(world.products):,} products, "
                        f"{len(queries):,} labelled queries")
    header = ["backend", "index s", "docs/s", "queries/s", f"recall@{k}", f"NDCG@{k}"]
    for col in header:
        table.add_column(col, justify="left" if col == "backend" else "right")
    rows = []
    for backend in CANDIDATES:
        r = results[backend]
        row = [backend, f"{r['index_s']:.2f}", f"{r['docs_per_s']:,.0f}",
               f"{r['queries_per_s']:,.0f}", f"{r[f'recall_at_{k}']:.3f}",
               f"{r[f'ndcg_at_{k}']:.3f}"]
        rows.append(row)
        table.add_row(*row)
    console.print(table)
    other = next(b for b in CANDIDATES if b != chosen)
    ratio = results[chosen]["queries_per_s"] / results[other]["queries_per_s"]
    console.print(f"chosen default: [bold]{chosen}[/] ({ratio:.0f}x the queries/s of the other)")
    payload = {"products": len(world.products), "queries": len(queries), "k": k,
               "backends": results, "chosen": chosen, "qps_ratio_chosen_to_other": round(ratio, 1)}
    if write:
        markdown = "\n".join([
            "## Embedded search store: tantivy vs SQLite FTS5", "",
            "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), "",
            f"Chosen default: **{chosen}**: {ratio:.0f}x the queries/s of {other}, which a stream "
            f"doing one search per message needs more than {other}'s recall@{k} difference of "
            f"{results[other][f'recall_at_{k}'] - results[chosen][f'recall_at_{k}']:+.3f} "
            "(both BM25; they differ in stemmer and BM25 details). SQLite FTS5 has no per-term "
            "boosts, so a weighted request is one MATCH per clause summed in SQL, and OR queries "
            "over frequent terms score every matching row.",
        ])
        write_results("stores", payload, markdown,
                      f"aisle bench stores --products {len(world.products)} "
                      f"--queries {len(queries)}")
    return payload
