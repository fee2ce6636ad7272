"""Constrained decoding: even an untrained model's output parses against the schema."""

import json

import torch
from xgrammar.contrib.hf import LogitsProcessor

from aislestream.errors import AisleError
from aislestream.models.assistant.schema import (
    compiled_schema,
    max_output_chars,
    params_json_schema,
    parse_params,
)
from aislestream.models.lm.model import load_checkpoint
from aislestream.models.world.dimensions import Params, generate_dialogues


def _generate(model, tokenizer, prompt, processors):
    enc = tokenizer([prompt], return_tensors="pt")
    out = model.generate(**enc, max_new_tokens=max_output_chars(), do_sample=True, top_k=50,
                         logits_processor=processors, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    return tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)


def _parses(text: str) -> bool:
    try:
        parse_params(text)
    except AisleError:
        return False
    return True


def test_every_constrained_output_parses(micro_run):
    """The grammar, not luck, makes the output parse: the same untrained model sampling without
    it produces text the schema rejects."""
    # never saw a JSON parameter set
    model, tokenizer = load_checkpoint(micro_run.out_dir / "pretrain")
    prompts = [t.text for d in generate_dialogues(8, "train", seed=2) for t in d.turns][:24]
    grammar = compiled_schema(tokenizer, model.config.vocab_size)
    constrained = [_generate(model, tokenizer, p, [LogitsProcessor(grammar)]) for p in prompts]
    failures = [text for text in constrained if not _parses(text)]
    assert not failures, (f"{len(failures)}/{len(prompts)} constrained outputs rejected, "
                          f"e.g. {failures[0]!r}")
    assert all(set(json.loads(text)) <= set(params_json_schema()["properties"])
               for text in constrained)
    torch.manual_seed(0)  # the free samples are the only draw this test depends on
    free = [_generate(model, tokenizer, p, []) for p in prompts[:8]]
    assert not all(_parses(text) for text in free)


def test_schema_values_come_from_the_world():
    schema = params_json_schema()
    assert ("sandals" in schema["properties"]["category"]["enum"]
            and schema["additionalProperties"] is False)
    params, question = parse_params(json.dumps({"category": "sandals", "price_max": 40,
                                                "exclude_colours": ["red"]}))
    assert (params == Params(category="sandals", price_max=40.0, exclude_colours=("red",))
            and question is None)
    assert 200 < max_output_chars() < 1_000
