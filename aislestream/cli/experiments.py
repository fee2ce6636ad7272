"""``aisle experiments``: validate, publish, list and report A/B experiments. They are streaming
configuration, so these need a broker, never a model: they run on the slim image."""

from __future__ import annotations

from pathlib import Path

import click

from aislestream.cli.common import console, settings_from
from aislestream.errors import ConfigError
from aislestream.streams import topics


@click.group()
def experiments() -> None:
    """A/B experiments as streaming configuration (workers apply changes live)."""


@experiments.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
def validate(path: Path) -> None:
    """Check an experiment file (one experiment or a list) without publishing it."""
    from aislestream.streams.experiments.schema import load_experiments

    for e in load_experiments(path):
        arms = ", ".join(f"{a.name} {a.share:.0%} {a.params}" for a in e.arms)
        console.print(f"[green]ok[/] {e.id} on layer {e.layer}: {arms}")


def _bootstrap(ctx: click.Context) -> tuple[str, object]:
    settings = settings_from(ctx)
    if not settings.broker.bootstrap_servers:
        raise ConfigError("no broker configured: set AISLE_BROKER__BOOTSTRAP_SERVERS "
                          "(or run `aisle up`)")
    return settings.broker.bootstrap_servers, settings


@experiments.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def publish(ctx: click.Context, path: Path) -> None:
    """Validate PATH and publish it to the experiments config topic; running workers pick it up."""
    from aislestream.streams.experiments.config_table import publish as publish_experiments
    from aislestream.streams.experiments.config_table import published
    from aislestream.streams.experiments.schema import check_layers, load_experiments

    bootstrap, settings = _bootstrap(ctx)
    new = load_experiments(path)
    current = published(bootstrap, settings.stream.app_id)
    replaced = {e.id for e in new}
    check_layers([*(v for k, v in current.items() if k not in replaced), *new])
    publish_experiments(bootstrap, settings.stream.app_id, settings.topics, new)
    console.print(f"published {', '.join(e.id for e in new)}")


@experiments.command("list")
@click.pass_context
def list_cmd(ctx: click.Context) -> None:
    """The experiments the workers are serving now."""
    from rich.table import Table

    from aislestream.streams.experiments.config_table import published

    bootstrap, settings = _bootstrap(ctx)
    table = Table(title="experiments")
    for col in ("id", "layer", "active", "arms", "window"):
        table.add_column(col)
    for e in published(bootstrap, settings.stream.app_id).values():
        arms = ", ".join(f"{a.name} {a.share:.0%}" for a in e.arms)
        window = f"{e.start or '-'} .. {e.stop or '-'}"
        table.add_row(e.id, e.layer, "yes" if e.active() else "no", arms, window)
    console.print(table)


@experiments.command()
@click.argument("experiment_id")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              default=Path("docs/experiments"), show_default=True,
              help="Where the markdown, HTML and plot go.")
@click.option("--alpha", default=0.05, show_default=True)
@click.pass_context
def report(ctx: click.Context, experiment_id: str, out: Path, alpha: float) -> None:
    """Per-arm metrics with intervals, lift, significance and the sample-ratio check."""
    from aislestream.evaluation.experiment_report import analyse, to_markdown, write_report
    from aislestream.streams.experiments.config_table import published
    from aislestream.streams.feedback import read_arm_metrics

    bootstrap, settings = _bootstrap(ctx)
    experiment = published(bootstrap, settings.stream.app_id).get(experiment_id)
    if experiment is None:
        raise ConfigError(f"no experiment {experiment_id!r} on the config topic "
                          "(see `aisle experiments list`)")
    result = analyse(experiment, read_arm_metrics(bootstrap, settings.stream.app_id), alpha,
                     units=read_arm_metrics(bootstrap, settings.stream.app_id, topics.UNIT_METRICS))
    console.print(to_markdown(result))
    md, page = write_report(result, out)
    console.print(f"wrote {md} and {page}")
