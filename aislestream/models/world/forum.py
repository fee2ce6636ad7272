"""Shopper forum posts: unlabelled text in which every way of saying a dimension occurs next to
what the shopper then bought.

This is the world's stand-in for the general text a real LLM is pre-trained on, and the only
place held-out phrasings ("wallet-friendly", "please no red") appear: always in the same
contexts as their training counterparts, never paired with a parameter set. A model that maps
them correctly after fine-tuning on training phrasings alone has learned that they mean the
same thing, which is the generalisation the held-out evaluation asks about. The assistant's
fine-tuning data and the rule baseline's lexicon never contain them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from aislestream.core.products import Product
from aislestream.models.world.dimensions import (
    ANSWERS,
    CHATTER,
    CHEAP,
    CHEAP_WRAP,
    CHEAPER,
    COLOUR_WRAP,
    CORRECT_COLOUR,
    FEATURE_PHRASES,
    FEATURE_WRAP,
    NOT_COLOUR,
    NOT_MATERIAL,
    OPENERS,
    PREMIUM,
    PREMIUM_WRAP,
    USE_WRAP,
    VAGUE,
    features_by_use,
    price_bounds,
)
from aislestream.models.world.vocab import COLOURS, PRODUCT_TYPES, ProductType


def _all(table: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    return table["train"] + table["held_out"]


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return str(options[int(rng.integers(len(options)))])


KINDS = ("price", "feature", "use", "colour", "not_colour", "not_material", "open", "vague",
         "correct", "chatter")
RESTATED = ("price", "feature", "use", "colour", "open")  # kinds whose value the product fixes


def _said(kind: str, product: Product, ptype: ProductType, rng: np.random.Generator) -> str | None:
    """A way of asking, of one kind, that ``product`` answers (phrasings of every split)."""
    low, high = price_bounds(ptype)
    noun = _pick(rng, (ptype.name, *ptype.slang))
    if kind == "price":
        if product.price <= math.floor(0.8 * low):
            said = (f"{_pick(rng, _all(CHEAP_WRAP)).format(w=_pick(rng, _all(CHEAP)))} . "
                    f"{_pick(rng, _all(CHEAPER))}")
        elif product.price <= low:
            said = _pick(rng, _all(CHEAP_WRAP)).format(w=_pick(rng, _all(CHEAP)))
        elif product.price >= high:
            said = _pick(rng, _all(PREMIUM_WRAP)).format(w=_pick(rng, _all(PREMIUM)))
        else:
            return None
    elif kind == "feature":
        if not product.features:
            return None
        feature = _pick(rng, product.features)
        said = (_pick(rng, _all(FEATURE_PHRASES[feature])) if feature in FEATURE_PHRASES
                else _pick(rng, _all(FEATURE_WRAP)).format(f=feature))
    elif kind == "use":
        uses = [u for u, f in features_by_use(ptype).items() if f in product.features]
        if not uses:
            return None
        said = _pick(rng, _all(USE_WRAP)).format(u=_pick(rng, uses))
    elif kind == "colour":
        said = _pick(rng, _all(COLOUR_WRAP)).format(
            c=_pick(rng, COLOURS.get(product.colour, (product.colour,))))
    elif kind == "not_colour":
        said = _pick(rng, _all(NOT_COLOUR)).format(
            c=_pick(rng, [c for c in COLOURS if c != product.colour]))
    elif kind == "not_material":
        others = [m for m in ptype.materials if m != product.material]
        said = _pick(rng, _all(NOT_MATERIAL)).format(m=_pick(rng, others))
    elif kind == "open":
        said = _pick(rng, _all(OPENERS)).format(noun=noun)
    elif kind == "vague":
        said = f"{_pick(rng, _all(VAGUE))} . {_pick(rng, _all(ANSWERS)).format(noun=noun)}"
    elif kind == "correct":
        first = _pick(rng, [c for c in COLOURS if c != product.colour])
        said = (f"{_pick(rng, _all(COLOUR_WRAP)).format(c=first)} . "
                f"{_pick(rng, _all(CORRECT_COLOUR)).format(c=product.colour)}")
    else:
        said = f"{_pick(rng, _all(CHATTER))} . {_pick(rng, _all(OPENERS)).format(noun=noun)}"
    return said


def shopper_request(product: Product, rng: np.random.Generator, restate: float = 0.3,
                    ) -> tuple[str, str] | None:
    """(kind, words): a way of asking that ``product`` answers, sometimes said twice in
    different words ("..., i mean ..."); None when the drawn kind does not fit the product."""
    ptype = next((t for t in PRODUCT_TYPES if t.name == product.category), None)
    if ptype is None:
        return None
    kind = _pick(rng, KINDS)
    said = _said(kind, product, ptype, rng)
    if said is None:
        return None
    if kind in RESTATED and rng.random() < restate:
        again = _said(kind, product, ptype, rng)
        if again is not None and again != said:
            said = f"{said} . i mean {again}"
    return kind, said.lower()


def forum_post(product: Product, rng: np.random.Generator, restate: float = 0.3) -> str | None:
    """One post about ``product``: the shopper's request, then the purchase."""
    request = shopper_request(product, rng, restate)
    if request is None:
        return None
    return f"shopper : {request[1]} . bought {product.title} for {round(product.price)} ."


def forum_posts(products: Sequence[Product], n: int, seed: int = 0,
                restate: float = 0.3) -> list[str]:
    """``n`` posts about products drawn uniformly from the catalog."""
    rng = np.random.default_rng([seed, 7])
    posts: list[str] = []
    while len(posts) < n:
        post = forum_post(products[int(rng.integers(len(products)))], rng, restate)
        if post is not None:
            posts.append(post)
    return posts
