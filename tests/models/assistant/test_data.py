import json

from aislestream.models.assistant.data import (
    assistant_prompt,
    params_json,
    rule_hint,
    sft_examples,
    target_json,
)
from aislestream.models.assistant.schema import params_json_schema, parse_params
from aislestream.models.world.dimensions import Params, generate_dialogues


def test_every_target_parses_back_to_the_gold_parameters_and_fits_the_schema():
    dialogues = generate_dialogues(100, "train", seed=4)
    examples = sft_examples(dialogues)
    assert len(examples) == sum(len(d.turns) for d in dialogues)
    gold = {(d.id, i): t.gold for d in dialogues for i, t in enumerate(d.turns)}
    enums = params_json_schema()["properties"]
    for e in examples:
        params, question = parse_params(e.completion)
        assert params == gold[(e.dialogue_id, e.turn)]
        # asked exactly while no product is known
        assert (question is None) == (params.category is not None)
        for key, value in json.loads(e.completion).items():
            allowed = enums[key].get("enum") or enums[key]["items"]["enum"]
            assert all(v in allowed for v in (value if isinstance(value, list) else [value]))


def test_prompts_carry_the_state_the_rules_reading_and_the_turn():
    state = Params(category="sandals", price_max=40.0)
    prompt = assistant_prompt(state, rule_hint(state, "in RED"), " in RED ")
    assert prompt == ('<attrs> {"category":"sandals","price_max":40} | '
                      '{"category":"sandals","colour":"red","price_max":40} | in red <sep>')
    params, question = parse_params(target_json(Params(colour="red")))
    assert question and params == Params(colour="red")  # what it heard is kept while it asks


def test_examples_read_the_gold_state_before_each_turn_and_some_hint_slots_are_withheld():
    from dataclasses import fields

    dialogues = generate_dialogues(300, "train", seed=4)
    examples = sft_examples(dialogues, hint_dropout=0.3, seed=1)
    by_turn = {(d.id, i): (d.turns[i - 1].gold if i else Params(), t.text)
               for d in dialogues for i, t in enumerate(d.turns)}
    changed = withheld = 0
    for e in examples:
        state, text = by_turn[(e.dialogue_id, e.turn)]
        rules = rule_hint(state, text)
        prompt_state, hint_json, turn = e.prompt.removeprefix("<attrs> ").split(" | ")
        assert prompt_state == params_json(state) and turn == f"{text.strip().lower()} <sep>"
        hint = Params.from_json(json.loads(hint_json))
        assert hint.category == rules.category  # never withheld
        for slot in fields(Params):
            said, held = getattr(rules, slot.name), getattr(state, slot.name)
            shown = getattr(hint, slot.name)
            assert shown in (said, held)
            if said != held and rules.category == state.category:
                changed += 1
                withheld += shown == held
    assert 0.2 < withheld / changed < 0.4  # about 30% of the slots the rules changed
    assert sft_examples(dialogues, hint_dropout=0.3, seed=1) == examples  # reproducible


def test_noise_changes_no_parameter_and_uses_no_phrasing_word():
    import re

    import numpy as np

    from aislestream.models.assistant.data import augment, neutral_words
    from aislestream.models.world.dimensions import PHRASINGS

    phrasing_words = {w for table in PHRASINGS.values() for split in table.values() for p in split
                      for w in re.findall(r"[a-z'-]+", p.lower())}
    assert neutral_words() and not set(neutral_words()) & phrasing_words
    rng = np.random.default_rng(0)
    for d in generate_dialogues(200, "train", seed=5):
        noisy = augment(d, rng, rate=0.8)
        assert noisy.turns[-1].gold == d.needs and len(noisy.turns) >= len(d.turns)
        assert ([t.gold for t in noisy.turns if t.kind != "chatter"]
                == [t.gold for t in d.turns if t.kind != "chatter"])
