"""Cues the rules were never given, mined from what shoppers said and what they then bought.

A site's logs pair a shopper's words with a purchase, never with the parameters meant. Yet a
word that is only ever said by shoppers who then buy something cheap *means* cheap; a word in
front of a colour or material the purchase never has negates it. This mines such cues from
``(words, bought product)`` pairs, the way query-attribute associations are mined from
purchase logs, and hands them to the lexicon (``models/assistant/lexicon.py``), so the rules
(and the model's hint) read phrasings no labelled example contains.

A cue must be said often (``min_support`` requests), almost always by shoppers whose purchase
fits it (``min_precision``, at the low end of its confidence interval), and add something:
candidates are counted on the requests no cue already explains, biggest first (explaining
away). That keeps a wrapper word ("only" in "only luxury please") from becoming a cue on the
strength of the word it wraps. A cue is the phrase its word is nearly always said in ("top of
the range"), so the lexicon does not read a word inside it for itself ("top" is a t-shirt).
Words the lexicon already knows (attribute values, the training phrasings, stopwords) are
never cues. No gold parameter is read: only the words and the bought product.

The world's log (``behaviour.purchase_log``) is synthetic and without noise: every request
fits its purchase. The precision bound is there for real logs (tested with one purchase in ten
replaced by any product of the category).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from aislestream.core.products import Product
from aislestream.core.text import tokenize
from aislestream.models.assistant.dialogue import dimension_words
from aislestream.models.assistant.lexicon import NEGATIONS, MinedCues, has_phrase
from aislestream.models.world.dimensions import (
    CHEAP,
    CHEAPER,
    FEATURE_PHRASES,
    PREMIUM,
    price_bounds,
)
from aislestream.models.world.vocab import COLOURS, PRODUCT_TYPES, STOPWORDS

PRICE_CLASSES = ("cheaper", "cheap", "premium")  # mined in this order: cheaper is also cheap


@dataclass(frozen=True)
class MiningConfig:
    min_support: int = 10  # requests a cue must explain that no earlier cue explains
    # the share of all requests with the cue whose purchase fits it, at the lower end of its 95%
    # (Wilson) interval: logs are noisy (a gift, a second thought), and 20 of 20 says less than
    # 950 of 1,000
    min_precision: float = 0.8
    agreement: float = 0.95  # share of a word's requests that must say the words around it


def price_class(product: Product) -> str | None:
    """Where the product's price sits in its category's range, in the lexicon's own bounds."""
    ptype = next((t for t in PRODUCT_TYPES if t.name == product.category), None)
    if ptype is None:
        return None
    low, high = price_bounds(ptype)
    if product.price <= math.floor(0.8 * low):
        return "cheaper"
    if product.price <= low:
        return "cheap"
    return "premium" if product.price >= high else None


def greedy_cues(candidates: Sequence[set[str]], fits: Sequence[bool], explained: Sequence[bool],
                config: MiningConfig) -> list[str]:
    """Words of ``candidates`` whose requests fit (``fits``) at ``min_precision`` over all their
    requests, taken biggest first on the fitting requests that nothing explains yet
    (``explained``: a cue the lexicon knows is said)."""
    totals, fitting = Counter(), Counter()
    for words, fit in zip(candidates, fits):
        totals.update(words)
        if fit:
            fitting.update(words)
    pure = {w for w, n in totals.items() if wilson_lower(fitting[w], n) >= config.min_precision}
    left = [words for words, fit, done in zip(candidates, fits, explained) if fit and not done]
    taken: list[str] = []
    while left:
        counts = Counter(w for words in left for w in words if w in pure)
        if not counts:
            break
        word, support = max(counts.items(), key=lambda kv: (kv[1], len(kv[0]), kv[0]))
        if support < config.min_support:
            break
        taken.append(word)
        left = [words for words in left if word not in words]
    return sorted(taken)


def wilson_lower(hits: int, n: int, z: float = 1.96) -> float:
    """The lower end of the Wilson score interval of ``hits / n``."""
    if n == 0:
        return 0.0
    p = hits / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def closed_phrase(word: str, requests: Sequence[Sequence[str]], bought: Sequence[str | None],
                  agreement: float = 0.95) -> str:
    """The longest phrase around ``word`` that nearly all its requests say (``agreement``:
    "range" is "top of the range", "wallet" is "wallet friendly"), without stopwords at its
    ends: the cue the lexicon looks for, so that a word inside it ("top", a t-shirt) is not
    read for itself. A product noun naming what most of those shoppers bought (``bought``: each
    request's category) ends the phrase: it says the product, not the cue."""
    nouns = {w: t.name for t in PRODUCT_TYPES for w in (t.name, *t.slang)}
    spans = [(tokens, i, category) for tokens, category in zip(requests, bought)
             for i, w in enumerate(tokens) if w == word]
    if not spans:
        return word

    def neighbour(offset: int) -> str | None:
        said = Counter(tokens[i + offset] for tokens, i, _ in spans
                     if 0 <= i + offset < len(tokens))
        if not said:
            return None
        common, n = said.most_common(1)[0]
        if n < agreement * len(spans):
            return None
        named = sum(nouns.get(common) == category for _, _, category in spans)
        return None if named > len(spans) / 2 else common

    left: list[str] = []
    while (w := neighbour(-len(left) - 1)) is not None:
        left.insert(0, w)
    right: list[str] = []
    while (w := neighbour(len(right) + 1)) is not None:
        right.append(w)
    words = [*left, word, *right]
    while words[0] in STOPWORDS and words[0] != word:
        words.pop(0)
    while words[-1] in STOPWORDS and words[-1] != word:
        words.pop()
    return " ".join(words)


