"""The simulated search engine as a reward: what an expansion does to retrieval and to shoppers,
measured against the same query without expansion, through the channel that serves it.

reward = (recall@k with - without) + ndcg_weight * (NDCG@10 with - without)
         + conversion_weight * (simulated purchase on the top 10 with - without)
         - drift_weight * rise in the share of the top 10 that is irrelevant (grade 0)
         - length_weight * terms beyond ``max_terms``

Every term is a difference, so an expansion that leaves the top results as they were earns
exactly 0 (the conversion term is not even drawn) and one that hurts is penalised; an absolute
conversion bonus used to pay 0.2 for doing nothing. ``fusion`` is the channel served (None:
terms mixed into the query, else fused or gated, connectors/search/fusion.py). Baselines (no
expansion) are computed once per query and cached; every batch of completions is scored with
one batched retrieval call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aislestream.connectors.search.base import FusionConfig, SearchRequest, SearchStore
from aislestream.connectors.search.fusion import search_fused
from aislestream.core.metrics import ndcg_at_k, recall_at_k
from aislestream.models.lm.prompts import parse_terms, weigh_terms
from aislestream.models.world import LabelledQuery
from aislestream.models.world.behaviour import BehaviourSimulator


@dataclass(frozen=True)
class RewardWeights:
    k: int = 50
    ndcg_weight: float = 1.0
    conversion_weight: float = 0.2
    drift_weight: float = 0.5
    length_weight: float = 0.05
    max_terms: int = 6


class ExpansionReward:
    def __init__(self, store: SearchStore, queries: Sequence[LabelledQuery],
                 simulator: BehaviourSimulator | None = None,
                 weights: RewardWeights | None = None,
                 fusion: FusionConfig | None = None) -> None:
        self.store = store
        self.queries = {q.id: q for q in queries}
        self.simulator = simulator
        self.w = weights or RewardWeights()
        self.fusion = fusion
        self._baseline: dict[str, tuple[list[str], float, float, float]] = {}

    def _scores(self, query: LabelledQuery, ids: list[str]) -> tuple[float, float, float]:
        top = ids[:10]
        drift = sum(1 for pid in top if query.relevance.get(pid, 0) == 0) / max(1, len(top))
        return (recall_at_k(ids, query.relevance, self.w.k), ndcg_at_k(ids, query.relevance, 10),
                drift)

    def baseline(self, query_ids: Sequence[str]) -> list[tuple[list[str], float, float, float]]:
        """Per query: (ids without expansion, recall@k, NDCG@10, drift)."""
        missing = [qid for qid in dict.fromkeys(query_ids) if qid not in self._baseline]
        if missing:
            hits = self.store.search_many([SearchRequest(self.queries[q].text, k=self.w.k)
                                           for q in missing])
            for qid, hs in zip(missing, hits):
                ids = [h.id for h in hs]
                self._baseline[qid] = (ids, *self._scores(self.queries[qid], ids))
        return [self._baseline[qid] for qid in query_ids]

    def _conversion_change(self, query: LabelledQuery, top: list[str], before: list[str]) -> float:
        """A simulated shopper on the expanded top 10 and one on the original; 0 unchanged."""
        if self.simulator is None or top == before:
            return 0.0
        return float(self.simulator.session(query.user_id, top, query.relevance).converted
                     - self.simulator.session(query.user_id, before, query.relevance).converted)

    def __call__(self, completions: Sequence[str], query_ids: Sequence[str]) -> list[float]:
        queries = [self.queries[qid] for qid in query_ids]
        all_terms = [parse_terms(c, q.text, max_terms=32) for c, q in zip(completions, queries)]
        requests = [SearchRequest(q.text, weigh_terms(t[: self.w.max_terms]), k=self.w.k,
                                  fusion=self.fusion) for q, t in zip(queries, all_terms)]
        hits = search_fused(self.store, requests)
        rewards = []
        for q, terms, hs, (b_ids, b_recall, b_ndcg, b_drift) in zip(queries, all_terms, hits,
                                                                    self.baseline(query_ids)):
            ids = [h.id for h in hs]
            recall, ndcg, drift = self._scores(q, ids)
            converted = self._conversion_change(q, ids[:10], b_ids[:10])
            rewards.append(
                (recall - b_recall) + self.w.ndcg_weight * (ndcg - b_ndcg)
                + self.w.conversion_weight * converted
                - self.w.drift_weight * max(0.0, drift - b_drift)
                - self.w.length_weight * max(0, len(terms) - self.w.max_terms)
            )
        return rewards
