"""Where assistant artifacts live and how the CLI drives its stages.

    .aisle/assistant/<preset>/{store,lexicon,adapt,sft,rl}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from aislestream.models.assistant.presets import AssistantPreset
from aislestream.settings import Settings


def prepare(settings: Settings, preset: AssistantPreset):
    """The LLM's world and stage-1 checkpoint (trained first when missing), and a store of its
    catalog."""
    from aislestream.connectors.search.tantivy_store import TantivyStore
    from aislestream.models.assistant.train import AssistantContext
    from aislestream.models.lm import run as lm_run
    from aislestream.models.lm.presets import get_preset

    lm_preset = get_preset(preset.lm_preset)
    base = lm_run.lm_dir(settings, lm_preset) / "pretrain"
    if not (base / "config.json").exists():
        lm_run.train(settings, lm_preset, ["pretrain"])
    world = lm_run.training_world(settings, lm_preset)
    out = settings.artifacts.assistant(preset.name)
    store = TantivyStore(out / "store")
    if store.count() != len(world.products):
        store.index(world.products)
    return AssistantContext(preset, out, base, world, store, settings.world.seed)


def stages_to_run(stages: Sequence[str], done: Callable[[str], bool]) -> list[str]:
    """``stages`` in training order; a model stage whose input is not ``done`` brings its
    predecessors along, and the lexicon stage, which reads no model, none."""
    from aislestream.models.assistant.train import CHAIN, STAGES

    wanted = [s for s in STAGES if s in stages]
    chained = [s for s in wanted if s in CHAIN]
    for earlier in CHAIN[:CHAIN.index(chained[0])][::-1] if chained else ():
        if done(earlier):
            break
        wanted.append(earlier)
    return sorted(set(wanted), key=STAGES.index)


def train(settings: Settings, preset: AssistantPreset, stages: Sequence[str],
          on_stage: Callable[[str, float], None] | None = None):
    """Run ``stages`` in order (``stages_to_run``)."""
    from aislestream.models.assistant.train import RUNNERS

    started = time.time()
    ctx = prepare(settings, preset)
    if on_stage:
        on_stage("prepare", time.time() - started)
    for stage in stages_to_run(stages, lambda s: (ctx.out_dir / s / "config.json").exists()):
        t0 = time.time()
        RUNNERS[stage](ctx)
        if on_stage:
            on_stage(stage, time.time() - t0)
    return ctx
