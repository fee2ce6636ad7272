"""What every ``aisle`` command module shares: the console and settings from the CLI context."""

from __future__ import annotations

import click
from rich.console import Console

from aislestream.settings import Settings, load_settings

console = Console(stderr=False)


def settings_from(ctx: click.Context, **overrides: object) -> Settings:
    """Settings from the environment, the global options, and ``section__field`` overrides
    (None means "not given on the command line")."""
    base: dict = dict(ctx.obj or {})
    for key, value in overrides.items():
        if value is None:
            continue
        section, _, field = key.partition("__")
        base.setdefault(section, {})[field] = value
    return load_settings(**base)
