"""Retrieval metrics over graded relevance.

recall@k is capped (BEIR's R_cap@k): relevant retrieved / min(k, |relevant|), so a head
query with a thousand relevant products can still score 1.0 with ten perfect results.
NDCG@k uses exponential gain (2^grade - 1) and the ideal ranking of all labelled grades.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

RELEVANT_GRADE = 2  # the lowest grade recall counts as relevant


def recall_at_k(ranked: Sequence[str], relevance: dict[str, int], k: int,
                min_grade: int = RELEVANT_GRADE) -> float:
    relevant = {pid for pid, g in relevance.items() if g >= min_grade}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / min(k, len(relevant))


def ndcg_at_k(ranked: Sequence[str], relevance: dict[str, int], k: int) -> float:
    dcg = sum((2 ** relevance.get(pid, 0) - 1) / math.log2(i + 2)
              for i, pid in enumerate(ranked[:k]))
    ideal_grades = sorted(relevance.values(), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal_grades))
    return dcg / idcg if idcg > 0 else 0.0


@dataclass
class RetrievalScores:
    queries: int
    recall: float
    ndcg: float


def score_by_type(
    rows: Iterable[tuple[str, Sequence[str], dict[str, int]]], k: int
) -> dict[str, RetrievalScores]:
    """rows: (query_type, ranked ids, relevance). Adds an ``all`` row over every query."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for qtype, ranked, relevance in rows:
        for key in (qtype, "all"):
            acc = sums[key]
            acc[0] += 1
            acc[1] += recall_at_k(ranked, relevance, k)
            acc[2] += ndcg_at_k(ranked, relevance, k)
    return {
        key: RetrievalScores(int(n), r / n, g / n) for key, (n, r, g) in sums.items() if n
    }
