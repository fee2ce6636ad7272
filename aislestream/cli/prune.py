"""``aisle prune``: find redundant blocks (FFT + RDP), remove them, heal the result."""

from __future__ import annotations

import click

from aislestream.cli.common import console, settings_from
from aislestream.models.pruning.names import METHODS, MODELS

MODEL = click.option("--model", type=click.Choice(MODELS), required=True, help="Which trained model to prune.")
PRESET = click.option("--preset", default="tiny", show_default=True, type=click.Choice(["micro", "tiny", "small"]))
METHOD = click.option("--method", default="fft_rdp", show_default=True, type=click.Choice(METHODS))
BLOCKS = click.option("--blocks", "n_blocks", type=int, required=True, help="How many blocks to remove.")


@click.group()
def prune() -> None:
    """Block pruning of the generator and the expansion LLM (artifacts under <data-dir>/prune)."""


@prune.command()
@MODEL
@PRESET
@click.option("--blocks", "n_blocks", type=int, default=None, help="Also show which blocks each method removes.")
@click.option("--plot", type=click.Path(), default=None, help="Write the curve plot here (PNG).")
@click.pass_context
def analyze(ctx: click.Context, model: str, preset: str, n_blocks: int | None, plot: str | None) -> None:
    """Profile every block's spectral change on a calibration set; show the RDP candidates."""
    from pathlib import Path

    from rich.table import Table

    from aislestream.models.pruning import run
    from aislestream.models.pruning.select import select

    t = run.target(settings_from(ctx), model, preset)
    with console.status(f"profiling {model} blocks"):
        profile = run.analyze(t)
    table = Table(title=f"{model} ({preset}): per-block change")
    for col in ("block", "spectral distance", "band change (low..high)", "block influence"):
        table.add_column(col)
    for i, (d, bands, bi) in enumerate(zip(profile.spectral_distance, profile.band_change, profile.block_influence)):
        table.add_row(str(i), f"{d:.3f}", " ".join(f"{b:.2f}" for b in bands), f"{bi:.3f}")
    console.print(table)
    if n_blocks is not None:
        for method in METHODS:
            console.print(f"{method:16s} would remove {list(select(method, profile, n_blocks).drop)}")
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
@click.option("--seed", default=0, show_default=True, help="For --method random.")
@click.pass_context
def apply_cmd(ctx: click.Context, model: str, preset: str, method: str, n_blocks: int, seed: int) -> None:
    """Remove blocks and save the pruned model as an ordinary checkpoint (<variant>/raw)."""
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
@click.option("--seed", default=0, show_default=True, help="For --method random.")
@click.option("--steps", default=300, show_default=True, help="Distillation steps.")
@click.pass_context
def heal_cmd(ctx: click.Context, model: str, preset: str, method: str, n_blocks: int, seed: int, steps: int) -> None:
    """Distil the unpruned model into the pruned one (<variant>/healed)."""
    from rich.progress import Progress

    from aislestream.models.pruning import run

    t = run.target(settings_from(ctx), model, preset)
    selection = run.choose(t, method, n_blocks, seed)
    with Progress(console=console) as progress:
        task = progress.add_task("healing", total=steps)
        out = run.heal(t, selection, steps, progress=lambda s, n, loss: progress.update(
            task, completed=s, description=f"healing (loss {loss:.4f})"))
    console.print(f"wrote {out}")


@click.command("prune")
@PRESET
@click.option("--model", "models", multiple=True, type=click.Choice(MODELS), default=MODELS, show_default=True)
@click.option("--generator-blocks", default=2, show_default=True)
@click.option("--lm-blocks", default=1, show_default=True)
@click.option("--curve-max", default=2, show_default=True, help="Quality vs removed blocks from 1 to this.")
@click.option("--heal-steps-generator", default=200, show_default=True)
@click.option("--heal-steps-lm", default=150, show_default=True)
@click.option("--write/--no-write", default=True, show_default=True,
              help="Write docs/results/pruning.json, the RESULTS.md section and the plots.")
@click.pass_context
def bench_prune(ctx: click.Context, preset: str, models: tuple[str, ...], generator_blocks: int, lm_blocks: int,
                curve_max: int, heal_steps_generator: int, heal_steps_lm: int, write: bool) -> None:
    """Full vs pruned (FFT + RDP and baselines), torch and ONNX Runtime, quality and speed."""
    from aislestream.bench.prune import PruneBenchConfig, run_prune_bench

    config = PruneBenchConfig(preset=preset, generator_blocks=generator_blocks, lm_blocks=lm_blocks,
                              curve_max=curve_max, heal_steps_generator=heal_steps_generator,
                              heal_steps_lm=heal_steps_lm)
    run_prune_bench(settings_from(ctx), config, models, write, console)
