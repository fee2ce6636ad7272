"""Offline evaluation of query expansion on held-out queries, by query type.

Every method is an ``Expander``; retrieval is the same store for all, so the table isolates
what the expansion does. Drift = share of queries whose top 10 holds more irrelevant
(grade 0) products than without expansion.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from aislestream.connectors.search.base import SearchRequest, SearchStore
from aislestream.core.metrics import ndcg_at_k, recall_at_k
from aislestream.engines.expansion.base import Expander
from aislestream.models.world import LabelledQuery

METRICS = ("recall10", "recall50", "recall100", "ndcg10", "zero_result_rate", "drift_rate")


def _irrelevant_in_top10(ids: list[str], q: LabelledQuery) -> int:
    return sum(1 for pid in ids[:10] if q.relevance.get(pid, 0) == 0)


def evaluate_expanders(store: SearchStore, queries: Sequence[LabelledQuery],
                       methods: Mapping[str, Expander]) -> dict[str, dict[str, dict[str, float]]]:
    """{method: {query_type or "all": {metric: value}}}"""
    texts = [q.text for q in queries]
    base_hits = store.search_many([SearchRequest(t, k=100) for t in texts])
    base_bad = [_irrelevant_in_top10([h.id for h in hs], q) for q, hs in zip(queries, base_hits)]
    table: dict[str, dict[str, dict[str, float]]] = {}
    for name, expander in methods.items():
        expansions = expander.expand(texts)
        hits = store.search_many([SearchRequest(q.text, e.terms, k=100)
                                  for q, e in zip(queries, expansions)])
        sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for q, hs, bad in zip(queries, hits, base_bad):
            ids = [h.id for h in hs]
            row = {"recall10": recall_at_k(ids, q.relevance, 10),
                   "recall50": recall_at_k(ids, q.relevance, 50),
                   "recall100": recall_at_k(ids, q.relevance, 100),
                   "ndcg10": ndcg_at_k(ids, q.relevance, 10),
                   "zero_result_rate": float(not ids),
                   "drift_rate": float(_irrelevant_in_top10(ids, q) > bad)}
            for key in (q.query_type, "all"):
                sums[key]["queries"] += 1
                for metric, value in row.items():
                    sums[key][metric] += value
        table[name] = {
            qtype: {"queries": int(acc["queries"]),
                    **{m: round(acc[m] / acc["queries"], 4) for m in METRICS}}
            for qtype, acc in sorted(sums.items())
        }
    return table


def plot_by_query_type(table: Mapping[str, Mapping[str, Mapping[str, float]]], path: Path,
                       metrics: tuple[str, ...] = ("recall50", "ndcg10")) -> Path:
    """One panel per query type: each method's recall@50 and NDCG@10 side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    methods = list(table)
    qtypes = [t for t in next(iter(table.values())) if t != "all"] + ["all"]
    cols = 4
    rows = -(-len(qtypes) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    width = 0.8 / len(methods)
    for ax, qtype in zip(axes.flat, qtypes):
        x = np.arange(len(metrics))
        for i, method in enumerate(methods):
            values = [table[method][qtype][m] for m in metrics]
            ax.bar(x + i * width, values, width, label=method)
        ax.set_xticks(x + width * (len(methods) - 1) / 2, metrics)
        ax.set_ylim(0, 1)
        ax.set_title(f"{qtype} (n={table[methods[0]][qtype]['queries']})")
    for ax in list(axes.flat)[len(qtypes):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Held-out queries: retrieval with each expansion method")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
