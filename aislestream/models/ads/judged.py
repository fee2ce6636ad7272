"""Samples judged both ways: every usable rate the project reports has a served twin (after the
cleanup step) and a raw one (without it), so the one place that draws a batch, cleans it and
asks the oracle about both is here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aislestream.core.adspec import AdSpec
from aislestream.models.ads.cleanup import clean
from aislestream.models.ads.generator import AdCreativePipeline
from aislestream.models.ads.oracle import OracleVerdict, judge_all


@dataclass(frozen=True)
class JudgedSamples:
    specs: list[AdSpec]
    served: np.ndarray
    raw_verdicts: list[OracleVerdict]
    served_verdicts: list[OracleVerdict]


def judged_samples(pipeline: AdCreativePipeline, specs: Sequence[AdSpec], steps: int, seed: int,
                   guidance_scale: float | None = None,
                   chunk: int | None = None) -> JudgedSamples:
    """One sample per spec, cleaned for serving, both judged by the oracle. One batch from
    ``seed``, or batches of ``chunk`` (bounded memory) from ``seed + i`` at offset ``i``."""
    specs = list(specs)
    step = chunk or max(1, len(specs))
    raw = np.concatenate([pipeline.generate(specs[i:i + step], steps, seed=seed + i,
                                            guidance_scale=guidance_scale, cleanup=False)
                          for i in range(0, len(specs), step)])
    served = clean(raw, specs)
    return JudgedSamples(specs, served, judge_all(raw, specs), judge_all(served, specs))
