"""The dimension world: how shoppers speak about what they want, mapped to the parameters a
search filter understands, and multi-turn dialogues with the gold parameters after each turn.

Shoppers speak in dimensions ("something cheap", "keeps the rain out", "anything but red",
"actually, a bit cheaper"); filters speak in slots (``price_max``, ``feature``,
``exclude_colours``). The mapping is ground truth per category (price bounds from the
category's own price range, use cases to the feature they need). Every dimension has
training phrasings and held-out phrasings, and dialogues are drawn from training or held-out
templates, so an evaluation can ask whether a model learned the mapping or the words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from aislestream.models.world.vocab import COLOURS, PRODUCT_TYPES, ProductType

SPLITS = ("train", "held_out")
PRICE_LOW, PRICE_HIGH = 0.35, 0.65  # "cheap" = below this share of the category's price range

CHEAP = {"train": ("cheap", "budget", "affordable", "inexpensive"),
         "held_out": ("wallet-friendly", "low-cost")}
PREMIUM = {"train": ("premium", "high-end", "top quality"),
           "held_out": ("luxury", "top of the range")}
CHEAPER = {"train": ("a bit cheaper", "something less expensive"),
           "held_out": ("lower the price a little",)}
# Feature phrasings are whole clauses; features without one are named ("with {f}").
FEATURE_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "waterproof": {"train": ("it should keep the rain out", "it must be waterproof"),
                   "held_out": ("it can't let water in",)},
    "lightweight": {"train": ("light enough to carry all day", "it must be lightweight"),
                    "held_out": ("it should barely weigh anything",)},
    "cushioned": {"train": ("soft to walk in", "it must be cushioned"),
                  "held_out": ("comfy underfoot",)},
    "insulated": {"train": ("it should keep me warm", "it must be insulated"),
                  "held_out": ("good in the freezing cold",)},
    "breathable": {"train": ("it shouldn't get sweaty", "it must be breathable"),
                   "held_out": ("it should let my skin breathe",)},
}
# Wrappers: how a value is put into a turn. Held-out dialogues use wrappers training never saw.
FEATURE_WRAP = {"train": ("with {f}", "it needs {f}", "needs to have {f}", "ideally {f}"),
                "held_out": ("must have {f}",)}
COLOUR_WRAP = {"train": ("in {c}", "{c} please", "I'd prefer {c}", "ideally {c}"),
               "held_out": ("the {c} one",)}
USE_WRAP = {"train": ("it's for {u}", "I'll need it for {u}", "to use for {u}",
                      "we want it for {u}"),
            "held_out": ("mainly for {u}",)}
CHEAP_WRAP = {"train": ("something {w}", "make it {w}", "I'd prefer {w}", "ideally {w}"),
              "held_out": ("I'd like a {w} one",)}
PREMIUM_WRAP = {"train": ("I want {w}", "something {w}", "I'd prefer {w}", "ideally {w}"),
                "held_out": ("only {w} please",)}
NOT_COLOUR = {"train": ("anything but {c}", "not {c}", "I don't want {c}", "except {c}"),
              "held_out": ("please no {c}",)}
NOT_MATERIAL = {"train": ("no {m}", "not made of {m}", "I don't want {m}", "nothing in {m}"),
                "held_out": ("I avoid {m}",)}
OPENERS = {"train": ("I'm looking for {noun}", "I need {noun}", "do you have {noun}",
                     "I want {noun}", "got any {noun}"),
           "held_out": ("show me {noun}", "searching for {noun}")}
# An opening that names no product: the assistant must ask, and the answer names it.
VAGUE = {"train": ("I'm looking for something", "can you help me find something",
                   "I want to buy something", "any suggestions?"),
         "held_out": ("I need a present",)}
ANSWERS = {"train": ("{noun}", "a {noun} please", "I think {noun}", "{noun} I guess"),
           "held_out": ("maybe {noun}",)}
CHATTER = {"train": ("my friend recommended this shop", "it's for a trip next week",
                     "I had a long day", "thanks for your help"),
           "held_out": ("the weather is lovely today",)}
CORRECT_COLOUR = {"train": ("actually, make it {c}", "change the colour to {c}",
                            "wait, {c} instead", "rather {c}"),
                  "held_out": ("on second thought, {c}",)}
PHRASINGS = {"cheap": CHEAP, "premium": PREMIUM, "cheaper": CHEAPER, "feature_wrap": FEATURE_WRAP,
             "colour_wrap": COLOUR_WRAP, "use_wrap": USE_WRAP, "cheap_wrap": CHEAP_WRAP,
             "premium_wrap": PREMIUM_WRAP, "not_colour": NOT_COLOUR, "not_material": NOT_MATERIAL,
             "openers": OPENERS, "vague": VAGUE, "answers": ANSWERS, "chatter": CHATTER,
             "correct_colour": CORRECT_COLOUR,
             **{f"feature:{f}": table for f, table in FEATURE_PHRASES.items()}}
VAGUE_SHARE = 0.15


@dataclass(frozen=True)
class Params:
    """The structured parameter set: what the assistant emits and the filters understand."""

    category: str | None = None
    colour: str | None = None
    material: str | None = None
    feature: str | None = None
    price_max: float | None = None
    price_min: float | None = None
    exclude_colours: tuple[str, ...] = ()
    exclude_materials: tuple[str, ...] = ()

    def slots(self) -> set[tuple[str, object]]:
        out: set[tuple[str, object]] = set()
        for name in ("category", "colour", "material", "feature", "price_max", "price_min"):
            value = getattr(self, name)
            if value is not None:
                out.add((name, round(value) if isinstance(value, float) else value))
        out |= {("exclude_colours", c) for c in self.exclude_colours}
        out |= {("exclude_materials", m) for m in self.exclude_materials}
        return out

    def to_json(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, ())}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Params:
        values = dict(data)
        for key in ("exclude_colours", "exclude_materials"):
            if key in values:
                values[key] = tuple(values[key])  # type: ignore[arg-type]
        for key in ("price_max", "price_min"):
            if values.get(key) is not None:
                values[key] = float(values[key])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Turn:
    text: str
    kind: str  # open, vague, answer, add, refine, correct, negate, chatter
    gold: Params  # the parameters after this turn


@dataclass(frozen=True)
class Dialogue:
    id: str
    split: str
    needs: Params  # the shopper's hidden true needs (equal to the last turn's gold)
    turns: tuple[Turn, ...] = field(default_factory=tuple)


def attribute_phrases() -> list[str]:
    """Every attribute value a shopper can name: categories and their slang, materials,
    features, use cases and colour aliases."""
    phrases = [v for t in PRODUCT_TYPES
               for v in (t.name, *t.slang, *t.materials, *t.features, *t.uses)]
    return phrases + [alias for aliases in COLOURS.values() for alias in aliases]


def price_bounds(ptype: ProductType) -> tuple[float, float]:
    low, high = ptype.price
    return (float(math.floor(low + PRICE_LOW * (high - low))),
            float(math.ceil(low + PRICE_HIGH * (high - low))))


def features_by_use(ptype: ProductType) -> dict[str, str]:
    """A use case needs one of the category's features (ground truth, by position)."""
    return {use: ptype.features[i % len(ptype.features)] for i, use in enumerate(ptype.uses)}


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return str(options[int(rng.integers(len(options)))])


