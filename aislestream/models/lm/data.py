"""Training data for the three stages, all derived from a World and a search store.

* held-out split: by query text, so no evaluation query is ever seen in training;
* stage 1 corpus: product text with attributes, plus behaviour sequences (a query followed by
  the titles of products the simulated shoppers clicked or bought);
* stage 2 pairs: expansions mined from what shoppers converted on, kept only when they raise
  retrieval of relevant products without drift; plus rewrite and attribute tasks;
* stage 3 prompts: training queries for GRPO.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from aislestream.connectors.search.base import SearchRequest, SearchStore
from aislestream.core.metrics import ndcg_at_k, recall_at_k
from aislestream.core.text import tokenize
from aislestream.models.lm.prompts import (
    attrs_prompt,
    expand_prompt,
    parse_terms,
    rewrite_prompt,
    weigh_terms,
)
from aislestream.models.world import LabelledQuery, World
from aislestream.models.world.vocab import STOPWORDS


def split_queries(queries: Sequence[LabelledQuery], held_out: float = 0.2,
                  ) -> tuple[list[LabelledQuery], list[LabelledQuery]]:
    """Deterministic split by text: a query string is either always train or always held out."""
    def bucket(text: str) -> float:
        return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    train = [q for q in queries if bucket(q.text) >= held_out]
    test = [q for q in queries if bucket(q.text) < held_out]
    return train, test


def product_text(p) -> str:
    attrs = " ".join(f"{k} {v}" for k, v in p.attributes().items())
    return f"{p.title} . {p.description} . {attrs}"


def _browse_list(world: World, store: SearchStore, query: LabelledQuery, rng: np.random.Generator,
                 k: int = 10) -> list[str]:
    """What a shopper saw: the search results, plus category browsing when search fails them.

    Shoppers who do not find a product by search navigate to its category; a log therefore
    links queries to purchases that search alone did not surface (BEQUE mines these).
    """
    shown = [h.id for h in store.search(SearchRequest(query.text, k=k // 2))]
    category = [pid for pid in query.relevance if pid not in shown]
    if category:
        shown += [str(x) for x in rng.choice(category, size=min(k - len(shown), len(category)),
                                             replace=False)]
    return shown


@dataclass
class BehaviourLog:
    """Per training query: products clicked and bought over several simulated sessions."""
    clicked: dict[str, Counter]
    bought: dict[str, Counter]


def simulate_log(world: World, store: SearchStore, queries: Sequence[LabelledQuery],
                 sessions: int = 4, seed: int = 0) -> BehaviourLog:
    rng = np.random.default_rng(seed)
    sim = world.simulator(seed=seed)
    users = [u.id for u in world.users] or [""]
    clicked: dict[str, Counter] = {}
    bought: dict[str, Counter] = {}
    for q in queries:
        c, b = clicked.setdefault(q.id, Counter()), bought.setdefault(q.id, Counter())
        for s in range(sessions):
            shown = _browse_list(world, store, q, rng)
            user = q.user_id or users[(zlib.crc32(q.id.encode()) + s) % len(users)]
            outcome = sim.session(user, shown, q.relevance)
            c.update(outcome.clicks)
            b.update(outcome.purchases + outcome.carts)
    return BehaviourLog(clicked, bought)


def pretrain_texts(world: World, log: BehaviourLog,
                   queries: Sequence[LabelledQuery]) -> Iterator[str]:
    for p in world.products:
        yield product_text(p)
    by_id = {q.id: q for q in queries}
    for qid, counts in log.clicked.items():
        for pid, _ in counts.most_common(3):
            yield f"query {by_id[qid].text} clicked {world.product_by_id[pid].title}"
    for qid, counts in log.bought.items():
        for pid, _ in counts.most_common(2):
            yield f"query {by_id[qid].text} bought {world.product_by_id[pid].title}"


@dataclass(frozen=True)
class SftExample:
    prompt: str
    completion: str
    task: str
    query_type: str


def _expansion_terms(world: World, query: LabelledQuery, counts: Counter, max_terms: int,
                     consensus: float = 0.4) -> list[str]:
    """Words that most converting products' titles share and the query lacks.

    The consensus threshold keeps what the purchases have in common (the product type, an
    asked-for attribute) and drops what merely varies among them (other colours, brands),
    which would drift the query.
    """
    words: Counter[str] = Counter()
    for pid in counts:
        product = world.product_by_id[pid]
        brand = set(tokenize(product.brand))  # brands are not intent
        # title order, not a set's: a set's order changes with the process's hash seed, and
        # with it the order of tied words, so the mined targets were not reproducible
        title = [w for w in dict.fromkeys(tokenize(product.title)) if w not in brand]
        words.update(w for w in title if w not in STOPWORDS and not w.isdigit())
    shared = [w for w, n in words.most_common() if n >= consensus * len(counts)]
    return parse_terms(" ".join(shared), query.text, max_terms)


def mine_sft_examples(world: World, store: SearchStore, queries: Sequence[LabelledQuery],
                      log: BehaviourLog, max_terms: int = 4, k: int = 50) -> list[SftExample]:
    """Keep an expansion only if recall@k rises, or stays with NDCG@10 not falling (no drift)."""
    examples: list[SftExample] = []
    candidates = []
    for q in queries:
        converted = log.bought[q.id] + log.clicked[q.id]
        if converted:
            terms = _expansion_terms(world, q, converted, max_terms)
            if terms:
                candidates.append((q, converted, terms))
    base = store.search_many([SearchRequest(q.text, k=k) for q, _, _ in candidates])
    expanded = store.search_many([SearchRequest(q.text, weigh_terms(t, q.text), k=k)
                                  for q, _, t in candidates])
    for (q, converted, terms), b, e in zip(candidates, base, expanded):
        b_ids, e_ids = [h.id for h in b], [h.id for h in e]
        gain = recall_at_k(e_ids, q.relevance, k) - recall_at_k(b_ids, q.relevance, k)
        ndcg_change = ndcg_at_k(e_ids, q.relevance, 10) - ndcg_at_k(b_ids, q.relevance, 10)
        if gain > 0 or (gain == 0 and ndcg_change >= 0):
            examples.append(SftExample(expand_prompt(q.text), " " + " ".join(terms), "expand",
                                       q.query_type))
        products = [world.product_by_id[pid] for pid in converted]
        category = Counter(p.category for p in products).most_common(1)[0][0]
        if category.strip():  # titles-only catalogs have no category: no empty targets
            examples.append(SftExample(rewrite_prompt(q.text), f" {category}", "rewrite",
                                       q.query_type))
        shared = [f"{key}={value}" for key in ("colour", "material", "brand")
                  for value, n in Counter(getattr(p, key) for p in products).most_common(1)
                  if value.strip() and n >= 0.6 * len(products)]
        if shared:
            examples.append(SftExample(attrs_prompt(q.text), " " + " ".join(shared), "attrs",
                                       q.query_type))
    return examples


def pseudo_queries(world: World, n: int, seed: int = 0) -> list[LabelledQuery]:
    """Labelled queries derived from product text, for catalogs that come without any.

    A query is two or three content words of one product's title (brand left out); every
    product whose title has all of them is relevant (grade 2), the source product grade 3.
    """
    rng = np.random.default_rng(seed)
    titles = [set(tokenize(p.title)) - set(tokenize(p.brand)) - STOPWORDS for p in world.products]
    queries: list[LabelledQuery] = []
    for i in range(n):
        j = int(rng.integers(len(world.products)))
        words = sorted(w for w in titles[j] if not w.isdigit())
        if len(words) < 2:
            continue
        picked = [str(w) for w in rng.choice(words, size=min(len(words), int(rng.integers(2, 4))),
                                             replace=False)]
        relevance = {world.products[m].id: 2 for m, t in enumerate(titles) if t.issuperset(picked)}
        relevance[world.products[j].id] = 3
        queries.append(LabelledQuery(id=f"pq{i:07d}", text=" ".join(picked), query_type="pseudo",
                                     relevance=relevance))
    return queries
