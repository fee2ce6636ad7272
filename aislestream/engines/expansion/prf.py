"""Pseudo-relevance feedback in the RM3 style (Lavrenko & Croft; Abdul-Jaleel et al. 2004).

Retrieve the top documents for the original query, estimate a relevance model
P(w|R) = sum_d P(d|q) P(w|d) from their text, keep the strongest new terms, and
interpolate with the original query: the original keeps weight lambda, the expansion
shares (1 - lambda), scaled to the query length because BM25 sums per-token scores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from aislestream.connectors.search.base import SearchRequest, SearchStore
from aislestream.core.text import WeightedTerm, tokenize
from aislestream.engines.expansion.base import Expansion
from aislestream.models.world.vocab import STOPWORDS


@dataclass(frozen=True)
class PrfConfig:
    feedback_docs: int = 10
    expansion_terms: int = 8
    original_weight: float = 0.8  # RM3's lambda; lower drifts precise queries (measured)
    min_term_chars: int = 3
    # Descriptions add boilerplate ("features", "size") with little weight each but also the
    # colloquial names titles never use; measured on the world, keeping them helps.
    use_description: bool = True


class PrfExpander:
    name = "prf"

    def __init__(self, store: SearchStore, config: PrfConfig | None = None,
                 variant: str = "default") -> None:
        self.store = store
        self.config = config or PrfConfig()
        self.variant = variant

    def expand(self, queries: Sequence[str]) -> list[Expansion]:
        cfg = self.config
        feedback = self.store.search_many([SearchRequest(q, k=cfg.feedback_docs) for q in queries])
        return [self._expand_one(q, hits) for q, hits in zip(queries, feedback)]

    def _expand_one(self, query: str, hits) -> Expansion:
        cfg = self.config
        query_tokens = set(tokenize(query))
        total_score = sum(max(h.score, 0.0) for h in hits)
        if not query_tokens or total_score <= 0:
            return Expansion(query, (), self.name, self.variant)
        model: Counter[str] = Counter()
        for hit in hits:
            text = f"{hit.title} {hit.description}" if cfg.use_description else hit.title
            tokens = tokenize(text)
            if not tokens:
                continue
            p_doc = max(hit.score, 0.0) / total_score
            for token, tf in Counter(tokens).items():
                model[token] += p_doc * tf / len(tokens)
        candidates = [
            (t, p) for t, p in model.most_common()
            if t not in query_tokens and t not in STOPWORDS
            and len(t) >= cfg.min_term_chars and not t.isdigit()
        ][: cfg.expansion_terms]
        mass = sum(p for _, p in candidates)
        if mass <= 0:
            return Expansion(query, (), self.name, self.variant)
        scale = (1.0 - cfg.original_weight) / cfg.original_weight * len(query_tokens) / mass
        terms = tuple(WeightedTerm(t, round(p * scale, 4)) for t, p in candidates)
        return Expansion(query, terms, self.name, self.variant)
