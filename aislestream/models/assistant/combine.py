"""A per-slot choice between the rules and the model, calibrated on what shoppers bought.

Each reads some slots better: on held-out phrasings the rules are near perfect on colours and
colour exclusions and blind to unseen price and material phrasings, the model the other way
round. The choice is made per slot from behaviour (a shopper's words and what they bought,
``models/assistant/behaviour.py``), never from gold parameters: a source earns a point for
each value it sets that the purchase satisfies and loses one for each the purchase breaks, and
the slot goes to the source with more points (the rules on a tie, as the baseline).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields

from aislestream.core.products import Product
from aislestream.models.world.dimensions import Params

SLOTS = tuple(f.name for f in fields(Params))
SOURCES = ("rules", "model")


def _holds(product: Product, slot: str, value: object) -> bool:
    """Whether the bought product meets one slot's value."""
    if slot in ("category", "colour", "material"):
        return getattr(product, slot) == value
    if slot == "feature":
        return value in product.features
    if slot == "price_max":
        return product.price <= value  # type: ignore[operator]
    if slot == "price_min":
        return product.price >= value  # type: ignore[operator]
    attribute = "colour" if slot == "exclude_colours" else "material"
    return getattr(product, attribute) not in value  # type: ignore[operator]


def slot_points(outputs: Sequence[Params], states: Sequence[Params],
                bought: Sequence[Product]) -> dict[str, int]:
    """Per slot: values the source set (changed from the session's state) that the purchase
    satisfies, minus those it breaks."""
    points = dict.fromkeys(SLOTS, 0)
    for output, state, product in zip(outputs, states, bought):
        for slot in SLOTS:
            value = getattr(output, slot)
            if value not in (None, ()) and value != getattr(state, slot):
                points[slot] += 1 if _holds(product, slot, value) else -1
    return points


def choose_sources(points: Mapping[str, Mapping[str, int]]) -> dict[str, str]:
    """``points``: per source, per slot. The model only where it earned more than the rules."""
    return {slot: "model" if points["model"][slot] > points["rules"][slot] else "rules"
            for slot in SLOTS}


def combine(rules: Params, model: Params, sources: Mapping[str, str]) -> Params:
    return Params(**{slot: getattr(model if sources.get(slot) == "model" else rules, slot)
                     for slot in SLOTS})
