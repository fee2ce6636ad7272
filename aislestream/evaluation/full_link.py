"""Full-link evaluation: every stage of the search chain scored locally, the chain scored end
to end, by query type, and every end-to-end failure attributed to the first stage that failed.

Stages and their local scores, on labelled queries:
  typing     the query type a rule-based reader of the world vocabulary assigns (accuracy);
             informational: the chain does not route by type, so it is not blamed for failures
  expansion  term precision (terms naming the query's true category or constraint values, over
             all added terms) and drift (a term naming an attribute value the shopper did not ask
             for: another colour, a material never mentioned)
  retrieval  recall@100 of relevant products (grade >= 2)
  ranking    NDCG@10 of the final list
End to end: precision@10 of the final list, and the simulated shopper's expected conversion.
A query fails end to end when its top 10 holds no relevant product; the failure goes to the
first of expansion (drifted), retrieval (recall@100 < 0.5), ranking (otherwise) that failed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from aislestream.connectors.search.base import SearchRequest, SearchStore
from aislestream.core.metrics import ndcg_at_k, recall_at_k
from aislestream.core.text import tokenize
from aislestream.engines.expansion.base import Expander
from aislestream.models.world import LabelledQuery, World
from aislestream.models.world.behaviour import BehaviourSimulator
from aislestream.models.world.vocab import BRANDS, COLLOQUIAL_FILLERS, COLOURS, PRODUCT_TYPES

STAGES = ("expansion", "retrieval", "ranking")
SESSIONS = 20


class QueryTyper:
    """Reads a query's type from the world vocabulary alone (no labels)."""

    def __init__(self) -> None:
        self.type_words = {w for t in PRODUCT_TYPES for w in tokenize(t.name)}
        self.slang = {w for t in PRODUCT_TYPES for s in t.slang for w in tokenize(s)}
        self.brands = {w for bs in BRANDS.values() for b in bs for w in tokenize(b)}
        self.colours = {w for names in COLOURS.values() for n in names for w in tokenize(n)}
        self.attributes = {w for t in PRODUCT_TYPES for v in (*t.materials, *t.features, *t.sizes)
                           for w in tokenize(v)}
        self.known = (self.type_words | self.slang | self.brands | self.colours | self.attributes
                      | set(COLLOQUIAL_FILLERS)
                      | {w for t in PRODUCT_TYPES for u in t.uses for w in tokenize(u)})

    def __call__(self, text: str) -> str:
        words = tokenize(text)
        if any(w.isalpha() and w not in self.known and w not in {"for", "under"} for w in words):
            return "misspelled"
        if "for" in words or "under" in words:
            return "long_tail"
        if (any(w in COLLOQUIAL_FILLERS for w in words)
                or (self.slang & set(words) and not self.type_words & set(words))):
            return "colloquial"
        if self.brands & set(words):
            return "brand"
        attrs = sum(w in self.colours or w in self.attributes for w in words)
        return "head" if attrs == 0 else "torso" if attrs == 1 else "attribute_heavy"


@dataclass(frozen=True)
class TermJudge:
    """Which expansion terms are right, which drift, for one labelled query."""

    attribute_values: Mapping[str, set[str]]  # attribute -> every word any of its values uses

    @staticmethod
    def from_world() -> "TermJudge":
        values: dict[str, set[str]] = {
            "colour": {w for names in COLOURS.values() for n in names for w in tokenize(n)},
            "brand": {w for bs in BRANDS.values() for b in bs for w in tokenize(b)},
            "category": {w for t in PRODUCT_TYPES for w in tokenize(t.name)},
            "material": {w for t in PRODUCT_TYPES for m in t.materials for w in tokenize(m)},
        }
        return TermJudge(values)

    def judge(self, q: LabelledQuery, terms: Sequence[str]) -> tuple[int, int, int]:
        """(right, drifted, total) over added terms."""
        good = set(tokenize(q.category))
        for key, value in q.constraints.items():
            if isinstance(value, str):
                good |= set(tokenize(value))
                if key == "colour":
                    good |= {w for n in COLOURS.get(value, ()) for w in tokenize(n)}
        bad = set().union(*self.attribute_values.values()) - good
        added = [w for t in terms for w in tokenize(t) if w not in tokenize(q.text)]
        return sum(w in good for w in added), sum(w in bad for w in added), len(added)


def evaluate_chain(store: SearchStore, world: World, queries: Sequence[LabelledQuery],
                   expander: Expander, k: int = 10, seed: int = 0) -> dict:
    typer, judge = QueryTyper(), TermJudge.from_world()
    simulator = BehaviourSimulator({p.id: p for p in world.products},
                                   {u.id: u for u in world.users}, seed=seed)
    expansions = expander.expand([q.text for q in queries])
    hits = store.search_many([SearchRequest(q.text, e.terms, k=100)
                              for q, e in zip(queries, expansions)])
    rows = []
    for q, e, hs in zip(queries, expansions, hits):
        ids = [h.id for h in hs]
        right, drifted, added = judge.judge(q, [t.term for t in e.terms])
        top = ids[:k]
        relevant = q.relevant_ids()
        row = {"query_type": q.query_type, "typed_right": typer(q.text) == q.query_type,
               "terms": added, "right_terms": right, "drifted": drifted > 0,
               "recall100": recall_at_k(ids, q.relevance, 100),
               "ndcg10": ndcg_at_k(ids, q.relevance, k),
               "precision10": sum(pid in relevant for pid in top) / k,
               "conversion": simulator.expected(q.user_id, top, q.relevance,
                                                SESSIONS).conversion_rate}
        row["failed"] = not any(pid in relevant for pid in top)
        row["stage"] = first_failed_stage(row) if row["failed"] else None
        rows.append(row)
    return summarize(rows)


def first_failed_stage(row: Mapping[str, object]) -> str:
    if row["drifted"]:
        return "expansion"
    if float(row["recall100"]) < 0.5:  # type: ignore[arg-type]
        return "retrieval"
    return "ranking"


def summarize(rows: Sequence[Mapping[str, object]]) -> dict:
    groups: dict[str, list[Mapping[str, object]]] = defaultdict(list)
    for row in rows:
        groups[str(row["query_type"])].append(row)
        groups["all"].append(row)
    table = {}
    for qtype, rs in sorted(groups.items()):
        terms = sum(int(r["terms"]) for r in rs)  # type: ignore[arg-type]
        failures = [r for r in rs if r["failed"]]
        blame = Counter(str(r["stage"]) for r in failures)
        table[qtype] = {
            "queries": len(rs),
            "typing_accuracy": float(np.mean([r["typed_right"] for r in rs])),
            "term_precision": sum(int(r["right_terms"]) for r in rs) / terms if terms else None,  # type: ignore[arg-type]
            "drift_rate": float(np.mean([r["drifted"] for r in rs])),
            "recall100": float(np.mean([r["recall100"] for r in rs])),
            "ndcg10": float(np.mean([r["ndcg10"] for r in rs])),
            "precision10": float(np.mean([r["precision10"] for r in rs])),
            "expected_conversion": float(np.mean([r["conversion"] for r in rs])),
            "failure_rate": len(failures) / len(rs),
            "failures_by_stage": {s: blame.get(s, 0) for s in STAGES},
        }
    return table
