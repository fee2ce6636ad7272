"""The decoder: a Llama from transformers, sized by a preset, or any local HF checkpoint."""

from __future__ import annotations

from pathlib import Path

from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

from aislestream.errors import ConfigError
from aislestream.models.lm.presets import LMPreset


def build_model(preset: LMPreset, tokenizer: PreTrainedTokenizerFast,
                seed: int = 0) -> LlamaForCausalLM:
    import torch

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=preset.hidden_size,
        num_hidden_layers=preset.num_layers, num_attention_heads=preset.num_heads,
        num_key_value_heads=preset.num_heads, intermediate_size=preset.intermediate_size,
        max_position_embeddings=max(128, preset.max_length * 2), tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config)


def load_checkpoint(path: Path):
    """Any local causal-LM directory (ours or a Hugging Face checkpoint) with its tokenizer."""
    from transformers import AutoTokenizer

    if not (path / "config.json").exists():
        raise ConfigError(f"{path} is not a model directory (no config.json); train one with "
                          "`aisle train lm` or point at a local Hugging Face checkpoint")
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path)
    model.eval()
    return model, tokenizer
