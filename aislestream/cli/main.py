"""``aisle``: run, inspect and benchmark aislestream. Every command reads AISLE_* settings.

This module holds the group, its global options and the error handling; the commands live by
domain beside it and are registered at the bottom:

    stack.py        up, worker, replay, demo
    search.py       index, world
    lm.py           train lm, eval expansion, eval full-link
    ads.py          train ads, eval ads
    assistant.py    train assistant, eval assistant, chat
    experiments.py  experiments validate|publish|list|report
    prune.py        prune analyze|apply|heal
    export.py       export onnx
    bench.py        bench stream|stores|hostile|expansion|ads|prune
    health.py       health

Errors the user can fix (bad settings, missing files, unreachable broker, a missing extra)
print one clear line and exit with status 2; nothing here prints a traceback for them.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from aislestream.cli import ads, assistant, lm, search, stack
from aislestream.cli.bench import bench
from aislestream.cli.experiments import experiments
from aislestream.cli.export import export
from aislestream.cli.health import health
from aislestream.cli.prune import prune
from aislestream.errors import AisleError


class AisleGroup(click.Group):
    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except AisleError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(2)


@click.group(cls=AisleGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Where stores, logs and summaries go (default .aisle, env AISLE_DATA_DIR).")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, log_level: str) -> None:
    """aislestream: model-augmented e-commerce search and ads on Kafka."""
    from aislestream.redact import install_log_filter

    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_filter()  # no password in a URL or DSN reaches a log line, tracebacks included
    ctx.obj = {"data_dir": data_dir} if data_dir else {}


@cli.group()
def train() -> None:
    """Offline training (artifacts under <data-dir>/<model>/<preset>)."""


@cli.group("eval")
def eval_group() -> None:
    """Offline evaluation."""


for command in (stack.up, stack.worker, stack.replay, stack.demo, search.index, search.world,
                assistant.chat, experiments, prune, export, bench, health):
    cli.add_command(command)
for command in (lm.train_lm, ads.train_ads, assistant.train_assistant):
    train.add_command(command)
for command in (lm.eval_expansion, lm.eval_full_link, ads.eval_ads, assistant.eval_assistant):
    eval_group.add_command(command)


def main() -> None:
    cli(prog_name="aisle")


if __name__ == "__main__":
    main()
