"""vLLM's structured outputs give the same parameter JSON as the torch decoder with xgrammar.

Installed by `make setup-vllm`, which `make test` runs; where vLLM is absent the test is
skipped with the reason shown."""

from __future__ import annotations

import pytest

from aislestream.engines.assistant.model import TorchParamDecoder
from aislestream.models.assistant.data import sft_examples
from aislestream.models.assistant.schema import parse_params
from aislestream.models.world.dimensions import generate_dialogues

vllm = pytest.importorskip("vllm", reason="vLLM not installed (run `make setup-vllm`)")


def test_vllm_structured_outputs_match_the_torch_decoder_and_parse(micro_assistant):
    from aislestream.engines.assistant.model import VllmParamDecoder

    _, ctx = micro_assistant
    dialogues = generate_dialogues(4, "held_out", seed=6)
    prompts = [e.prompt for e in sft_examples(dialogues)]  # gold states, the rules' hints
    expected = TorchParamDecoder(ctx.out_dir / "rl").decode(prompts)
    got = VllmParamDecoder(ctx.out_dir / "rl").decode(prompts)
    for text in got:
        parse_params(text)
    agree = sum(a == b for a, b in zip(got, expected)) / len(prompts)
    assert agree >= 0.9, list(zip(got, expected))
