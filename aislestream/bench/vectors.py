"""Vector index candidates for the embedded stores' dense channel, compared in one run on the
same vectors: build seconds, queries/s at batch 1 and 64, and recall@k against exact search.

Two corpora: the world's products embedded by all-MiniLM-L6-v2 (the vectors a deployment
serves), and random unit vectors at a larger size (what a bigger catalog costs; random vectors
are the hard case for graph indexes, so their recall is a lower bound).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from rich.console import Console
from rich.table import Table

from aislestream.connectors.search.dense import (
    VECTOR_BACKENDS,
    MiniLMEncoder,
    product_passage,
    vector_index,
)
from aislestream.errors import ConfigError
from aislestream.evaluation.results import write_results
from aislestream.models.world import build_world
from aislestream.settings import Settings

RECALL_FLOOR = 0.95  # a backend below it against exact search is not chosen


def _measure(backend: str, rows: np.ndarray, queries: np.ndarray, truth: np.ndarray,
             k: int) -> dict[str, float]:
    index = vector_index(backend, rows.shape[1])
    started = time.perf_counter()
    index.add(rows)
    build_s = time.perf_counter() - started
    single = queries[:200]
    started = time.perf_counter()
    for q in single:
        index.search(q[None, :], k)
    one_s = time.perf_counter() - started
    started = time.perf_counter()
    found = np.vstack([index.search(queries[i:i + 64], k)[0] for i in range(0, len(queries), 64)])
    batch_s = time.perf_counter() - started
    recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(truth, found)]))
    return {"build_s": round(build_s, 3), "queries_per_s_batch1": round(len(single) / one_s, 1),
            "queries_per_s_batch64": round(len(queries) / batch_s, 1),
            f"recall_at_{k}": round(recall, 4)}


def compare(rows: np.ndarray, queries: np.ndarray, k: int,
            backends: Sequence[str] = VECTOR_BACKENDS) -> dict[str, dict[str, float]]:
    truth = vector_index("exact", rows.shape[1])
    truth.add(rows)
    exact_ids = truth.search(queries, k)[0]
    results = {}
    for backend in backends:
        try:
            results[backend] = _measure(backend, rows, queries, exact_ids, k)
        except ConfigError as exc:  # not installed: reported, not fatal
            results[backend] = {"error": str(exc)}
    return results


def choose(results: dict[str, dict[str, float]], k: int) -> str:
    """The fastest at batch 64 among those within RECALL_FLOOR of exact search."""
    ok = [b for b, r in results.items() if r.get(f"recall_at_{k}", 0.0) >= RECALL_FLOOR]
    return max(ok, key=lambda b: results[b]["queries_per_s_batch64"])


def run_vector_bench(settings: Settings, n_random: int, write: bool, console: Console,
                     k: int = 100) -> dict:
    world = build_world(settings.world)
    encoder = MiniLMEncoder()
    with console.status(f"embedding {len(world.products):,} products and "
                        f"{len(world.queries):,} queries (all-MiniLM-L6-v2, CPU)"):
        started = time.perf_counter()
        rows = encoder.encode([product_passage(p) for p in world.products])
        embed_s = time.perf_counter() - started
        queries = encoder.encode([q.text for q in world.queries])
    corpora = {"products": (rows, queries)}
    rng = np.random.default_rng(0)
    if n_random:
        random_rows = rng.normal(size=(n_random, encoder.dim)).astype(np.float32)
        random_rows /= np.linalg.norm(random_rows, axis=1, keepdims=True)
        picked = random_rows[rng.choice(n_random, size=min(2_000, n_random), replace=False)]
        noisy = picked + 0.3 * rng.normal(size=picked.shape).astype(np.float32) / np.sqrt(
            encoder.dim)
        corpora["random"] = (random_rows, noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    results = {}
    for name, (corpus, probes) in corpora.items():
        with console.status(f"{name}: {len(corpus):,} vectors, {len(probes):,} queries, "
                            f"{len(VECTOR_BACKENDS)} indexes"):
            results[name] = compare(corpus, probes, k)
    chosen = choose(results["random" if "random" in results else "products"], k)
    payload = {"products": len(world.products), "queries": len(world.queries),
               "random_vectors": n_random, "dim": encoder.dim, "k": k,
               "embed_products_per_s": round(len(world.products) / embed_s, 1),
               "results": results, "chosen": chosen, "recall_floor": RECALL_FLOOR}
    _print(payload, console)
    if write:
        write_results("vectors", payload, _markdown(payload), _command(len(world.products),
                                                                       n_random))
    return payload


def _command(n_products: int, n_random: int) -> str:
    return f"aisle bench vectors --products {n_products} --random {n_random}"


def _rows(payload: dict) -> list[list[str]]:
    k = payload["k"]
    rows = []
    for corpus, results in payload["results"].items():
        n = payload["products"] if corpus == "products" else payload["random_vectors"]
        for backend, r in results.items():
            if "error" in r:
                rows.append([f"{corpus} ({n:,})", backend, "not installed", "", "", ""])
                continue
            rows.append([f"{corpus} ({n:,})", backend, f"{r['build_s']:.2f}",
                         f"{r['queries_per_s_batch1']:,.0f}", f"{r['queries_per_s_batch64']:,.0f}",
                         f"{r[f'recall_at_{k}']:.3f}"])
    return rows


HEADER = ("corpus", "index", "build s", "queries/s (batch 1)", "queries/s (batch 64)", "recall@k")


def _print(payload: dict, console: Console) -> None:
    table = Table(title=f"vector indexes, dim {payload['dim']}, recall@{payload['k']} vs exact")
    for col in HEADER:
        table.add_column(col, justify="left" if col in ("corpus", "index") else "right")
    for row in _rows(payload):
        table.add_row(*row)
    console.print(table)
    console.print(f"products embedded at {payload['embed_products_per_s']:,.0f}/s; chosen: "
                  f"[bold]{payload['chosen']}[/] (fastest at batch 64 with recall >= "
                  f"{payload['recall_floor']})")


def _markdown(payload: dict) -> str:
    lines = ["## Vector indexes for the dense channel", "",
             f"all-MiniLM-L6-v2 embeddings (dim {payload['dim']}) of {payload['products']:,} "
             f"products, queried by {payload['queries']:,} labelled queries, and "
             f"{payload['random_vectors']:,} random unit vectors queried by 2,000 perturbed "
             f"copies; recall@{payload['k']} against exact search. Products embed at "
             f"{payload['embed_products_per_s']:,.0f}/s on this CPU.", "",
             "| " + " | ".join(HEADER) + " |", "|---" * len(HEADER) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(payload)]
    lines += ["", f"Chosen: **{payload['chosen']}** (the fastest at batch 64 among the indexes "
              f"with recall@{payload['k']} >= {payload['recall_floor']} on the largest corpus)."]
    return "\n".join(lines)
