import json

from aislestream.engines.assistant.schema import params_json_schema, parse_params
from aislestream.models.assistant.data import assistant_prompt, sft_examples, target_json
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
        assert (question is None) == (params.category is not None)  # asked exactly while no product is known
        for key, value in json.loads(e.completion).items():
            allowed = enums[key].get("enum") or enums[key]["items"]["enum"]
            assert all(v in allowed for v in (value if isinstance(value, list) else [value]))


def test_prompts_carry_the_recent_turns_and_unknown_categories_get_the_question():
    prompt = assistant_prompt(["I need kicks", "in RED", "something cheap"], max_turns=2)
    assert prompt == "<attrs> in red | something cheap <sep>"
    params, question = parse_params(target_json(Params(colour="red")))
    assert question and params == Params(colour="red")  # what it heard is kept while it asks