def _says(texts: Sequence[str], phrases: Iterable[str]) -> list[bool]:
    phrases = list(phrases)
    return [any(has_phrase(f" {t} ", p) for p in phrases) for t in texts]


def mine_cues(log: Sequence[tuple[str, Product]], config: MiningConfig | None = None,
              progress: Callable[[str], None] | None = None) -> MinedCues:
    """Cues from ``(words, bought product)`` pairs."""
    config = config or MiningConfig()
    known = dimension_words()
    tokens = [tokenize(words) for words, _ in log]
    texts = [" ".join(ts) for ts in tokens]
    candidates = [{w for w in ts if w not in known and not w.isdigit()} for ts in tokens]
    classes = [price_class(p) for _, p in log]
    bought = [p.category for _, p in log]
    price: dict[str, list[str]] = {}
    known_price = {"cheaper": CHEAPER["train"], "cheap": CHEAP["train"],
                   "premium": PREMIUM["train"]}
    for name in PRICE_CLASSES:
        fits = [c == name or (name == "cheap" and c == "cheaper") for c in classes]
        said = [*known_price[name], *(price["cheaper"] if name == "cheap" else [])]
        price[name] = [closed_phrase(w, tokens, bought, config.agreement)
                       for w in greedy_cues(candidates, fits, _says(texts, said), config)]
        if progress:
            progress(f"{name}: {', '.join(price[name]) or '-'}")
    features: dict[str, str] = {}
    for feature, splits in FEATURE_PHRASES.items():
        fits = [feature in p.features for _, p in log]
        said = _says(texts, [*splits["train"], feature])
        for word in greedy_cues(candidates, fits, said, config):
            features.setdefault(closed_phrase(word, tokens, bought, config.agreement), feature)
    negations = mine_negations(log, known, config)
    if progress:
        progress(f"features: {features or '-'}; negations: {', '.join(negations) or '-'}")
    return MinedCues(negations=tuple(negations), cheap=tuple(price["cheap"]),
                     cheaper=tuple(price["cheaper"]), premium=tuple(price["premium"]),
                     features=features, requests=len(log))


def mentions(text: str, values: dict[str, str]) -> list[tuple[int, str]]:
    """Where each phrase of ``values`` (phrase -> value) is said in ``text`` (words as the
    tokenizer splits them, one space apart: "off-white" is "off white"), a longer phrase
    before one it holds ("raw denim" is not also "denim"): (offset, value) in order."""
    by_words = {" ".join(tokenize(phrase)): value for phrase, value in values.items()}
    return [(m.start(), by_words[m.group(0)])
            for m in _alternation(tuple(by_words)).finditer(text)]


@lru_cache(maxsize=8)
def _alternation(phrases: tuple[str, ...]) -> re.Pattern[str]:
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, ordered)) + r")(?![a-z0-9])")


def mine_negations(log: Sequence[tuple[str, Product]], known: frozenset[str],
                   config: MiningConfig) -> list[str]:
    """Words said in the three words before a colour or material that the bought product then
    does not have; mentions after a negation the lexicon knows are explained already."""
    colours = {alias: colour for colour, names in COLOURS.items() for alias in names}
    materials = {m: m for t in PRODUCT_TYPES for m in t.materials}
    before: list[list[str]] = []
    categories: list[str] = []
    lacks: list[bool] = []
    explained: list[bool] = []
    for words, product in log:
        text = " ".join(tokenize(words))
        for attribute, values in (("colour", colours), ("material", materials)):
            for start, value in mentions(text, values):
                context = " ".join(text[:start].split()[-3:])
                before.append(context.split())
                categories.append(product.category)
                lacks.append(value != getattr(product, attribute))
                explained.append(any(has_phrase(f" {context} ", n) for n in NEGATIONS if n))
    candidates = [{w for w in words if w not in known and not w.isdigit()} for words in before]
    return [closed_phrase(w, before, categories, config.agreement)
            for w in greedy_cues(candidates, lacks, explained, config)]
