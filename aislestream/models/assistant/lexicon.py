"""The rule mapper's lexicon: a turn read into parameters with the world vocabulary and the
training phrasings, word for word. It knows every category, colour (and alias) and material by
name, and only the dimension phrasings it was given; a paraphrase it has not seen passes it by.

It is the rule assistant's whole understanding (engines/assistant/rules.py) and, as a hint, part
of the model assistant's input: the model reads the rules' proposed state beside the turn and
may accept or override it (models/assistant/data.py).

A later turn wins, and never leaves a contradiction behind: excluding the wanted colour (or
material) drops it as wanted, asking for an excluded one lifts the exclusion, and a price
bound that crosses the other one replaces it. A search for red that must not be red, or for
at least 131 and at most 89, finds nothing, and the shopper's last word is what they mean."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aislestream.core.text import tokenize
from aislestream.models.world.dimensions import (
    CHEAP,
    CHEAPER,
    FEATURE_PHRASES,
    NOT_COLOUR,
    NOT_MATERIAL,
    PREMIUM,
    Params,
    features_by_use,
    price_bounds,
)
from aislestream.models.world.vocab import COLOURS, PRODUCT_TYPES

CUES_FILE = "cues.json"


class MinedCues(BaseModel):
    """What the lexicon reads beyond its training phrasings, mined from shoppers' requests and
    purchases (``models/assistant/mining.py``). Validated when read: a cue with no word in it
    would match every turn, and a feature the world does not have would set nothing a filter
    knows."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    negations: tuple[str, ...] = ()  # said before a colour or material the purchase lacks
    cheap: tuple[str, ...] = ()
    cheaper: tuple[str, ...] = ()  # a refinement: lower the bound a step
    premium: tuple[str, ...] = ()
    features: dict[str, str] = Field(default_factory=dict)  # phrase -> the feature it asks for
    requests: int = Field(default=0, ge=0)  # how many shoppers' requests they were mined from

    @field_validator("negations", "cheap", "cheaper", "premium")
    @classmethod
    def _phrases(cls, phrases: tuple[str, ...]) -> tuple[str, ...]:
        for phrase in phrases:
            _check_phrase(phrase)
        return phrases

    @field_validator("features")
    @classmethod
    def _features(cls, features: dict[str, str]) -> dict[str, str]:
        for phrase, feature in features.items():
            _check_phrase(phrase)
            if feature not in KNOWN_FEATURES:
                raise ValueError(f"cue {phrase!r} asks for {feature!r}, not a feature of any "
                                 "product type")
        return features

    def to_json(self) -> dict[str, object]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: object) -> MinedCues:
        """Raises ValueError (pydantic's ValidationError) on anything but a cues file."""
        return cls.model_validate_json(json.dumps(data))

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / CUES_FILE
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, directory: Path) -> MinedCues:
        return cls.model_validate_json((directory / CUES_FILE).read_text())


def cues_digest(directory: Path) -> str | None:
    """A digest of the cues file (None without one): a verdict measured on other cues than
    these must not vouch for them."""
    try:
        return hashlib.sha256((directory / CUES_FILE).read_bytes()).hexdigest()[:16]
    except OSError:
        return None


def _check_phrase(phrase: str) -> None:
    if not tokenize(phrase):
        raise ValueError(f"cue {phrase!r} holds no word: it would match every turn")


KNOWN_FEATURES = frozenset(f for t in PRODUCT_TYPES for f in t.features)
NEGATIONS = tuple(p.split("{")[0].strip().lower()
                  for table in (NOT_COLOUR, NOT_MATERIAL) for p in table["train"])


