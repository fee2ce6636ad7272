"""Labelled queries: text, query type and graded ground-truth relevance.

Every query comes from a hidden intent (a product type plus attribute constraints taken
from a real product of that type, so a perfect answer exists). Relevance is graded 0-3:
3 = right type and every constraint met, 2 = right type with at most one constraint
missed (or no constraints), 1 = right type only. "Relevant" for recall means grade >= 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from aislestream.core.metrics import RELEVANT_GRADE
from aislestream.core.products import Product
from aislestream.models.world.vocab import COLLOQUIAL_FILLERS, COLOURS, PRODUCT_TYPES

QUERY_TYPES = ("head", "torso", "long_tail", "colloquial", "misspelled", "attribute_heavy", "brand")
QUERY_MIX = (0.2, 0.2, 0.15, 0.15, 0.1, 0.1, 0.1)


@dataclass(frozen=True)
class LabelledQuery:
    id: str
    text: str
    query_type: str
    user_id: str = ""
    category: str = ""
    constraints: dict[str, str | float] = field(default_factory=dict)
    relevance: dict[str, int] = field(default_factory=dict)  # product id -> grade >= 1

    def relevant_ids(self, min_grade: int = RELEVANT_GRADE) -> set[str]:
        return {pid for pid, grade in self.relevance.items() if grade >= min_grade}


def _typo(word: str, rng: np.random.Generator) -> str:
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(4))
    if kind == 0:  # swap neighbours
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:  # drop a letter
        return word[:i] + word[i + 1:]
    if kind == 2:  # double a letter
        return word[:i] + word[i] + word[i:]
    return word[:i] + "qwertyuiopasdfghjklzxcvbnm"[int(rng.integers(26))] + word[i + 1:]


def misspell(text: str, rng: np.random.Generator,
             typo: Callable[[str, np.random.Generator], str] = _typo) -> str:
    """Introduce one or two typos in the longer words (by default what a fast thumb does)."""
    words = text.split()
    candidates = [i for i, w in enumerate(words) if len(w) >= 4]
    for i in rng.choice(candidates, size=min(len(candidates), int(rng.integers(1, 3))),
                        replace=False):
        words[int(i)] = typo(words[int(i)], rng)
    return " ".join(words)


class _ProductIndex:
    """Per-type attribute arrays so relevance of one intent is a few vectorised comparisons."""

    def __init__(self, products: list[Product]) -> None:
        self.by_type: dict[str, np.ndarray] = {}
        ids_by_type: dict[str, list[int]] = {}
        for i, p in enumerate(products):
            ids_by_type.setdefault(p.category, []).append(i)
        self.ids = np.array([p.id for p in products])
        self.products = products
        self.by_type = {k: np.array(v) for k, v in ids_by_type.items()}
        self.attr = {
            key: np.array([getattr(p, key) for p in products])
            for key in ("brand", "colour", "material", "size")
        }
        self.price = np.array([p.price for p in products])
        self._features = [p.features for p in products]
        self._feature_masks: dict[str, np.ndarray] = {}

    def has_feature(self, feature: str) -> np.ndarray:
        if feature not in self._feature_masks:
            self._feature_masks[feature] = np.array([feature in f for f in self._features])
        return self._feature_masks[feature]

    def grades(self, category: str, constraints: dict[str, str | float]) -> dict[str, int]:
        rows = self.by_type.get(category)
        if rows is None:
            return {}
        met = np.zeros(len(rows), dtype=np.int32)
        for key, value in constraints.items():
            if key == "price_max":
                met += self.price[rows] <= float(value)
            elif key == "feature":
                met += self.has_feature(str(value))[rows]
            else:
                met += self.attr[key][rows] == value
        n = len(constraints)
        if n == 0:
            grades = np.full(len(rows), 2)
        else:
            grades = np.where(met == n, 3, np.where((met >= n - 1) & (n >= 2), 2, 1))
        return dict(zip(self.ids[rows].tolist(), grades.tolist()))


Misspeller = Callable[[str, np.random.Generator], str]


def generate_queries(
    products: list[Product], n_queries: int, n_users: int, rng: np.random.Generator,
    mix: Sequence[float] = QUERY_MIX, misspeller: Misspeller | None = None,
) -> list[LabelledQuery]:
    """``mix``: the share of each of QUERY_TYPES; ``misspeller`` writes the misspelled queries
    (default: one or two fast-thumb typos)."""
    index = _ProductIndex(products)
    types_present = [t for t in PRODUCT_TYPES if t.name in index.by_type]
    weights = 1.0 / np.arange(1, len(types_present) + 1) ** 0.6
    weights /= weights.sum()
    queries = []
    for qi in range(n_queries):
        qtype = QUERY_TYPES[int(rng.choice(len(QUERY_TYPES), p=mix))]
        ptype = types_present[int(rng.choice(len(types_present), p=weights))]
        rows = index.by_type[ptype.name]
        seed = products[int(rows[int(rng.integers(len(rows)))])]
        text, constraints = _compose(qtype, ptype, seed, rng, misspeller or misspell)
        queries.append(
            LabelledQuery(
                id=f"q{qi:07d}", text=text, query_type=qtype,
                user_id=f"u{int(rng.integers(n_users)):06d}", category=ptype.name,
                constraints=constraints, relevance=index.grades(ptype.name, constraints),
            )
        )
    return queries


def _compose(qtype: str, ptype, seed: Product, rng: np.random.Generator, misspeller: Misspeller):
    """Query text and hidden constraints for one query type (see module docstring)."""
    name = ptype.name
    pool: dict[str, str] = {
        "colour": seed.colour, "material": seed.material, "size": seed.size,
        "feature": seed.features[0],
    }
    if qtype == "head":
        return name, {}
    if qtype == "torso":
        key = str(rng.choice(["colour", "material", "feature"]))
        return f"{pool[key]} {name}", {key: pool[key]}
    if qtype == "misspelled":
        if rng.random() < 0.5:
            return misspeller(name, rng), {}
        return misspeller(f"{seed.colour} {name}", rng), {"colour": seed.colour}
    if qtype == "brand":
        return f"{seed.brand} {name}", {"brand": seed.brand}
    if qtype == "colloquial":
        slang = str(rng.choice(ptype.slang))
        constraints: dict[str, str | float] = {}
        words = [str(rng.choice(COLLOQUIAL_FILLERS))]
        if rng.random() < 0.5:
            words.append(seed.colour)
            constraints["colour"] = seed.colour
        return " ".join(words + [slang]), constraints
    if qtype == "long_tail":
        # Rare, idiosyncratic phrasings (BEQUE's long tail): the type by a shopper's word and
        # the colour by a seller's alias half the time, so the words often miss the titles.
        keys = list(rng.choice(["colour", "material", "feature"], size=2, replace=False))
        constraints = {k: pool[k] for k in keys}
        words = {k: pool[k] for k in keys}
        if "colour" in words and rng.random() < 0.5:
            words["colour"] = str(rng.choice(COLOURS[seed.colour][1:]))
        noun = str(rng.choice(ptype.slang)) if rng.random() < 0.6 else name
        text = f"{' '.join(words[k] for k in keys)} {noun} for {rng.choice(ptype.uses)}"
        if rng.random() < 0.5:
            price_max = float(np.ceil(seed.price / 10.0) * 10.0)
            constraints["price_max"] = price_max
            text += f" under {int(price_max)}"
        return text, constraints
    if qtype == "attribute_heavy":
        keys = list(rng.choice(["colour", "material", "size", "feature"], size=3, replace=False))
        order = rng.permutation(keys)
        return f"{' '.join(pool[k] for k in order)} {name}", {k: pool[k] for k in keys}
    raise ValueError(f"unknown query type {qtype!r}")
