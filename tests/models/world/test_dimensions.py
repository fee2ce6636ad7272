import re

from aislestream.models.world.dimensions import (
    FEATURE_PHRASES,
    PHRASINGS,
    Params,
    generate_dialogues,
    price_bounds,
    satisfies,
    score_slots,
)
from aislestream.models.world.vocab import PRODUCT_TYPES


def pattern(phrasing: str) -> re.Pattern:
    """A phrasing as whole words, its slot ({c}, {noun}, ...) standing for any words of the same
    turn."""
    return re.compile("(?<![a-z])" + re.sub(r"\\\{\w+\\\}", "[^|]+", re.escape(phrasing))
                      + "(?![a-z])")


def texts(dialogues):
    return [t.text for d in dialogues for t in d.turns]


def test_dialogues_are_deterministic_and_end_on_the_hidden_needs():
    a, b = generate_dialogues(200, "train", seed=3), generate_dialogues(200, "train", seed=3)
    assert a == b
    for d in a:
        assert d.turns[-1].gold == d.needs and d.needs.category
        if d.turns[0].kind == "vague":  # no product named: nothing known until the answer
            assert (d.turns[0].gold == Params() and d.turns[1].kind == "answer"
                    and d.turns[1].gold.category)
        else:
            assert d.turns[0].kind == "open" and d.turns[0].gold.category
        assert 3 <= len(d.turns) <= 8
        for i, t in enumerate(d.turns[1:], start=1):
            if t.kind == "chatter":  # chatter never changes the parameters
                assert d.turns[i - 1].gold == t.gold
    assert {t.kind for d in a for t in d.turns} >= {"open", "vague", "answer", "add", "refine",
                                                     "correct", "negate", "chatter"}


def test_held_out_phrasings_never_appear_in_training_dialogues_and_vice_versa():
    train = " | ".join(texts(generate_dialogues(2_000, "train")))
    held = " | ".join(texts(generate_dialogues(500, "held_out")))
    for name, table in PHRASINGS.items():
        for phrasing in table["held_out"]:
            assert not pattern(phrasing).search(train), (name, phrasing)
        assert any(pattern(p).search(held) for p in table["held_out"]), name
    assert "won't let water in" not in train and "please no" not in train
    assert all(phrase not in held for f in FEATURE_PHRASES.values()
               for phrase in f["train"] if " " in phrase)


def test_price_words_map_inside_the_category_range():
    for ptype in PRODUCT_TYPES:
        low, high = price_bounds(ptype)
        assert ptype.price[0] <= low < high <= ptype.price[1]


def test_slot_scores_and_the_shoppers_own_check():
    gold = Params(category="sandals", colour="red", price_max=40.0, exclude_materials=("cork",))
    assert score_slots(gold, gold).f1 == 1.0
    partial = score_slots(Params(category="sandals", colour="blue"), gold)
    assert partial.precision == 0.5 and partial.recall == 0.25
    product = {"category": "sandals", "colour": "red", "material": "rubber", "price": 35.0,
               "features": ("quick dry",)}
    assert satisfies(product, gold)
    assert (not satisfies({**product, "material": "cork"}, gold)
            and not satisfies({**product, "price": 41.0}, gold))
