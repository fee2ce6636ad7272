"""LLM expansion with transformers ``generate`` (greedy, batched, left-padded)."""

from __future__ import annotations

from aislestream.engines.expansion.llm import LLMConfig, LLMExpander
from aislestream.models.lm.prompts import until_eos


class TorchLLMExpander(LLMExpander):
    backend = "torch"

    def __init__(self, config: LLMConfig, variant: str = "default", device: str = "cpu") -> None:
        import torch

        from aislestream.models.lm.model import load_checkpoint

        super().__init__(config, variant)
        self._torch = torch
        self.model, self.tokenizer = load_checkpoint(config.model_path)
        self.device = device
        self.model.to(device)

    def generate_ids(self, prompts: list[str]) -> list[list[int]]:
        batch = self.tokenizer(prompts, return_tensors="pt", padding=True).to(self.device)
        with self._torch.inference_mode():
            output = self.model.generate(
                **batch, do_sample=False, max_new_tokens=self.config.max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.tokenizer.eos_token_id,
            )
        eos = self.tokenizer.eos_token_id
        rows = output[:, batch["input_ids"].shape[1]:].tolist()
        return [until_eos(row, eos) for row in rows]
