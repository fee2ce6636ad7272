"""LLM backends on the micro checkpoint: parity, protocol, and degradation behind the guard."""

from __future__ import annotations

import pytest

from aislestream.engines.expansion import GuardedExpander, build_expander
from aislestream.engines.expansion.llm import LLMConfig
from aislestream.engines.expansion.onnx_backend import OnnxLLMExpander, export_onnx
from aislestream.engines.expansion.torch_backend import TorchLLMExpander
from aislestream.errors import ConfigError
from aislestream.models.lm.prompts import PROMPTS
from aislestream.settings import ExpansionSettings

QUERIES = ["red running shoes", "comfy kicks", "kettle", "blue hoodie for cold evenings", "lappy",
           "waterproof leather hiking boots size 42", "x"]


@pytest.fixture(scope="module")
def onnx_dir(micro_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx")
    export_onnx(micro_run.out_dir / "pretrain", out)
    return out


def test_onnx_runtime_gives_the_same_greedy_tokens_as_torch(micro_run, onnx_dir):
    # The pre-trained checkpoint continues behaviour prompts with several tokens, so the
    # comparison covers real multi-step decoding, not just an immediate end of sequence.
    prompts = [PROMPTS["behaviour"](q) for q in QUERIES] + [PROMPTS["expand"](q) for q in QUERIES]
    torch_ids = TorchLLMExpander(LLMConfig(micro_run.out_dir / "pretrain",
                                           max_new_tokens=10)).generate_ids(prompts)
    onnx_ids = OnnxLLMExpander(LLMConfig(onnx_dir, max_new_tokens=10)).generate_ids(prompts)
    assert any(len(ids) > 3 for ids in torch_ids)
    assert onnx_ids == torch_ids


def test_batch_size_does_not_change_greedy_output(micro_run):
    one = TorchLLMExpander(LLMConfig(micro_run.out_dir / "rl", batch_size=1)).expand(QUERIES)
    many = TorchLLMExpander(LLMConfig(micro_run.out_dir / "rl", batch_size=64)).expand(QUERIES)
    assert [e.terms for e in one] == [e.terms for e in many]


def test_llm_expansions_follow_the_protocol(micro_run):
    out = TorchLLMExpander(LLMConfig(micro_run.out_dir / "rl"), variant="rl").expand(QUERIES)
    assert [e.query for e in out] == QUERIES
    assert all(e.engine == "llm-torch" and e.variant == "rl" and e.fallback is None for e in out)
    for e in out:
        assert all(t.weight > 0 and t.term not in e.query.split() for t in e.terms)


def test_build_expander_selects_the_llm_backend(micro_run, onnx_dir, tantivy_store):
    torch_engine = build_expander(
        ExpansionSettings(engine="llm", model_path=micro_run.out_dir / "rl"), tantivy_store)
    assert torch_engine.name == "llm-torch"
    onnx_engine = build_expander(
        ExpansionSettings(engine="llm", llm_backend="onnx", model_path=onnx_dir), tantivy_store)
    assert onnx_engine.name == "llm-onnx" and onnx_engine.expand(["kettle"])[0].fallback is None


def test_missing_model_is_a_clear_error(tmp_path, tantivy_store):
    with pytest.raises(ConfigError, match="not a model directory"):
        build_expander(ExpansionSettings(engine="llm", model_path=tmp_path), tantivy_store)
    with pytest.raises(ConfigError, match="model.onnx not found"):
        build_expander(ExpansionSettings(engine="llm", llm_backend="onnx", model_path=tmp_path),
                       tantivy_store)


class FailingLLM(TorchLLMExpander):
    def generate_ids(self, prompts):
        raise RuntimeError("CUDA error: device-side assert triggered")


def test_llm_failure_and_timeout_fall_back_to_the_original_query(micro_run):
    broken = GuardedExpander(FailingLLM(LLMConfig(micro_run.out_dir / "rl")), deadline_s=5.0)
    assert broken.expand(["kettle"])[0].fallback.startswith(
        "engine error: RuntimeError: CUDA error")
    slow = GuardedExpander(TorchLLMExpander(LLMConfig(micro_run.out_dir / "rl", max_new_tokens=64)),
                           deadline_s=0.001)
    (e,) = slow.expand(["red running shoes"])
    assert e.terms == () and e.fallback == "deadline exceeded (1 ms)"