def generate_dialogue(index: int, split: str, rng: np.random.Generator) -> Dialogue:
    """One conversation: an opening (sometimes one that names no product, answered after the
    assistant asks), two to four more turns (added needs, a refinement, a correction, a
    negation, chatter), the gold parameters after every turn."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    ptype = PRODUCT_TYPES[int(rng.integers(len(PRODUCT_TYPES)))]
    low, high = price_bounds(ptype)
    noun = ptype.name if rng.random() < 0.5 else _pick(rng, ptype.slang)
    params = Params(category=ptype.name)
    if rng.random() < VAGUE_SHARE:
        turns = [Turn(_pick(rng, VAGUE[split]), "vague", Params()),
                 Turn(_pick(rng, ANSWERS[split]).format(noun=noun), "answer", params)]
    else:
        turns = [Turn(_pick(rng, OPENERS[split]).format(noun=noun), "open", params)]
    moves = ["colour", "price", "feature", "use", "negate_colour", "negate_material", "chatter"]
    chosen = [str(m) for m in rng.choice(moves, size=int(rng.integers(2, 5)), replace=False)]
    colours = list(COLOURS)
    for move in chosen:
        if move == "colour":
            colour = _pick(rng, colours)
            word = colour if rng.random() < 0.6 else _pick(rng, COLOURS[colour][1:] or (colour,))
            params = replace(params, colour=colour)
            turns.append(Turn(_pick(rng, COLOUR_WRAP[split]).format(c=word), "add", params))
        elif move == "price":
            if rng.random() < 0.6:
                params = replace(params, price_max=low)
                phrase = _pick(rng, CHEAP_WRAP[split]).format(w=_pick(rng, CHEAP[split]))
                turns.append(Turn(phrase, "add", params))
                if rng.random() < 0.5:
                    params = replace(params, price_max=float(math.floor(0.8 * low)))
                    turns.append(Turn(_pick(rng, CHEAPER[split]), "refine", params))
            else:
                params = replace(params, price_min=high)
                phrase = _pick(rng, PREMIUM_WRAP[split]).format(w=_pick(rng, PREMIUM[split]))
                turns.append(Turn(phrase, "add", params))
        elif move == "feature":
            known = [f for f in ptype.features if f in FEATURE_PHRASES]
            feature = _pick(rng, known) if known else _pick(rng, ptype.features)
            phrase = (_pick(rng, FEATURE_PHRASES[feature][split]) if feature in FEATURE_PHRASES
                      else _pick(rng, FEATURE_WRAP[split]).format(f=feature))
            params = replace(params, feature=feature)
            turns.append(Turn(phrase, "add", params))
        elif move == "use":
            use, feature = list(features_by_use(ptype).items())[int(rng.integers(len(ptype.uses)))]
            params = replace(params, feature=feature)
            turns.append(Turn(_pick(rng, USE_WRAP[split]).format(u=use), "add", params))
        elif move == "negate_colour":
            colour = _pick(rng, [c for c in colours if c != params.colour])
            params = replace(params, exclude_colours=params.exclude_colours + (colour,))
            turns.append(Turn(_pick(rng, NOT_COLOUR[split]).format(c=colour), "negate", params))
        elif move == "negate_material":
            material = _pick(rng, ptype.materials)
            params = replace(params, exclude_materials=params.exclude_materials + (material,))
            turns.append(Turn(_pick(rng, NOT_MATERIAL[split]).format(m=material), "negate", params))
        else:
            turns.append(Turn(_pick(rng, CHATTER[split]), "chatter", params))
    if params.colour is not None and rng.random() < 0.3:
        colour = _pick(rng, [c for c in colours
                             if c != params.colour and c not in params.exclude_colours])
        params = replace(params, colour=colour)
        turns.append(Turn(_pick(rng, CORRECT_COLOUR[split]).format(c=colour), "correct", params))
    return Dialogue(f"d{index:06d}", split, params, tuple(turns))


def generate_dialogues(n: int, split: str, seed: int = 0) -> list[Dialogue]:
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    return [generate_dialogue(i, split, rng) for i in range(n)]


@dataclass(frozen=True)
class SlotScore:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        return (0.0 if self.precision + self.recall == 0
                else 2 * self.precision * self.recall / (self.precision + self.recall))


def score_slots(predicted: Params, gold: Params) -> SlotScore:
    """Per-slot precision and recall of (slot, value) pairs (prices compared in whole units)."""
    p, g = predicted.slots(), gold.slots()
    if not p and not g:
        return SlotScore(1.0, 1.0)
    hit = len(p & g)
    return SlotScore(hit / len(p) if p else 1.0, hit / len(g) if g else 1.0)


def satisfies(product_attrs: Mapping[str, object], needs: Params) -> bool:
    """Whether a product meets every hidden need (the shopper's own test of a result)."""
    a = product_attrs
    checks = [needs.category is None or a.get("category") == needs.category,
              needs.colour is None or a.get("colour") == needs.colour,
              needs.material is None or a.get("material") == needs.material,
              needs.feature is None or needs.feature in a.get("features", ()),
              needs.price_max is None or float(a.get("price", 0)) <= needs.price_max,
              needs.price_min is None or float(a.get("price", 0)) >= needs.price_min,
              a.get("colour") not in needs.exclude_colours,
              a.get("material") not in needs.exclude_materials]
    return all(checks)
