"""Constrained decoding: even an untrained model's output parses against the schema."""

import json

from xgrammar.contrib.hf import LogitsProcessor

from aislestream.models.assistant.schema import (
    compiled_schema,
    max_output_chars,
    params_json_schema,
    parse_params,
)
from aislestream.models.lm.model import load_checkpoint
from aislestream.models.world.dimensions import Params, generate_dialogues


def test_every_constrained_output_parses(micro_run):
    model, tokenizer = load_checkpoint(micro_run.out_dir / "pretrain")  # never saw a JSON parameter set
    prompts = [t.text for d in generate_dialogues(8, "train", seed=2) for t in d.turns][:24]
    grammar = compiled_schema(tokenizer, model.config.vocab_size)
    parsed = 0
    for prompt in prompts:
        enc = tokenizer([prompt], return_tensors="pt")
        out = model.generate(**enc, max_new_tokens=max_output_chars(), do_sample=True, top_k=50,
                             logits_processor=[LogitsProcessor(grammar)],
                             pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        text = tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        params, question = parse_params(text)
        assert isinstance(params, Params)
        parsed += 1
    assert parsed == len(prompts)


def test_schema_values_come_from_the_world():
    schema = params_json_schema()
    assert "sandals" in schema["properties"]["category"]["enum"] and schema["additionalProperties"] is False
    params, question = parse_params(json.dumps({"category": "sandals", "price_max": 40, "exclude_colours": ["red"]}))
    assert params == Params(category="sandals", price_max=40.0, exclude_colours=("red",)) and question is None
    assert 200 < max_output_chars() < 1_000
