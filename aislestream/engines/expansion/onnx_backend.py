"""LLM expansion on ONNX Runtime, from a model exported by ``export_onnx``.

The graph is the decoder forward without a KV cache (input ids, attention mask, position ids
-> next-token logits); greedy decoding re-runs it on the growing sequence. Expansions are a
dozen tokens, so the quadratic re-computation stays small, and the graph stays portable.
``onnxruntime`` serves on CPUs, ``onnxruntime-gpu`` on CUDA hosts (``providers``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from aislestream.engines.expansion.llm import LLMConfig, LLMExpander
from aislestream.errors import ConfigError
from aislestream.models.lm.prompts import until_eos

ONNX_FILE = "model.onnx"


def export_onnx(model_dir: Path, out_dir: Path, opset: int = 18) -> Path:
    """Export a causal LM directory to ``out_dir/model.onnx`` (+ its tokenizer and config)."""
    import torch

    from aislestream.models.lm.model import load_checkpoint

    model, tokenizer = load_checkpoint(model_dir)
    model.config.use_cache = False

    class NextTokenLogits(torch.nn.Module):
        def __init__(self, lm) -> None:
            super().__init__()
            self.lm = lm

        def forward(self, input_ids, attention_mask, position_ids):
            out = self.lm(input_ids=input_ids, attention_mask=attention_mask,
                          position_ids=position_ids, use_cache=False)
            return out.logits[:, -1, :]

    out_dir.mkdir(parents=True, exist_ok=True)
    example = tokenizer(["<expand> red shoes <sep>", "<expand> kettle <sep>"], return_tensors="pt",
                        padding=True)
    position_ids = (example["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    torch.onnx.export(
        NextTokenLogits(model).eval(),
        (example["input_ids"], example["attention_mask"], position_ids),
        str(out_dir / ONNX_FILE), input_names=["input_ids", "attention_mask", "position_ids"],
        output_names=["logits"], opset_version=opset, dynamo=True,
        dynamic_shapes=({0: batch, 1: seq}, {0: batch, 1: seq}, {0: batch, 1: seq}),
        external_data=False,
    )
    tokenizer.save_pretrained(out_dir)
    model.config.save_pretrained(out_dir)
    (out_dir / "export.json").write_text(json.dumps({"source": str(model_dir), "opset": opset}))
    return out_dir / ONNX_FILE


class OnnxLLMExpander(LLMExpander):
    backend = "onnx"

    def __init__(self, config: LLMConfig, variant: str = "default",
                 providers: list[str] | None = None, threads: int = 0) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        super().__init__(config, variant)
        path = config.model_path / ONNX_FILE
        if not path.exists():
            raise ConfigError(
                f"{path} not found: export with `aisle export onnx MODEL_DIR OUT_DIR`")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options,
                                            providers=providers or ["CPUExecutionProvider"])
        self.tokenizer = AutoTokenizer.from_pretrained(config.model_path)
        self.tokenizer.padding_side = "left"

    def generate_ids(self, prompts: list[str]) -> list[list[int]]:
        enc = self.tokenizer(prompts, return_tensors="np", padding=True)
        ids = enc["input_ids"].astype(np.int64)
        mask = enc["attention_mask"].astype(np.int64)
        eos, pad = self.tokenizer.eos_token_id, self.tokenizer.pad_token_id
        done = np.zeros(len(prompts), dtype=bool)
        generated: list[np.ndarray] = []
        for _ in range(self.config.max_new_tokens):
            positions = np.clip(mask.cumsum(-1) - 1, 0, None)
            logits = self.session.run(["logits"], {"input_ids": ids, "attention_mask": mask,
                                                   "position_ids": positions})[0]
            token = np.where(done, pad, logits.argmax(-1)).astype(np.int64)
            generated.append(token)
            done |= token == eos
            ids = np.concatenate([ids, token[:, None]], axis=1)
            mask = np.concatenate([mask, (~done | (token == eos))[:, None].astype(np.int64)],
                                  axis=1)
            if done.all():
                break
        tokens = np.stack(generated, axis=1)
        return [until_eos(row.tolist(), eos) for row in tokens]
