"""Training data for the three stages, all derived from a World and a search store.

* held-out split: by query text, so no evaluation query is ever seen in training;
* stage 1 corpus: product text with attributes, plus behaviour sequences (a query followed by
  the titles of products the simulated shoppers clicked or bought);
* stage 2 pairs: expansions mined from what shoppers converted on and from the training
  labels, kept only when they raise the query's retrieval; self-supervised spelling
  correction (typos of training queries -> the words they broke); rewrite and attribute
  tasks; de-duplicated, with a validation split for early stopping;
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
from aislestream.core.metrics import RELEVANT_GRADE, ndcg_at_k, recall_at_k
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


def hash_share(text: str) -> float:
    """A fixed place in [0, 1] for a text, the same in every process (``hash`` is salted)."""
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split_queries(queries: Sequence[LabelledQuery], held_out: float = 0.2,
                  ) -> tuple[list[LabelledQuery], list[LabelledQuery]]:
    """Deterministic split by text: a query string is either always train or always held out."""
    train = [q for q in queries if hash_share(q.text) >= held_out]
    test = [q for q in queries if hash_share(q.text) < held_out]
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


def _labelled_terms(world: World, query: LabelledQuery, max_terms: int,
                    most: int = 50) -> list[str]:
    """The shared title words of a training query's best-graded products (a real catalog's
    labels stand in for a behaviour log it does not ship)."""
    best = sorted(((g, pid) for pid, g in query.relevance.items() if g >= RELEVANT_GRADE),
                  reverse=True)[:most]
    return _expansion_terms(world, query, Counter(pid for _, pid in best), max_terms)


def _raises_retrieval(base: list[str], expanded: list[str], q: LabelledQuery, k: int) -> float:
    """How much an expansion raises the query's retrieval, or 0 if it does not: recall@k up,
    or recall@k level and NDCG@10 up, with NDCG@10 not falling."""
    gain = recall_at_k(expanded, q.relevance, k) - recall_at_k(base, q.relevance, k)
    ndcg = ndcg_at_k(expanded, q.relevance, 10) - ndcg_at_k(base, q.relevance, 10)
    return gain + ndcg if gain >= 0 and ndcg >= 0 and gain + ndcg > 0 else 0.0


def mine_sft_examples(world: World, store: SearchStore, queries: Sequence[LabelledQuery],
                      log: BehaviourLog, max_terms: int = 4, k: int = 50) -> list[SftExample]:
    """Expansion pairs from what shoppers converted on and from the labels, each kept only if it
    raises that query's retrieval (the better of the two per query); rewrite and attribute pairs
    from the converting products. No empty targets, one target per prompt and task."""
    examples: list[SftExample] = []
    candidates = []
    converted_by_query = {q.id: log.bought[q.id] + log.clicked[q.id] for q in queries}
    for q in queries:
        converted = converted_by_query[q.id]
        for terms in (_expansion_terms(world, q, converted, max_terms) if converted else [],
                      _labelled_terms(world, q, max_terms)):
            if terms:
                candidates.append((q, terms))
    base = store.search_many([SearchRequest(q.text, k=k) for q, _ in candidates])
    expanded = store.search_many([SearchRequest(q.text, weigh_terms(t), k=k)
                                  for q, t in candidates])
    best: dict[str, tuple[float, LabelledQuery, list[str]]] = {}
    for (q, terms), b, e in zip(candidates, base, expanded):
        gain = _raises_retrieval([h.id for h in b], [h.id for h in e], q, k)
        if gain > best.get(q.text, (0.0,))[0]:  # one target per query text
            best[q.text] = (gain, q, terms)
    for _, q, terms in best.values():
        examples.append(SftExample(expand_prompt(q.text), " " + " ".join(terms), "expand",
                                   q.query_type))
    for q in queries:
        converted = converted_by_query[q.id]
        if not converted:
            continue
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


def spelling_examples(world: World, queries: Sequence[LabelledQuery], n: int,
                      seed: int = 0) -> list[SftExample]:
    """Self-supervised spelling correction: a training query with human-like typos added ->
    the words the typos broke. Only words of the catalog's own titles are targets, so a real
    log's misspelled queries never become targets themselves."""
    from aislestream.models.world.hard import human_misspell

    rng = np.random.default_rng(seed)
    vocabulary = {w for p in world.products for w in tokenize(p.title)}
    examples: list[SftExample] = []
    pool = [q for q in queries if q.query_type != "misspelled"]
    for i in rng.permutation(len(pool))[:n] if pool else []:
        q = pool[int(i)]
        words = tokenize(q.text)
        if not words or not set(words) <= vocabulary:
            continue
        typed = human_misspell(q.text, rng)
        target = parse_terms(" ".join(words), typed)
        if target and typed != q.text:
            examples.append(SftExample(expand_prompt(typed), " " + " ".join(target), "spell",
                                       "misspelled"))
    return examples


def dedupe(examples: Sequence[SftExample]) -> list[SftExample]:
    """One example per (task, prompt): the first, so mined pairs win over generated ones."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for e in examples:
        if (e.task, e.prompt) not in seen:
            seen.add((e.task, e.prompt))
            kept.append(e)
    return kept


def validation_split(examples: Sequence[SftExample], share: float = 0.1,
                     ) -> tuple[list[SftExample], list[SftExample]]:
    """(train, validation) by a hash of the prompt, so a prompt is never on both sides."""
    return ([e for e in examples if hash_share(e.prompt) >= share],
            [e for e in examples if hash_share(e.prompt) < share])


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
