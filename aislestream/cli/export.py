"""``aisle export onnx``: a trained or pruned model in the form its ONNX Runtime backend serves.
One command for both kinds of model (it tells them apart by the directory), so it sits beside
the domains rather than in one of them."""

from __future__ import annotations

from pathlib import Path

import click

from aislestream.cli.common import console, require_ml


@click.group()
def export() -> None:
    """Export models for serving."""


@export.command("onnx")
@click.argument("model_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.argument("out_dir", type=click.Path(path_type=Path, file_okay=False))
def export_onnx(model_dir: Path, out_dir: Path) -> None:
    """Export a model directory for ONNX Runtime: a causal LM (expansion) to OUT_DIR/model.onnx,
    or a generator pipeline (ads, pruned or not) to OUT_DIR/transformer.onnx."""
    require_ml("export onnx", "torch", "onnx", "onnxruntime")
    if (model_dir / "model_index.json").exists():
        from aislestream.engines.generation.onnx_backend import export_generator_onnx

        console.print(f"wrote {export_generator_onnx(model_dir, out_dir)}")
        return
    from aislestream.engines.expansion.onnx_backend import export_onnx as export_lm

    console.print(f"wrote {export_lm(model_dir, out_dir)}")
