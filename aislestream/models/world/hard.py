"""A harder synthetic world, shaped like the public relevance sets the expander lost on.

The default world rewards expansion: descriptions carry the slang, titles vary the type's name,
and labels are exact. Real catalogs are less kind, and a method tuned on the default world
alone lowered NDCG@10 on two of them. This world keeps the same types, intents and query types
but changes what the retrieval sees:

* titles only: no description and no attribute columns (relevance still follows the hidden
  attributes, as a rater reads them off the product page);
* brand-heavy titles: the brand first, a series and a model code, so brand words dominate;
* near-duplicates: a share of products are variants of another with one colour or size
  changed, the same title otherwise (grade 3 and grade 1 products read almost alike);
* human misspellings: keyboard neighbours, sound-alike spellings, dropped vowels, doubled or
  undoubled letters, words run together;
* rater noise: a share of graded labels moved one grade up or down.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from aislestream.core.products import Product
from aislestream.models.world.catalog import generate_catalog
from aislestream.models.world.queries import (
    QUERY_TYPES,
    LabelledQuery,
    generate_queries,
    misspell,
)
from aislestream.models.world.vocab import COLOURS, PRODUCT_TYPES

# QUERY_TYPES order: more misspelled and brand queries than the default world, as real logs
HARD_QUERY_MIX = (0.15, 0.2, 0.15, 0.1, 0.2, 0.05, 0.15)
assert len(HARD_QUERY_MIX) == len(QUERY_TYPES)

_SERIES = ("pro", "elite", "classic", "max", "plus", "air", "core", "ultra")
_TEMPLATES = (
    "{brand} {code} {form} {size} {colour}",
    "{brand} {series} {form}, {colour}, {size}",
    "{brand} {form} {code} - {material} - {colour}",
    "{brand} {series} {code} {colour} {material} {form}",
    "{brand} {series} {form} by {brand} {colour}",
)
_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_SOUND_ALIKE = (("ph", "f"), ("ck", "k"), ("ee", "ea"), ("ie", "ei"), ("ou", "u"), ("c", "k"),
                ("s", "z"), ("y", "ie"), ("er", "re"), ("tion", "shun"))
_VOWELS = "aeiou"


@dataclass(frozen=True)
class HardWorldConfig:
    near_duplicate_share: float = 0.4
    rater_noise: float = 0.15  # share of labels moved one grade
    query_mix: tuple[float, ...] = HARD_QUERY_MIX


def _neighbours(ch: str) -> str:
    for row_i, row in enumerate(_KEYBOARD):
        col = row.find(ch)
        if col >= 0:
            near = [row[c] for c in (col - 1, col + 1) if 0 <= c < len(row)]
            near += [_KEYBOARD[r][min(col, len(_KEYBOARD[r]) - 1)]
                     for r in (row_i - 1, row_i + 1) if 0 <= r < len(_KEYBOARD)]
            return "".join(near)
    return ""


def _human_typo(word: str, rng: np.random.Generator) -> str:
    kind = int(rng.integers(5))
    i = int(rng.integers(1, len(word) - 1))
    if kind == 0:  # a neighbouring key
        near = _neighbours(word[i])
        return word[:i] + near[int(rng.integers(len(near)))] + word[i + 1:] if near else word
    if kind == 1:  # spelled by ear
        pairs = [(a, b) for a, b in _SOUND_ALIKE if a in word[1:]]
        if pairs:
            a, b = pairs[int(rng.integers(len(pairs)))]
            at = word.index(a, 1)
            return word[:at] + b + word[at + len(a):]
        kind = 2
    if kind == 2:  # a vowel left out
        vowels = [j for j in range(1, len(word) - 1) if word[j] in _VOWELS]
        if vowels:
            j = vowels[int(rng.integers(len(vowels)))]
            return word[:j] + word[j + 1:]
    if kind == 3 or kind == 2:  # a double letter made single, or a single one doubled
        doubles = [j for j in range(1, len(word)) if word[j] == word[j - 1]]
        if doubles:
            j = doubles[0]
            return word[:j] + word[j + 1:]
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # two letters swapped


def human_misspell(text: str, rng: np.random.Generator) -> str:
    """One or two human errors in the longer words; sometimes two words run together."""
    words = misspell(text, rng, _human_typo).split()
    if len(words) >= 2 and rng.random() < 0.2:
        j = int(rng.integers(len(words) - 1))
        words[j:j + 2] = [words[j] + words[j + 1]]
    return " ".join(words)


def _code(brand: str, rng: np.random.Generator) -> str:
    initials = "".join(w[0] for w in brand.split() if w[0].isalpha()).upper() or "X"
    return f"{initials}-{int(rng.integers(100, 1000))}"


def _retitle(p: Product, template: int, series: str, code: str, colour_form: str,
             form: str) -> str:
    return _TEMPLATES[template].format(brand=p.brand.title(), code=code, series=series,
                                       form=form, size=p.size, colour=colour_form,
                                       material=p.material)


def hard_catalog(n_products: int, rng: np.random.Generator,
                 config: HardWorldConfig = HardWorldConfig()) -> list[Product]:
    """Brand-heavy titles, a share of them near-duplicate variants; attributes still set (the
    queries' relevance is computed from them before ``titles_only`` hides them)."""
    n_base = max(1, round(n_products * (1 - config.near_duplicate_share)))
    base = generate_catalog(n_base, rng)
    ptypes = {t.name: t for t in PRODUCT_TYPES}
    # per product: template, series, model code, colour's surface form, the type's title form
    looks = [(int(rng.integers(len(_TEMPLATES))), str(rng.choice(_SERIES)), _code(p.brand, rng),
              int(rng.integers(len(COLOURS[p.colour]))),
              ptypes[p.category].title_forms[int(rng.choice(3, p=(0.5, 0.3, 0.2)))])
             for p in base]
    products = [replace(p, title=_retitle(p, t, s, c, COLOURS[p.colour][f], form))
                for p, (t, s, c, f, form) in zip(base, looks)]
    colours = list(COLOURS)
    for i in range(n_products - n_base):
        j = int(rng.integers(n_base))
        src, (t, s, c, f, form) = base[j], looks[j]
        if rng.random() < 0.6:
            other = colours[int(rng.integers(len(colours)))]
            variant = replace(src, colour=other)
        else:
            sizes = ptypes[src.category].sizes
            variant = replace(src, size=sizes[int(rng.integers(len(sizes)))])
        forms = COLOURS[variant.colour]
        products.append(replace(variant, id=f"p{n_base + i:07d}",
                                title=_retitle(variant, t, s, c, forms[min(f, len(forms) - 1)],
                                               form)))
    return products


def noisy_grades(queries: list[LabelledQuery], noise: float,
                 rng: np.random.Generator) -> list[LabelledQuery]:
    """Move a ``noise`` share of each query's labels one grade up or down (kept within 1-3)."""
    noisy = []
    for q in queries:
        ids = list(q.relevance)
        grades = np.array([q.relevance[pid] for pid in ids])
        moved = rng.random(len(ids)) < noise
        step = np.where(rng.random(len(ids)) < 0.5, -1, 1)
        grades = np.clip(np.where(moved, grades + step, grades), 1, 3)
        noisy.append(replace(q, relevance=dict(zip(ids, grades.tolist()))))
    return noisy


def titles_only(products: list[Product]) -> list[Product]:
    """What a titles-only catalog exports: id, title and price, nothing else."""
    return [Product(id=p.id, title=p.title, description="", price=p.price) for p in products]


def generate_hard(n_products: int, n_queries: int, n_users: int,
                  rngs: tuple[np.random.Generator, np.random.Generator],
                  config: HardWorldConfig = HardWorldConfig(),
                  ) -> tuple[list[Product], list[LabelledQuery]]:
    """(titles-only products, labelled queries with rater noise) from a catalog and a query
    stream of their own."""
    catalog_rng, query_rng = rngs
    products = hard_catalog(n_products, catalog_rng, config)
    queries = generate_queries(products, n_queries, n_users, query_rng, mix=config.query_mix,
                               misspeller=human_misspell)
    return titles_only(products), noisy_grades(queries, config.rater_noise, query_rng)
