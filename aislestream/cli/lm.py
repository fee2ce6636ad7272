"""The query-expansion LLM: ``aisle train lm``, ``aisle eval expansion`` and ``aisle eval
full-link`` (the whole chain, scored by the LM preset that feeds it). Each needs the ``ml``
extra; main.py files them under the ``train`` and ``eval`` groups.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from aislestream.cli.common import console, preset_option, require_ml, settings_from
from aislestream.models.lm.presets import PRESETS as LM_PRESETS
from aislestream.models.lm.presets import get_preset

F = TypeVar("F", bound=Callable[..., object])
_FILE = click.Path(path_type=Path, exists=True, dir_okay=False)


def catalog_options(func: F) -> F:
    """The external-catalog options `train lm` and `eval expansion` share: the two must be given
    the same ones, since they name the artifacts directory (a fingerprint of all of them)."""
    options = [
        click.option("--world", "world_profile", type=click.Choice(["default", "hard"]),
                     help="The synthetic world when there is no --catalog: hard is titles only, "
                          "brand-heavy, near-duplicates, human misspellings and rater noise.  "
                          "[default: default]"),
        click.option("--catalog", type=_FILE,
                     help="An external catalog (CSV or JSONL: id, title, optional description "
                          "and attribute columns) instead of the synthetic world."),
        click.option("--labels", type=_FILE,
                     help="Its labelled queries: query, product_id, relevance (or grade)."),
        click.option("--relevance-scale", help="The labels' scale, mapped onto 0-3: LO-HI "
                     "(e.g. 1-4; averaged grades round half up) or LABEL=GRADE,...  "
                     "[default: 0-3]"),
        click.option("--held-out", "held_out", type=click.FloatRange(0, 1, min_open=True,
                                                                     max_open=True),
                     help="Share of labelled queries held out of training (by text hash).  "
                          "[default: 0.2]"),
        click.option("--test-labels", type=_FILE,
                     help="Held-out queries in a file of their own (then all of --labels "
                          "trains)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _catalog_settings(ctx: click.Context, world_profile: str | None, catalog: Path | None,
                      labels: Path | None, relevance_scale: str | None, held_out: float | None,
                      test_labels: Path | None):
    if catalog is None and any(v is not None for v in (labels, test_labels, relevance_scale)):
        raise click.UsageError("--labels, --test-labels and --relevance-scale need --catalog")
    if catalog is not None and world_profile is not None:
        raise click.UsageError("--world picks a synthetic world; --catalog replaces it")
    return settings_from(ctx, world__profile=world_profile, world__catalog_path=catalog,
                         world__labels_path=labels,
                         world__relevance_scale=relevance_scale,
                         world__held_out_fraction=held_out, world__test_labels_path=test_labels)


@click.command("lm")
@preset_option(LM_PRESETS)
@click.option("--stage", "stages", multiple=True, default=("all",), show_default=True,
              type=click.Choice(["pretrain", "sft", "rl", "all"]),
              help="Repeatable; each stage starts from the previous stage's directory.")
@catalog_options
@click.option("--init", type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="Start SFT from this local checkpoint (any HF causal LM) instead of stage 1.")
@click.pass_context
def train_lm(ctx: click.Context, preset: str, stages: tuple[str, ...], init: Path | None,
             **catalog: object) -> None:
    """Pre-train, fine-tune and RL-align the query-expansion LLM.

    On an external catalog the artifacts go to a directory of their own, keyed by a hash of the
    catalog, labels and split options (printed at the end); evaluate with the same options.
    """
    require_ml("train lm", "torch", "transformers", "trl")
    from aislestream.models.lm.run import lm_dir
    from aislestream.models.lm.run import train as run_training
    from aislestream.models.lm.train import STAGES

    settings = _catalog_settings(ctx, **catalog)  # type: ignore[arg-type]
    chosen = STAGES if "all" in stages else tuple(s for s in STAGES if s in stages)
    lm = get_preset(preset)
    run_training(settings, lm, chosen, init=init, on_stage=lambda stage, seconds: console.print(
        f"[bold]{stage}[/] done in {seconds:,.0f}s"))
    console.print(f"artifacts in {lm_dir(settings, lm)}")


@click.command("expansion")
@preset_option(LM_PRESETS)
@catalog_options
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the JSON report here (any path; --write writes docs/).")
@click.option("--dense", is_flag=True,
              help="Also the dense channel (all-MiniLM-L6-v2) and hybrid BM25 + dense retrieval, "
                   "with and without the LLM's expansions (the dense extra; embeds the catalog "
                   "once, minutes on a CPU).")
@click.option("--write/--no-write", default=False, show_default=True,
              help="Write docs/results/expansion.json, the RESULTS.md section and the plot.")
@click.pass_context
def eval_expansion(ctx: click.Context, preset: str, out: Path | None, dense: bool, write: bool,
                   **catalog: object) -> None:
    """No expansion vs RM3 vs each LLM stage on held-out queries, by query type.

    Prints, per method, the query count, recall@10/50/100 (capped, and recall@100 uncapped),
    NDCG@10, zero-result and drift rates, and NDCG@10's change against no expansion with a 95%
    confidence interval, overall and per query type.
    """
    require_ml("eval expansion", "torch", "transformers")
    from aislestream.evaluation.expansion_report import run_expansion_eval

    settings = _catalog_settings(ctx, **catalog)  # type: ignore[arg-type]
    run_expansion_eval(settings, get_preset(preset), write, console, out=out, dense=dense)


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
