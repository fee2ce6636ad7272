import json

from aislestream.models.assistant.data import assistant_prompt, sft_examples, target_json
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


def test_prompts_carry_the_recent_turns_and_unknown_categories_get_the_question():
    prompt = assistant_prompt(["I need kicks", "in RED", "something cheap"], max_turns=2)
    assert prompt == "<attrs> in red | something cheap <sep>"
    params, question = parse_params(target_json(Params(colour="red")))
    assert question and params == Params(colour="red")  # what it heard is kept while it asks


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
