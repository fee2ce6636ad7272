"""The assistant contract and what every implementation shares: session state, and products
found with the parameters as filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from aislestream.connectors.search.base import Hit, SearchRequest, SearchStore
from aislestream.models.world.dimensions import Params


@dataclass(frozen=True)
class SessionState:
    params: Params = Params()
    turns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    params: Params
    question: str | None  # asked instead of guessing when a needed dimension is missing
    products: tuple[Hit, ...] = field(default_factory=tuple)


class Assistant(Protocol):
    name: str

    def respond(self, state: SessionState, user_turn: str) -> tuple[SessionState, Reply]:
        """The new session state and the reply to one shopper turn."""


def products_request(params: Params, k: int = 10) -> SearchRequest:
    """Hard constraints and exclusions as store filters, the wanted feature as query text."""
    filters = {name: value for name in ("category", "colour", "material")
               if (value := getattr(params, name)) is not None}
    exclude = {key: values for key, values in (("colour", params.exclude_colours),
                                               ("material", params.exclude_materials)) if values}
    text = " ".join(v for v in (params.feature, params.category) if v)
    return SearchRequest(text, filters=filters, exclude=exclude, price_min=params.price_min,
                         price_max=params.price_max, k=k)


def find_products(store: SearchStore, params: Params, k: int = 10) -> list[Hit]:
    return store.search(products_request(params, k))


QUESTIONS = {"category": "What kind of product are you looking for?"}


def missing_dimension(params: Params) -> str | None:
    """The one dimension nothing can be searched without, when it is missing."""
    return None if params.category else "category"


def clarifying_question(params: Params) -> str | None:
    missing = missing_dimension(params)
    return QUESTIONS[missing] if missing else None
