"""``aisle health``: the probe of a worker's liveness and readiness (Kubernetes exec probes,
Docker's HEALTHCHECK). It reads the report the worker writes (aislestream/streams/health.py), so
it needs no port and imports nothing heavy: a probe runs every few seconds.

Exit 0 when healthy, 1 with one line saying why when not (a probe only looks at the status; the
line lands in the pod's events and ``docker inspect``).
"""

from __future__ import annotations

from typing import NoReturn

import click

from aislestream.errors import ConfigError
from aislestream.settings import load_settings
from aislestream.streams.health import MAX_AGE_S, health_path, read_report


@click.command()
@click.option("--ready", is_flag=True,
              help="Check readiness: live, broker reachable and partitions assigned.")
@click.option("--max-age", "max_age_s", type=click.FloatRange(min=0, min_open=True),
              default=MAX_AGE_S, show_default=True,
              help="Seconds after which a report is stale (its event loop is not answering).")
@click.pass_context
def health(ctx: click.Context, ready: bool, max_age_s: float) -> None:
    """Exit 0 when this host's worker is live (with --ready: ready), else say why and exit 1."""
    try:
        # ctx.obj holds the global options (--data-dir) when this runs under `aisle`
        settings = load_settings(**(ctx.obj or {}))
    except ConfigError as exc:
        _fail(ctx, f"error: {exc}")
    path = health_path(settings)
    if not path.exists():
        _fail(ctx, f"error: no health report at {path}: is the worker running?")
    report = read_report(path)
    if report is None:
        _fail(ctx, f"error: unreadable health report at {path}")
    if problems := report.problems(ready, max_age_s):
        _fail(ctx, f"unhealthy: {'; '.join(problems)}")
    state = "ready" if ready else "live"
    click.echo(f"{state}: pid {report.pid}, {len(report.assigned)} partitions, "
               f"report {report.age_s:.0f}s old")


def _fail(ctx: click.Context, line: str) -> NoReturn:
    click.echo(line, err=True)
    ctx.exit(1)
