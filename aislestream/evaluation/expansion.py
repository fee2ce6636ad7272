"""Offline evaluation of query expansion on held-out queries, by query type.

Every method is an ``Expander``; retrieval is the same store for all, so the table isolates
what the expansion does. Metrics, per query then averaged over the queries of a type:

- recall@k (capped, BEIR's R_cap@k): relevant products (grade >= ``RELEVANT_GRADE``) in the
  top k / min(k, relevant); ``recall100_uncapped`` divides by all relevant ones instead. A
  query with no relevant product scores 0.
- NDCG@10 with gain 2^grade - 1 against the ideal order of all its labels.
- zero-result rate: no product returned; drift rate: the top 10 holds more irrelevant
  (grade 0 or unlabelled) products than without expansion.
- ``ndcg10_delta`` / ``ndcg10_delta_ci95``: the mean per-query NDCG@10 change against the
  ``BASELINE`` method, with a paired bootstrap 95% interval (what "does no harm" is judged by);
  ``recall50_delta_ci95`` the same interval for recall@50.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from aislestream.connectors.search.base import FusionConfig, SearchRequest, SearchStore
from aislestream.connectors.search.fusion import search_fused
from aislestream.core import figures
from aislestream.core.metrics import RELEVANT_GRADE, ndcg_at_k, recall_at_k
from aislestream.engines.expansion.base import Expander
from aislestream.models.world import LabelledQuery

METRICS = ("recall10", "recall50", "recall100", "recall100_uncapped", "ndcg10",
           "zero_result_rate", "drift_rate")
BASELINE = "none"


def _uncapped_recall(ids: list[str], q: LabelledQuery, k: int) -> float:
    relevant = {pid for pid, g in q.relevance.items() if g >= RELEVANT_GRADE}
    return len(relevant.intersection(ids[:k])) / len(relevant) if relevant else 0.0


def bootstrap_ci(values: Sequence[float], resamples: int = 2_000, seed: int = 0,
                 ) -> tuple[float, float]:
    """Percentile 95% interval of the mean of ``values`` (per-query paired differences)."""
    import numpy as np

    if len(values) == 0:
        return (float("nan"), float("nan"))
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // len(data))  # resamples drawn a bounded block at a time
    means = np.concatenate([
        data[rng.integers(0, len(data), (min(chunk, resamples - start), len(data)))].mean(axis=1)
        for start in range(0, resamples, chunk)])
    return (round(float(np.percentile(means, 2.5)), 4), round(float(np.percentile(means, 97.5)), 4))


def _irrelevant_in_top10(ids: list[str], q: LabelledQuery) -> int:
    return sum(1 for pid in ids[:10] if q.relevance.get(pid, 0) == 0)


def evaluate_expanders(store: SearchStore, queries: Sequence[LabelledQuery],
                       methods: Mapping[str, Expander],
                       modes: Mapping[str, FusionConfig] | None = None,
                       baseline_store: SearchStore | None = None,
                       ) -> dict[str, dict[str, dict[str, float]]]:
    """{method: {query_type or "all": {metric: value}}}, plus each method's NDCG@10 change
    against no expansion (``ndcg10_delta``, ``ndcg10_delta_ci95``, ``better``, ``worse``) on
    ``baseline_store`` (default ``store``: another store, e.g. hybrid, is then judged against
    plain BM25). Every method but the baseline also gets a ``<name> <mode>`` row per entry of
    ``modes``: the same expansions served through that channel configuration."""
    texts = [q.text for q in queries]
    base_hits = (baseline_store or store).search_many([SearchRequest(t, k=100) for t in texts])
    base_ids = [[h.id for h in hs] for hs in base_hits]
    base_bad = [_irrelevant_in_top10(ids, q) for q, ids in zip(queries, base_ids)]
    base_ndcg = [ndcg_at_k(ids, q.relevance, 10) for q, ids in zip(queries, base_ids)]
    base_recall = [recall_at_k(ids, q.relevance, 50) for q, ids in zip(queries, base_ids)]
    table: dict[str, dict[str, dict[str, float]]] = {}
    runs = []
    for name, expander in methods.items():
        expansions = expander.expand(texts)
        runs.append((name, expansions, None))
        if name != BASELINE and any(e.terms for e in expansions):
            runs += [(f"{name} {mode}", expansions, config)
                     for mode, config in (modes or {}).items()]
    for name, expansions, mode in runs:
        hits = search_fused(store, [SearchRequest(q.text, e.terms, k=100, fusion=mode)
                                    for q, e in zip(queries, expansions)])
        rows: dict[str, list[dict[str, float]]] = defaultdict(list)
        for q, hs, bad, before, recall_before in zip(queries, hits, base_bad, base_ndcg,
                                                     base_recall):
            ids = [h.id for h in hs]
            row = {"recall10": recall_at_k(ids, q.relevance, 10),
                   "recall50": recall_at_k(ids, q.relevance, 50),
                   "recall100": recall_at_k(ids, q.relevance, 100),
                   "recall100_uncapped": _uncapped_recall(ids, q, 100),
                   "ndcg10": ndcg_at_k(ids, q.relevance, 10),
                   "zero_result_rate": float(not ids),
                   "drift_rate": float(_irrelevant_in_top10(ids, q) > bad)}
            row["delta"] = row["ndcg10"] - before
            row["recall_delta"] = row["recall50"] - recall_before
            for key in (q.query_type, "all"):
                rows[key].append(row)
        table[name] = {qtype: _summary(group) for qtype, group in sorted(rows.items())}
    return table


def _summary(rows: list[dict[str, float]]) -> dict[str, float]:
    n = len(rows)
    deltas = [r["delta"] for r in rows]
    return {"queries": n, **{m: round(sum(r[m] for r in rows) / n, 4) for m in METRICS},
            "ndcg10_delta": round(sum(deltas) / n, 4), "ndcg10_delta_ci95": bootstrap_ci(deltas),
            "recall50_delta_ci95": bootstrap_ci([r["recall_delta"] for r in rows]),
            "better": sum(d > 1e-9 for d in deltas), "worse": sum(d < -1e-9 for d in deltas)}


def plot_by_query_type(table: Mapping[str, Mapping[str, Mapping[str, float]]], path: Path,
                       metrics: tuple[str, ...] = ("recall50", "ndcg10")) -> Path:
    """One panel per query type: each method's recall@50 and NDCG@10 side by side."""
    plt = figures.pyplot()
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
    return figures.save(fig, path)