class Lexicon:
    """``cues``: phrasings mined from shoppers' requests and purchases
    (``models/assistant/mining.py``), read beside the training phrasings; without them the
    lexicon is the rule baseline."""

    def __init__(self, cues: MinedCues | None = None) -> None:
        self.cues = cues or MinedCues()
        self.types = {t.name: t for t in PRODUCT_TYPES}
        self.nouns = sorted(((w, t.name) for t in PRODUCT_TYPES for w in (t.name, *t.slang)),
                            key=lambda x: -len(x[0]))
        self.colours = sorted(((alias, c) for c, names in COLOURS.items() for alias in names),
                              key=lambda x: -len(x[0]))
        self.feature_words = sorted([*((p, f) for f, splits in FEATURE_PHRASES.items()
                                       for p in splits["train"]),
                                     *self.cues.features.items()],
                                    key=lambda x: -len(x[0]))
        self.negations = tuple(n for n in (*NEGATIONS, *self.cues.negations) if n)
        self.cheaper = (*CHEAPER["train"], *self.cues.cheaper)
        self.cheap = (*CHEAP["train"], *self.cues.cheap)
        self.premium = (*PREMIUM["train"], *self.cues.premium)

    def update(self, params: Params, turn: str) -> Params:
        text = f" {turn.lower()} "
        # a phrase that says a price or a feature names no product ("top of the range", "top
        # quality": "top" is also a t-shirt)
        said = text
        for phrase in (*self.cheaper, *self.cheap, *self.premium, *self.cues.features):
            said = _pattern(phrase).sub(" ", said)
        for noun, category in self.nouns:
            if has_phrase(said, noun):
                if category != params.category:
                    params = Params(category=category)  # a new product: start over
                break
        ptype = self.types.get(params.category or "")
        negated = any(has_phrase(text, n) for n in self.negations)  # as words: "anorak" holds "no"
        for alias, colour in self.colours:
            if has_phrase(text, alias):
                params = exclude_colour(params, colour) if negated else want_colour(params, colour)
                break
        if ptype is not None:
            for material in ptype.materials:
                if has_phrase(text, material) and negated:
                    params = exclude_material(params, material)
            low, high = price_bounds(ptype)
            if any(has_phrase(text, p) for p in self.cheaper):
                params = cap_price(params, float(math.floor(0.8 * (params.price_max or low))))
            elif any(has_phrase(text, w) for w in self.cheap):
                params = cap_price(params, low)
            if any(has_phrase(text, w) for w in self.premium):
                params = floor_price(params, high)
            for use, feature in features_by_use(ptype).items():
                if use in text:
                    params = replace(params, feature=feature)
            for phrase, feature in self.feature_words:
                if has_phrase(text, phrase) and feature in ptype.features:
                    params = replace(params, feature=feature)
                    break
            for feature in ptype.features:
                if has_phrase(text, feature):
                    params = replace(params, feature=feature)
        return params


def want_colour(params: Params, colour: str) -> Params:
    return replace(params, colour=colour,
                   exclude_colours=tuple(c for c in params.exclude_colours if c != colour))


def exclude_colour(params: Params, colour: str) -> Params:
    return replace(params, colour=None if params.colour == colour else params.colour,
                   exclude_colours=_with(params.exclude_colours, colour))


def exclude_material(params: Params, material: str) -> Params:
    """The rules never set a wanted material, but a session's params may carry one."""
    return replace(params, material=None if params.material == material else params.material,
                   exclude_materials=_with(params.exclude_materials, material))


def cap_price(params: Params, price_max: float) -> Params:
    """A new upper bound; a lower bound above it was an earlier wish and goes."""
    keep_min = params.price_min is None or params.price_min <= price_max
    return replace(params, price_max=price_max, price_min=params.price_min if keep_min else None)


def floor_price(params: Params, price_min: float) -> Params:
    """A new lower bound; an upper bound below it was an earlier wish and goes."""
    keep_max = params.price_max is None or params.price_max >= price_min
    return replace(params, price_min=price_min, price_max=params.price_max if keep_max else None)


def _with(values: tuple[str, ...], value: str) -> tuple[str, ...]:
    return values if value in values else (*values, value)


def has_phrase(text: str, phrase: str) -> bool:
    """``phrase`` said as words ("anorak" does not hold "no"; "wallet friendly" is said in
    "wallet-friendly")."""
    return _pattern(phrase).search(text) is not None


@lru_cache(maxsize=4_096)
def _pattern(phrase: str) -> re.Pattern[str]:
    words = r"\W+".join(map(re.escape, tokenize(phrase)))
    return re.compile(rf"(?<![a-z]){words}(?![a-z])")


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The rule baseline's lexicon, one per process (it is read-only once built)."""
    return Lexicon()
