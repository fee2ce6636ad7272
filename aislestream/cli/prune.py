"""``aisle prune analyze|apply|heal``: find redundant blocks (FFT + RDP), remove them, heal the
result. Every command needs the ``ml`` extra; the names it offers come from the torch-free
models/pruning/names.py. The benchmark of the whole method is ``aisle bench prune``."""

from __future__ import annotations

from pathlib import Path

import click

from aislestream.cli.common import console, preset_option, require_ml, settings_from
from aislestream.models.ads.presets import ADS_PRESETS
from aislestream.models.lm.presets import PRESETS as LM_PRESETS
from aislestream.models.pruning.names import METHODS, MODELS

# a pruning preset names the size of both prunable models, so it must be a preset of each
PRUNE_PRESETS = tuple(name for name in LM_PRESETS if name in ADS_PRESETS)
ML_MODULES = ("torch", "transformers", "diffusers")

MODEL = click.option("--model", type=click.Choice(MODELS), required=True,
                     help="Which trained model to prune.")
PRESET = preset_option(PRUNE_PRESETS)
METHOD = click.option("--method", default="fft_rdp", show_default=True,
                      type=click.Choice(METHODS))
BLOCKS = click.option("--blocks", "n_blocks", type=int, required=True,
                      help="How many blocks to remove.")
SEED = click.option("--seed", default=0, show_default=True, help="For --method random.")


@click.group()
def prune() -> None:
    """Block pruning of the generator and the expansion LLM (artifacts under <data-dir>/prune)."""


@prune.command()
@MODEL
@PRESET
@click.option("--blocks", "n_blocks", type=int, default=None,
              help="Also show which blocks each method removes.")
@click.option("--plot", type=click.Path(), default=None, help="Write the curve plot here (PNG).")
@click.pass_context
def analyze(ctx: click.Context, model: str, preset: str, n_blocks: int | None,
            plot: str | None) -> None:
    """Profile every block's spectral change on a calibration set; show the RDP candidates."""
    require_ml("prune analyze", *ML_MODULES)
    from rich.table import Table

    from aislestream.models.pruning import run
    from aislestream.models.pruning.select import select

    t = run.target(settings_from(ctx), model, preset)
    with console.status(f"profiling {model} blocks"):
        profile = run.analyze(t)
    table = Table(title=f"{model} ({preset}): per-block change")
    for col in ("block", "spectral distance", "band change (low..high)", "block influence"):
        table.add_column(col)
    rows = zip(profile.spectral_distance, profile.band_change, profile.block_influence)
    for i, (d, bands, bi) in enumerate(rows):
        table.add_row(str(i), f"{d:.3f}", " ".join(f"{b:.2f}" for b in bands), f"{bi:.3f}")
    console.print(table)
    if n_blocks is not None:
        for method in METHODS:
            drop = list(select(method, profile, n_blocks).drop)
            console.print(f"{method:16s} would remove {drop}")
        if plot:
            from aislestream.models.pruning.plots import plot_curve

            drop = select("fft_rdp", profile, n_blocks).drop
            console.print(f"wrote {plot_curve(profile.to_json(), drop, model, Path(plot))}")
    console.print(f"profile in {t.root / 'profile.json'}")


@prune.command("apply")
@MODEL
@PRESET
@METHOD
@BLOCKS
@SEED
@click.pass_context
def apply_cmd(ctx: click.Context, model: str, preset: str, method: str, n_blocks: int,
              seed: int) -> None:
    """Remove blocks and save the pruned model as an ordinary checkpoint (<variant>/raw)."""
    require_ml("prune apply", *ML_MODULES)
    from aislestream.models.pruning import run

    t = run.target(settings_from(ctx), model, preset)
    selection = run.choose(t, method, n_blocks, seed)
    console.print(f"removing blocks {list(selection.drop)} ({method})")
    console.print(f"wrote {run.apply(t, selection)}")


@prune.command("heal")
@MODEL
@PRESET
@METHOD
@BLOCKS
@SEED
@click.option("--steps", default=300, show_default=True, help="Distillation steps.")
@click.pass_context
def heal_cmd(ctx: click.Context, model: str, preset: str, method: str, n_blocks: int, seed: int,
             steps: int) -> None:
    """Distil the unpruned model into the pruned one (<variant>/healed)."""
    require_ml("prune heal", *ML_MODULES)
    from rich.progress import Progress

    from aislestream.models.pruning import run

    t = run.target(settings_from(ctx), model, preset)
    selection = run.choose(t, method, n_blocks, seed)
    with Progress(console=console) as progress:
        task = progress.add_task("healing", total=steps)
        out = run.heal(t, selection, steps, progress=lambda s, n, loss: progress.update(
            task, completed=s, description=f"healing (loss {loss:.4f})"))
    console.print(f"wrote {out}")
