"""Where assistant artifacts live and how the CLI drives its stages.

    .aisle/assistant/<preset>/{store,adapt,sft,rl}
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


def train(settings: Settings, preset: AssistantPreset, stages: Sequence[str],
          on_stage: Callable[[str, float], None] | None = None):
    """Run ``stages`` in order; a stage whose input is missing runs its predecessors first."""
    from aislestream.models.assistant.train import RUNNERS, STAGES

    started = time.time()
    ctx = prepare(settings, preset)
    if on_stage:
        on_stage("prepare", time.time() - started)
    wanted = [s for s in STAGES if s in stages]
    first = STAGES.index(wanted[0])
    for earlier in STAGES[:first][::-1]:
        if (ctx.out_dir / earlier / "config.json").exists():
            break
        wanted.insert(0, earlier)
    for stage in sorted(set(wanted), key=STAGES.index):
        t0 = time.time()
        RUNNERS[stage](ctx)
        if on_stage:
            on_stage(stage, time.time() - t0)
    return ctx
