"""The creative generator on torch: the diffusers pipeline `aisle train ads` saves
(``models.ads.generator.AdCreativePipeline``), which has the ``Generator`` signature as it is."""

from __future__ import annotations

from pathlib import Path

from aislestream.engines.generation.base import Generator


def load_torch_generator(path: Path) -> Generator:
    """A saved generator pipeline in eval mode; ConfigError when ``path`` holds none."""
    from aislestream.models.ads.generator import load_pipeline

    return load_pipeline(path)
