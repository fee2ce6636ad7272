"""The creative generator on ONNX Runtime: the latent transformer (noisy latents, timestep,
attribute tokens -> velocity) and the autoencoder's decoder exported as two graphs, the Euler
loop and the cleanup shared with the torch pipeline, so a seed gives the same creatives on both
(up to float rounding)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from aislestream.core.adspec import AdSpec
from aislestream.errors import ConfigError
from aislestream.models.ads.cleanup import clean
from aislestream.models.ads.conditioning import SLOTS, TOKEN_DIM, spec_tokens
from aislestream.models.ads.flow import sample
from aislestream.models.ads.generator import NO_EXTRA_CONDITIONS, load_pipeline
from aislestream.models.ads.pixels import to_uint8

ONNX_FILE = "transformer.onnx"
DECODER_FILE = "decoder.onnx"


class _Denoiser(torch.nn.Module):
    def __init__(self, transformer) -> None:
        super().__init__()
        self.transformer = transformer

    def forward(self, sample, timestep, tokens):
        return self.transformer(sample, encoder_hidden_states=tokens, timestep=timestep,
                                added_cond_kwargs=NO_EXTRA_CONDITIONS).sample


class _Decoder(torch.nn.Module):
    """Normalised latents -> pixels in [-1, 1], the shift and scale folded in."""

    def __init__(self, vae) -> None:
        super().__init__()
        self.vae = vae
        self.shift = float(vae.config.shift_factor or 0.0)
        self.scale = float(vae.config.scaling_factor)

    def forward(self, latents):
        return self.vae.decode(latents / self.scale + self.shift).sample


def _drop_noop_squeezes(path: Path) -> None:
    """PixArt's forward ends with ``squeeze(1)`` on (batch, tokens, features): a no-op in torch
    when there is more than one token, but an ONNX ``Squeeze`` of a dimension that is not 1 is
    an error at load. The exporter records the static shape, so such nodes become ``Identity``."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    shapes = {v.name: [d.dim_value if d.HasField("dim_value") else None
                       for d in v.type.tensor_type.shape.dim]
              for v in (*graph.value_info, *graph.input, *graph.output)}
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    constants.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t)
                      for n in graph.node if n.op_type == "Constant" and n.attribute})
    for node in graph.node:
        if node.op_type != "Squeeze" or len(node.input) < 2 or node.input[1] not in constants:
            continue
        dims = shapes.get(node.input[0], [])
        axes = [int(a) for a in np.atleast_1d(constants[node.input[1]])]
        if dims and all(dims[a] is not None and dims[a] != 1 for a in axes):
            node.op_type = "Identity"
            del node.input[1:]
    onnx.save(model, str(path))


def export_generator_onnx(pipeline_dir: Path, out_dir: Path, opset: int = 18) -> Path:
    """Export a saved generator pipeline to ``out_dir/{transformer,decoder}.onnx`` with its
    serving choices in ``export.json``."""
    pipeline = load_pipeline(pipeline_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    c, h, w = pipeline.latent_shape
    batch = torch.export.Dim("batch")
    example = (torch.randn(2, c, h, w), torch.tensor([999.0, 10.0]),
               torch.zeros(2, len(SLOTS), TOKEN_DIM))
    torch.onnx.export(_Denoiser(pipeline.transformer).eval(), example, str(out_dir / ONNX_FILE),
                      input_names=["sample", "timestep", "tokens"], output_names=["velocity"],
                      opset_version=opset, dynamo=True,
                      dynamic_shapes=({0: batch}, {0: batch}, {0: batch}), external_data=False)
    _drop_noop_squeezes(out_dir / ONNX_FILE)
    torch.onnx.export(_Decoder(pipeline.vae).eval(), (torch.randn(2, c, h, w),),
                      str(out_dir / DECODER_FILE), input_names=["latents"],
                      output_names=["pixels"], opset_version=opset, dynamo=True,
                      dynamic_shapes=({0: batch},), external_data=False)
    (out_dir / "export.json").write_text(json.dumps({
        "source": str(pipeline_dir), "opset": opset, "latent_shape": [c, h, w],
        "num_layers": pipeline.transformer.config.num_layers,
        "guidance_scale": pipeline.config.guidance_scale, "cleanup": pipeline.config.cleanup}))
    return out_dir / ONNX_FILE


class OnnxCreativePipeline:
    """Same ``generate`` as :class:`AdCreativePipeline`, on ONNX Runtime sessions."""

    def __init__(self, path: Path, providers: Sequence[str] = ("CPUExecutionProvider",),
                 threads: int = 0) -> None:
        import onnxruntime as ort

        if not (path / ONNX_FILE).exists() or not (path / DECODER_FILE).exists():
            raise ConfigError(f"no exported generator at {path}: "
                              "run `aisle export onnx --model generator`")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path / ONNX_FILE), options,
                                            providers=list(providers))
        self.decoder = ort.InferenceSession(str(path / DECODER_FILE), options,
                                            providers=list(providers))
        meta = json.loads((path / "export.json").read_text())
        self.num_layers = meta["num_layers"]
        self.latent_shape = tuple(meta["latent_shape"])
        self.guidance_scale, self.cleanup = meta["guidance_scale"], meta["cleanup"]

    def _denoise(self, x: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        (velocity,) = self.session.run(None, {"sample": x.numpy().astype(np.float32),
                                              "timestep": t.numpy().astype(np.float32),
                                              "tokens": tokens.numpy().astype(np.float32)})
        return torch.from_numpy(velocity)

    def generate(self, specs: Sequence[AdSpec], num_inference_steps: int = 20,
                 seed: int | None = None) -> np.ndarray:
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        latents = sample(self._denoise, spec_tokens(specs), self.latent_shape,
                         num_inference_steps, generator, self.guidance_scale)
        (pixels,) = self.decoder.run(None, {"latents": latents.numpy().astype(np.float32)})
        images = to_uint8(torch.from_numpy(pixels))
        return clean(images, specs) if self.cleanup else images
