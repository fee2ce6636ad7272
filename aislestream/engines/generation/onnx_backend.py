"""The creative generator on ONNX Runtime: the DiT denoiser exported as one graph
(noisy image, timestep, spec class -> prediction), the DDIM loop shared with the torch
pipeline, so a seed gives the same creatives on both (up to float rounding)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler

from aislestream.core.adspec import SIZE, AdSpec
from aislestream.errors import ConfigError
from aislestream.models.ads.generator import load_pipeline, sample

ONNX_FILE = "transformer.onnx"


def export_generator_onnx(pipeline_dir: Path, out_dir: Path, opset: int = 18) -> Path:
    """Export a saved generator pipeline's transformer to ``out_dir/transformer.onnx``, with the
    scheduler config beside it."""
    pipeline = load_pipeline(pipeline_dir)

    class Denoiser(torch.nn.Module):
        def __init__(self, transformer) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, sample, timestep, class_labels):
            return self.transformer(sample, timestep=timestep, class_labels=class_labels).sample

    out_dir.mkdir(parents=True, exist_ok=True)
    example = (torch.randn(2, 3, SIZE, SIZE), torch.tensor([999, 10]), torch.tensor([0, 5]))
    batch = torch.export.Dim("batch")
    torch.onnx.export(Denoiser(pipeline.transformer).eval(), example, str(out_dir / ONNX_FILE),
                      input_names=["sample", "timestep", "class_labels"],
                      output_names=["prediction"], opset_version=opset, dynamo=True,
                      dynamic_shapes=({0: batch}, {0: batch}, {0: batch}),
                      external_data=False)
    pipeline.scheduler.save_config(out_dir / "scheduler")
    (out_dir / "export.json").write_text(json.dumps({
        "source": str(pipeline_dir), "opset": opset,
        "num_layers": pipeline.transformer.config.num_layers}))
    return out_dir / ONNX_FILE


class OnnxCreativePipeline:
    """Same ``generate`` as :class:`AdCreativePipeline`, on an ONNX Runtime session."""

    def __init__(self, path: Path, providers: Sequence[str] = ("CPUExecutionProvider",),
                 threads: int = 0) -> None:
        import onnxruntime as ort

        if not (path / ONNX_FILE).exists():
            raise ConfigError(f"no exported generator at {path}: "
                              "run `aisle export onnx --model generator`")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path / ONNX_FILE), options,
                                            providers=list(providers))
        self.scheduler = DDIMScheduler.from_pretrained(path / "scheduler")
        self.num_layers = json.loads((path / "export.json").read_text())["num_layers"]

    def _denoise(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        (prediction,) = self.session.run(None, {"sample": x.numpy().astype(np.float32),
                                                "timestep": t.numpy().astype(np.int64),
                                                "class_labels": labels.numpy().astype(np.int64)})
        return torch.from_numpy(prediction)

    def generate(self, specs: Sequence[AdSpec], num_inference_steps: int = 20,
                 seed: int | None = None) -> np.ndarray:
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        labels = torch.tensor([s.class_id for s in specs], dtype=torch.long)
        return sample(self._denoise, self.scheduler, labels, num_inference_steps, generator)
