"""The query-expansion LLM: ``aisle train lm``, ``aisle eval expansion`` and ``aisle eval
full-link`` (the whole chain, scored by the LM preset that feeds it). Each needs the ``ml``
extra; main.py files them under the ``train`` and ``eval`` groups.
"""

from __future__ import annotations

from pathlib import Path

import click

from aislestream.cli.common import console, preset_option, require_ml, settings_from
from aislestream.models.lm.presets import PRESETS as LM_PRESETS
from aislestream.models.lm.presets import get_preset


@click.command("lm")
@preset_option(LM_PRESETS)
@click.option("--stage", "stages", multiple=True, default=("all",), show_default=True,
              type=click.Choice(["pretrain", "sft", "rl", "all"]),
              help="Repeatable; each stage starts from the previous stage's directory.")
@click.option("--catalog", type=click.Path(path_type=Path), help="Train on an external catalog.")
@click.option("--labels", type=click.Path(path_type=Path), help="Its labelled queries (optional).")
@click.option("--init", type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="Start SFT from this local checkpoint (any HF causal LM) instead of stage 1.")
@click.pass_context
def train_lm(ctx: click.Context, preset: str, stages: tuple[str, ...], catalog: Path | None,
             labels: Path | None, init: Path | None) -> None:
    """Pre-train, fine-tune and RL-align the query-expansion LLM."""
    require_ml("train lm", "torch", "transformers", "trl")
    from aislestream.models.lm.run import train as run_training
    from aislestream.models.lm.train import STAGES

    settings = settings_from(ctx, world__catalog_path=catalog, world__labels_path=labels)
    chosen = STAGES if "all" in stages else tuple(s for s in STAGES if s in stages)
    lm = get_preset(preset)
    run_training(settings, lm, chosen, init=init, on_stage=lambda stage, seconds: console.print(
        f"[bold]{stage}[/] done in {seconds:,.0f}s"))
    console.print(f"artifacts in {settings.artifacts.lm(lm.name)}")


@click.command("expansion")
@preset_option(LM_PRESETS)
@click.option("--catalog", type=click.Path(path_type=Path),
              help="The external catalog it was trained on.")
@click.option("--labels", type=click.Path(path_type=Path), help="Its labelled queries (optional).")
@click.option("--write/--no-write", default=False, show_default=True,
              help="Write docs/results/expansion.json, the RESULTS.md section and the plot.")
@click.pass_context
def eval_expansion(ctx: click.Context, preset: str, catalog: Path | None, labels: Path | None,
                   write: bool) -> None:
    """No expansion vs RM3 vs each LLM stage on held-out queries, by query type."""
    require_ml("eval expansion", "torch", "transformers")
    from aislestream.evaluation.expansion_report import run_expansion_eval

    settings = settings_from(ctx, world__catalog_path=catalog, world__labels_path=labels)
    run_expansion_eval(settings, get_preset(preset), write, console)


@click.command("full-link")
@preset_option(LM_PRESETS)
@click.option("--write/--no-write", default=False, show_default=True,
              help="Write docs/results/full_link.json, its RESULTS.md section and the plot.")
@click.pass_context
def eval_full_link(ctx: click.Context, preset: str, write: bool) -> None:
    """Every stage scored locally and the chain end to end, by query type, failures blamed on
    stages."""
    require_ml("eval full-link", "torch", "transformers", "diffusers")
    from aislestream.evaluation.full_link_report import run_full_link

    run_full_link(settings_from(ctx), get_preset(preset), write, console)
