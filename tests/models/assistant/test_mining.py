"""Cues mined from shoppers' words and purchases: what a word means is read off what its
shoppers bought, and the lexicon then reads it."""

from dataclasses import replace

import numpy as np
import pytest

from aislestream.models.assistant.behaviour import purchase_log
from aislestream.models.assistant.lexicon import Lexicon, MinedCues, lexicon
from aislestream.models.assistant.mining import (
    MiningConfig,
    closed_phrase,
    mentions,
    mine_cues,
    price_class,
)
from aislestream.models.world.dimensions import Params, price_bounds
from aislestream.models.world.vocab import PRODUCT_TYPES

JACKET = next(t for t in PRODUCT_TYPES if t.name == "winter jacket")


def _jackets(small_world):
    return [p for p in small_world.products if p.category == JACKET.name]


def _log(small_world, n=600, seed=0):
    """Made-up words ("thrifty", "swanky", "shun") said only by shoppers whose purchase fits
    them, beside plain requests, and a wrapper ("i'd fancy a ... one") around both kinds."""
    rng = np.random.default_rng(seed)
    low, high = price_bounds(JACKET)
    jackets = _jackets(small_world)
    cheap = [p for p in jackets if p.price <= low]
    premium = [p for p in jackets if p.price >= high]
    out = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            product = cheap[int(rng.integers(len(cheap)))]
            out.append(("i'd fancy a thrifty one" if i % 8 else "something thrifty", product))
        elif kind == 1:
            product = premium[int(rng.integers(len(premium)))]
            out.append(("i'd fancy a swanky one" if i % 8 - 1 else "only swanky", product))
        elif kind == 2:
            product = jackets[int(rng.integers(len(jackets)))]
            other = next(m for m in JACKET.materials if m != product.material)
            out.append((f"i shun {other}", product))
        else:
            product = jackets[int(rng.integers(len(jackets)))]
            out.append(("show me winter jacket", product))
    return out


def test_a_word_means_what_its_shoppers_bought(small_world):
    cues = mine_cues(_log(small_world))
    assert cues.cheap == ("thrifty",) and cues.premium == ("swanky",)
    assert cues.negations == ("shun",) and cues.cheaper == ()
    # "fancy" wraps both kinds: never pure, never a cue; words the lexicon knows never are
    assert not {"fancy", "show", "winter"} & {*cues.cheap, *cues.premium, *cues.negations}
    assert cues.requests == 600


def test_a_cue_needs_support_and_precision(small_world):
    log = _log(small_world, n=40)
    assert mine_cues(log, MiningConfig(min_support=11)).cheap == ()  # said by 10 shoppers
    # one thrifty shopper of ten who bought a premium jacket: 9 of 10 is too few to be sure of
    premium = next(p for _, p in log if price_class(p) == "premium")
    spoiled = [(words, premium) if words == "something thrifty" and i < 10 else (words, p)
               for i, (words, p) in enumerate(log)]
    assert mine_cues(spoiled, MiningConfig(min_support=3)).cheap == ()


def test_a_noisy_log_still_teaches_its_cues(small_world):
    """One purchase in ten is of any jacket (a gift, a second thought): what most shoppers who
    say a word bought still says what it means."""
    rng = np.random.default_rng(3)
    jackets = _jackets(small_world)
    noisy = [(words, jackets[int(rng.integers(len(jackets)))] if rng.random() < 0.1 else p)
             for words, p in _log(small_world, n=1_200)]
    cues = mine_cues(noisy)
    assert cues.cheap == ("thrifty",) and cues.premium == ("swanky",)
    assert cues.negations == ("shun",)


def test_a_cue_is_the_whole_phrase_its_word_is_nearly_always_said_in():
    requests = ([["only", "top", "of", "the", "range", "please"], ["top", "of", "the", "range"]]
                * 40 + [["is", "it", "in", "my", "price", "range"]]
                + [["the", "wallet", "friendly", "one"], ["something", "wallet", "friendly"]])
    bought = ["laptop"] * len(requests)
    assert closed_phrase("range", requests, bought) == "top of the range"  # 80 of 81
    assert closed_phrase("wallet", requests, bought) == "wallet friendly"
    assert closed_phrase("missing", requests, bought) == "missing"
    # the product the shoppers bought ends the phrase: "sneakers" names it, not the cue
    said = [["only", "luxury", "sneakers", "please"]] * 12
    assert closed_phrase("luxury", said, ["running shoes"] * 12) == "only luxury"
    values = {"raw denim": "raw denim", "denim": "denim", "off-white": "off-white"}
    assert mentions("i avoid raw denim not denim", values) == [(8, "raw denim"), (22, "denim")]
    assert mentions("please no off white", values) == [(10, "off-white")]


def test_the_lexicon_reads_mined_cues_and_the_baseline_does_not():
    cues = MinedCues(negations=("avoid",), cheap=("wallet friendly",),
                     cheaper=("lower the price a little",), premium=("top of the range",),
                     features={"freezing cold": "insulated"})
    mined = Lexicon(cues)
    low, high = price_bounds(JACKET)
    jacket = Params(category=JACKET.name)
    assert mined.update(jacket, "I'd like a wallet-friendly one") == replace(jacket, price_max=low)
    assert mined.update(replace(jacket, price_max=low), "lower the price a little") \
        == replace(jacket, price_max=float(int(0.8 * low)))
    # "top" is also a t-shirt: inside a price phrase it names no product
    assert mined.update(jacket, "only top of the range please") == replace(jacket, price_min=high)
    assert mined.update(jacket, f"I avoid {JACKET.materials[0]}") \
        == replace(jacket, exclude_materials=(JACKET.materials[0],))
    assert mined.update(jacket, "good in the freezing cold").feature == "insulated"
    for turn in ("I'd like a wallet-friendly one", f"I avoid {JACKET.materials[0]}"):
        assert lexicon().update(jacket, turn) == jacket  # the baseline never learned them
    assert lexicon().update(jacket, "something top quality") == replace(jacket, price_min=high)


def test_cues_survive_their_file_and_a_bad_file_is_refused(tmp_path):
    cues = MinedCues(negations=("avoid",), cheap=("low cost",), features={"comfy": "cushioned"},
                     requests=12)
    cues.save(tmp_path)
    assert MinedCues.load(tmp_path) == cues
    for bad in ({"cheap": "low cost"}, {"cheap": [""]}, {"negations": ["-"]}, [],
                {"features": {"comfy": "fireproof"}}, {"features": [["x", "cushioned"]]},
                {"version": 2}, {"features": None}):
        with pytest.raises(ValueError):
            MinedCues.from_json(bad)


def test_the_purchase_log_holds_words_and_purchases_only(small_world):
    log = purchase_log(small_world.products, 300, seed=4)
    assert len(log) == 300 and log == purchase_log(small_world.products, 300, seed=4)
    assert all(isinstance(words, str) and words == words.lower() for words, _ in log)
    assert {p.id for _, p in log} <= {p.id for p in small_world.products}
    assert purchase_log([], 10) == []


def test_mined_on_the_world_they_read_held_out_phrasings(small_world):
    """The world's shoppers use held-out phrasings beside their purchases: mining finds them
    without any parameter set (the figures: docs/results/assistant.json)."""
    cues = mine_cues(purchase_log(small_world.products, 20_000, seed=1))
    assert "avoid" in cues.negations
    said = {*cues.cheap, *cues.premium, *cues.cheaper}
    assert {"luxury", "top of the range", "lower the price a little"} <= said
    # "only {w} please" wraps premium words: explained by them ("high-end" as "high end" too)
    assert "only" not in said
