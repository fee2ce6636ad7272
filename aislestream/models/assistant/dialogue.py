"""What the assistant works with, whatever answers: session state, the reply, the question asked
when a needed dimension is missing, and products found with the parameters as filters. The
model's training data, its judge and every engine share these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from aislestream.connectors.search.base import Hit, SearchRequest, SearchStore
from aislestream.core.text import tokenize
from aislestream.models.world.dimensions import PHRASINGS, Params, attribute_phrases
from aislestream.models.world.vocab import STOPWORDS


@dataclass(frozen=True)
class SessionState:
    params: Params = Params()
    turns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    params: Params
    question: str | None  # asked instead of guessing when a needed dimension is missing
    products: tuple[Hit, ...] = field(default_factory=tuple)


@lru_cache(maxsize=1)
def dimension_words() -> frozenset[str]:
    """Words a slot can explain: attribute values and the training phrasings, plus stopwords."""
    texts = [p for table in PHRASINGS.values() for p in table["train"]] + attribute_phrases()
    return frozenset(w for t in texts for w in tokenize(t)) | STOPWORDS


def free_text_remainder(turns: Sequence[str]) -> str:
    """What the shopper said that no slot explains (a brand, a detail), in order, once each."""
    known = dimension_words()
    return " ".join(dict.fromkeys(w for t in turns for w in tokenize(t)
                                  if w not in known and not w.isdigit()))


def products_request(params: Params, k: int = 10, remainder: str = "") -> SearchRequest:
    """Hard constraints and exclusions as store filters; the wanted feature, the category and
    the free-text remainder as query text (they rank, they do not filter)."""
    filters = {name: value for name in ("category", "colour", "material")
               if (value := getattr(params, name)) is not None}
    exclude = {key: values for key, values in (("colour", params.exclude_colours),
                                               ("material", params.exclude_materials)) if values}
    text = " ".join(v for v in (params.feature, params.category, remainder) if v)
    return SearchRequest(text, filters=filters, exclude=exclude, price_min=params.price_min,
                         price_max=params.price_max, k=k)


def find_products(store: SearchStore, params: Params, k: int = 10,
                  turns: Sequence[str] = ()) -> list[Hit]:
    return store.search(products_request(params, k, free_text_remainder(turns)))


QUESTIONS = {"category": "What kind of product are you looking for?"}


def missing_dimension(params: Params) -> str | None:
    """The one dimension nothing can be searched without, when it is missing."""
    return None if params.category else "category"


def clarifying_question(params: Params) -> str | None:
    missing = missing_dimension(params)
    return QUESTIONS[missing] if missing else None
