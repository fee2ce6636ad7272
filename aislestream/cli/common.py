"""What every ``aisle`` command module shares: the console, settings from the CLI context, the
options several domains repeat, and the check that a model command's extra is installed.

Choices come from the registries (the presets modules, ``settings.EXPANDER_ENGINES``), never from
lists typed here, so a preset or engine added there is offered everywhere. Nothing here imports
torch: ``aisle --help`` and ``aisle worker`` run on the slim image.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import click
from rich.console import Console

from aislestream.errors import require_extra
from aislestream.settings import EXPANDER_ENGINES, Settings, load_settings

console = Console(stderr=False)
F = TypeVar("F", bound=Callable[..., object])


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


def preset_option(names: Iterable[str], default: str = "tiny") -> Callable[[F], F]:
    """``--preset``, choosing among ``names`` (a presets module's registry)."""
    return click.option("--preset", default=default, show_default=True,
                        type=click.Choice(list(names)))


expander_option = click.option(
    "--expander", type=click.Choice([*EXPANDER_ENGINES, "auto"]),
    help="Expansion engine [default: auto: the trained LLM where its evaluation found it "
         "harmless, else none].")


def require_ml(command: str, *modules: str) -> None:
    """Before a command that trains, evaluates or runs a model: on an install without the ``ml``
    extra, one `error:` line naming the extra, not a ModuleNotFoundError deep in the command."""
    require_extra("ml", *modules, needed_by=f"aisle {command}")


def require_expander_extra(settings: Settings, command: str) -> None:
    """An LLM expander needs the ``ml`` extra (identity and PRF run on the slim image); the
    engine may come from ``--expander`` or from AISLE_EXPANSION__ENGINE, hence settings."""
    if settings.expansion.engine == "llm":
        runtime = "onnxruntime" if settings.expansion.llm_backend == "onnx" else "torch"
        require_ml(command, runtime, "transformers")
