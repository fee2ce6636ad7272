"""Where LM artifacts live and how the CLI drives training and evaluation.

    .aisle/lm/<preset>/{store,split.json,pretrain,sft,rl,onnx}
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from aislestream.models.lm.presets import LMPreset
from aislestream.models.world import World, WorldConfig, load_external
from aislestream.settings import Settings


def training_world(settings: Settings, preset: LMPreset) -> World:
    """The preset's synthetic world, or the configured external catalog (+ labels, or
    pseudo-queries)."""
    w = settings.world
    if w.catalog_path is not None:
        from aislestream.models.lm.data import pseudo_queries

        world = load_external(w.catalog_path, w.labels_path, w.seed)
        if not world.queries:
            world.queries = pseudo_queries(world, preset.n_queries, w.seed)
        return world
    return World.generate(WorldConfig(seed=w.seed, n_products=preset.n_products, n_users=w.n_users,
                                      n_queries=preset.n_queries))


def train(settings: Settings, preset: LMPreset, stages: Sequence[str],
          on_stage: Callable[[str, float], None] | None = None, init: Path | None = None):
    """Run ``stages`` in order; ``init`` (any local causal-LM directory) replaces stage 1."""
    from functools import partial

    from aislestream.models.lm.train import prepare, run_pretrain, run_rl, run_sft

    out = settings.artifacts.lm(preset.name)
    started = time.time()
    ctx = prepare(preset, out, training_world(settings, preset), seed=settings.world.seed)
    if on_stage:
        on_stage("prepare", time.time() - started)
    runners = {"pretrain": run_pretrain, "sft": partial(run_sft, base=init) if init else run_sft,
               "rl": run_rl}
    for stage in stages:
        if stage == "pretrain" and init is not None:
            continue
        t0 = time.time()
        runners[stage](ctx)
        if on_stage:
            on_stage(stage, time.time() - t0)
    return ctx


def held_out_queries(settings: Settings, preset: LMPreset, world: World):
    split = json.loads((settings.artifacts.lm(preset.name) / "split.json").read_text())
    held = set(split["held_out"])
    return [q for q in world.queries if q.id in held]
