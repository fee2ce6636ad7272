"""Where LM artifacts live and how the CLI drives training and evaluation.

    .aisle/lm/<preset>/{store,split.json,pretrain,sft,rl,onnx}               synthetic world
    .aisle/lm/<preset>-hard/...                                              the hard world
    .aisle/lm/<preset>-<fingerprint>/...                                     an external catalog

The fingerprint hashes the catalog, its labels, the test labels and the split settings, so a
second catalog (or the same one split differently) trains beside the first, never over it.
The store under it is the training catalog indexed by tantivy for training and evaluation
alone: it must hold exactly the catalog the split was drawn from, whatever store ``aisle
index`` filled for the workers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from aislestream.models.lm.presets import LMPreset
from aislestream.models.world import (
    LabelledQuery,
    RelevanceScale,
    World,
    WorldConfig,
    fingerprint,
    load_external,
    load_labels,
)
from aislestream.settings import Settings

TEST_ID_PREFIX = "t"  # ids of the queries that came from test_labels_path


def lm_dir(settings: Settings, preset: LMPreset) -> Path:
    """The preset's artifacts for the configured world (see the module docstring)."""
    root = settings.artifacts.lm(preset.name)
    w = settings.world
    if w.catalog_path is None:
        return root if w.profile == "default" else root.with_name(f"{root.name}-{w.profile}")
    key = fingerprint(w.catalog_path, w.labels_path, w.test_labels_path,
                      extra=f"{w.relevance_scale}|{w.held_out_fraction}|{w.seed}")
    return root.with_name(f"{root.name}-{key}")


def training_world(settings: Settings, preset: LMPreset) -> World:
    """The preset's synthetic world, or the configured external catalog with its labels (and
    test labels), or pseudo-queries from its titles when it has no labels."""
    w = settings.world
    if w.catalog_path is not None:
        from aislestream.models.lm.data import pseudo_queries

        scale = RelevanceScale.parse(w.relevance_scale)
        world = load_external(w.catalog_path, w.labels_path, w.seed, scale)
        if w.test_labels_path is not None:
            world.queries += load_labels(w.test_labels_path, {p.id for p in world.products},
                                         scale, id_prefix=TEST_ID_PREFIX)
        if not world.queries:
            world.queries = pseudo_queries(world, preset.n_queries, w.seed)
        return world
    return World.generate(WorldConfig(seed=w.seed, n_products=preset.n_products, n_users=w.n_users,
                                      n_queries=preset.n_queries, profile=w.profile))


def query_split(settings: Settings, world: World) -> tuple[list[LabelledQuery],
                                                          list[LabelledQuery]]:
    """(train, held out): the test file's queries when there is one (a training query of the
    same text is dropped, so none leaks), else a hash split by text at held_out_fraction."""
    from aislestream.models.lm.data import split_queries

    if settings.world.test_labels_path is None:
        return split_queries(world.queries, settings.world.held_out_fraction)
    held = [q for q in world.queries if q.id.startswith(TEST_ID_PREFIX)]
    texts = {q.text for q in held}
    return [q for q in world.queries
            if not q.id.startswith(TEST_ID_PREFIX) and q.text not in texts], held


def train(settings: Settings, preset: LMPreset, stages: Sequence[str],
          on_stage: Callable[[str, float], None] | None = None, init: Path | None = None):
    """Run ``stages`` in order; ``init`` (any local causal-LM directory) replaces stage 1."""
    from functools import partial

    from aislestream.models.lm.train import prepare, run_pretrain, run_rl, run_sft

    out = lm_dir(settings, preset)
    started = time.time()
    world = training_world(settings, preset)
    ctx = prepare(preset, out, world, seed=settings.world.seed,
                  split=query_split(settings, world))
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
    split = json.loads((lm_dir(settings, preset) / "split.json").read_text())
    held = set(split["held_out"])
    return [q for q in world.queries if q.id in held]
