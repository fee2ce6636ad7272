"""Shoppers' requests and purchases as an RL environment: no gold parameters, and a reward that
prefers what the bought product satisfies."""

import json
import re

from aislestream.models.assistant.behaviour import NAMES_PRODUCT, behaviour_examples
from aislestream.models.assistant.data import sft_examples, target_json
from aislestream.models.assistant.judge import Judge
from aislestream.models.assistant.train import rl_rows
from aislestream.models.world.dimensions import PHRASINGS, Params, generate_dialogues


def _held_out_phrases():
    """Held-out phrasings as patterns ("please no {c}" -> "please no \\w+")."""
    phrases = {p for table in PHRASINGS.values() for p in table["held_out"]}
    return [re.compile(re.escape(p.lower()).replace(r"\{c\}", r"[\w ]+")
                       .replace(r"\{m\}", r"[\w ]+").replace(r"\{u\}", r"[\w ]+")
                       .replace(r"\{w\}", r"[\w ]+").replace(r"\{f\}", r"[\w ]+")
                       .replace(r"\{noun\}", r"[\w ]+")) for p in phrases]


def test_requests_carry_what_was_bought_and_a_session_state_but_never_gold(small_world):
    products = {p.id: p for p in small_world.products}
    examples = behaviour_examples(small_world.products, 400, seed=2)
    assert len(examples) == 400
    for e in examples:
        bought = products[e.product_id]
        # the state holds at most the bought product's category: nothing read from the words
        assert e.state in (Params(), Params(category=bought.category))
        assert e.prompt.startswith("<attrs> ") and e.prompt.endswith(" <sep>")
    assert {e.state == Params() for e in examples} == {True, False}
    patterns = _held_out_phrases()
    held_out = [e for e in examples if any(p.search(e.prompt) for p in patterns)]
    assert held_out  # the phrasings the labelled data never has do reach RL, without labels
    assert behaviour_examples(small_world.products, 400, seed=2) == examples
    assert NAMES_PRODUCT == ("open", "vague", "chatter")


def test_no_rl_row_with_a_held_out_phrasing_has_gold_parameters(small_world):
    labelled = sft_examples(generate_dialogues(300, "train", seed=1), hint_dropout=0.3)
    rows = rl_rows(labelled, behaviour_examples(small_world.products, 300, seed=1))
    patterns = _held_out_phrases()
    with_gold = [p for p, g in zip(rows["prompt"], rows["gold"]) if g]
    assert len(with_gold) == len(labelled)
    assert not [p for p in with_gold if any(pat.search(p) for pat in patterns)]
    assert all(bool(g) != bool(b) for g, b in zip(rows["gold"], rows["bought"]))
    assert all(bool(st) == bool(b) for st, b in zip(rows["state"], rows["bought"]))


def test_the_behaviour_reward_prefers_what_the_bought_product_satisfies(small_world,
                                                                         tantivy_store):
    products = {p.id: p for p in small_world.products}
    judge = Judge(tantivy_store, products)
    bought = next(p for p in small_world.products if p.colour and p.category)
    other = next(c for c in ("red", "blue", "green") if c != bought.colour)
    exact = target_json(Params(category=bought.category, colour=bought.colour))
    vague = target_json(Params(category=bought.category))
    wrong = target_json(Params(category=bought.category, colour=other))
    asked = json.dumps({"ask": "category"})
    state = Params(category=bought.category)  # the session named the category already
    r_exact, r_vague, r_wrong, r_asked, r_invalid = judge.behaviour_rewards(
        [exact, vague, wrong, asked, '{"cat'], [bought.id] * 5, [state] * 5)
    # the words said something: leaving the state as it was earns its rank only, a constraint
    # the purchase breaks earns no satisfaction either
    assert r_exact >= judge.w.bought_satisfied > max(r_vague, r_wrong)
    assert r_asked == -judge.w.question_cost and r_invalid == -judge.w.invalid_penalty
    (opened,) = judge.behaviour_rewards([vague], [bought.id], [Params()])  # "show me sandals"
    assert opened >= judge.w.bought_satisfied  # from an empty session the category is news
