"""Ad creatives: ``aisle train ads`` (autoencoder, generator, reward models, RL on their
feedback) and ``aisle
eval ads``. Both need the ``ml`` extra; main.py files them under ``train`` and ``eval``. The
generator's speed is ``aisle bench ads`` (cli/bench.py)."""

from __future__ import annotations

import click

from aislestream.cli.common import console, preset_option, require_ml, settings_from
from aislestream.models.ads.presets import ADS_PRESETS, STAGES, get_ads_preset


@click.command("ads")
@preset_option(ADS_PRESETS)
@click.option("--stage", "stages", multiple=True, default=("all",), show_default=True,
              type=click.Choice([*STAGES, "all"]),
              help="'all' is autoencoder, generator, reward, rl, in that order; each stage "
                   "reads the one before it from the preset's artifacts.")
@click.pass_context
def train_ads(ctx: click.Context, preset: str, stages: tuple[str, ...]) -> None:
    """Train the autoencoder and the latent creative generator, the reward models, and fine-tune
    the generator on their feedback. Each stage logs its learning curve."""
    require_ml("train ads", "torch", "diffusers")
    from aislestream.models.ads.run import train_ads as run_training

    chosen = STAGES if "all" in stages else tuple(s for s in STAGES if s in stages)
    root = run_training(settings_from(ctx), get_ads_preset(preset), chosen, log=console.print)
    console.print(f"artifacts in {root}")


@click.command("ads")
@preset_option(ADS_PRESETS)
@click.option("--write/--no-write", default=False, show_default=True,
              help="Write docs/results/ads.json, its RESULTS.md section and the contact sheet.")
@click.pass_context
def eval_ads(ctx: click.Context, preset: str, write: bool) -> None:
    """Oracle usable rates: base first try, recurrent generation, after RL; reward-model
    comparison."""
    require_ml("eval ads", "torch", "diffusers")
    from aislestream.evaluation.ads_report import eval_ads as run_eval

    run_eval(settings_from(ctx), get_ads_preset(preset), write, log=console.print)
