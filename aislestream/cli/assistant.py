"""The shopping assistant: ``aisle train assistant`` and ``aisle eval assistant`` (the ``ml``
extra; main.py files them under ``train`` and ``eval``), and ``aisle chat``, a client of the
running stack's assistant stream that needs only a broker."""

from __future__ import annotations

import click
from rich.table import Table

from aislestream.cli.common import console, preset_option, require_ml, settings_from
from aislestream.errors import ConfigError
from aislestream.models.assistant.presets import PRESETS as ASSISTANT_PRESETS
from aislestream.models.assistant.presets import get_assistant_preset


@click.command("assistant")
@preset_option(ASSISTANT_PRESETS)
@click.option("--stage", "stages", multiple=True, default=("all",), show_default=True,
              type=click.Choice(["lexicon", "adapt", "sft", "rl", "all"]),
              help="Repeatable. sft runs adapt first when it has not run; rl needs sft; "
                   "lexicon (cues mined from shoppers' requests and purchases) reads no "
                   "checkpoint.")
@click.pass_context
def train_assistant(ctx: click.Context, preset: str, stages: tuple[str, ...]) -> None:
    """Mine cues from shoppers' requests and purchases; adapt the LLM to shopper language,
    fine-tune it to emit parameter JSON, then RL-align it."""
    require_ml("train assistant", "torch", "transformers", "trl")
    from aislestream.models.assistant.run import train
    from aislestream.models.assistant.train import STAGES

    settings = settings_from(ctx)
    chosen = STAGES if "all" in stages else tuple(s for s in STAGES if s in stages)
    p = get_assistant_preset(preset)
    train(settings, p, chosen, on_stage=lambda stage, seconds: console.print(
        f"[bold]{stage}[/] done in {seconds:,.0f}s"))
    console.print(f"artifacts in {settings.artifacts.assistant(p.name)}")


@click.command("assistant")
@preset_option(ASSISTANT_PRESETS)
@click.option("--backend", default="torch", show_default=True,
              type=click.Choice(["torch", "vllm"]))
@click.option("-n", "--dialogues", type=int, help="Dialogues per split (default: the preset's).")
@click.option("--write/--no-write", default=False, show_default=True,
              help="Write docs/results/assistant.json, its RESULTS.md section and the plot.")
@click.pass_context
def eval_assistant(ctx: click.Context, preset: str, backend: str, dialogues: int | None,
                   write: bool) -> None:
    """Rule baseline vs SFT vs SFT+RL on held-out dialogues: slot F1, conversion, turns, parse
    rate."""
    require_ml("eval assistant", "torch", "transformers")
    from aislestream.evaluation.assistant_report import run_assistant_eval

    run_assistant_eval(settings_from(ctx), get_assistant_preset(preset), write, console, backend,
                       dialogues)


@click.command()
@click.option("--say", "lines", multiple=True,
              help="Send these turns and exit (repeatable) instead of prompting.")
@click.option("--session", "session_id", help="Session id (default: a new one).")
@click.option("--timeout", "timeout_s", default=60.0, show_default=True,
              help="Seconds to wait for each reply.")
@click.pass_context
def chat(ctx: click.Context, lines: tuple[str, ...], session_id: str | None,
         timeout_s: float) -> None:
    """Talk to the shopping assistant of the running stack; Ctrl-D ends.

    Start the stack with `aisle up` and export the broker address it prints
    (AISLE_BROKER__BOOTSTRAP_SERVERS) in this shell first."""
    from aislestream.demo.chat import ChatClient

    settings = settings_from(ctx)
    if not settings.broker.bootstrap_servers:
        raise ConfigError("no broker configured: set AISLE_BROKER__BOOTSTRAP_SERVERS "
                          "(or run `aisle up`)")
    client = ChatClient(settings.broker.bootstrap_servers, settings.topics, session_id, timeout_s)
    console.print(f"session [bold]{client.session_id}[/]"
                  + ("" if lines else " — say what you are looking for"))
    try:
        for text in lines or _prompted():
            if lines:
                console.print(f"[bold]you>[/] {text}")
            show_reply(client.say(text))
    finally:
        client.close()


def _prompted():
    while True:
        try:
            yield click.prompt("you", prompt_suffix="> ")
        except (EOFError, click.exceptions.Abort):
            return


def show_reply(reply: dict) -> None:
    if reply.get("error_type"):
        console.print(f"[red]assistant ({reply['error_type']})>[/] {reply['error']}")
        return
    params = ", ".join(f"{k}={v}" for k, v in reply["params"].items()) or "nothing yet"
    console.print(f"[cyan]assistant>[/] understood: {params}  "
                  f"[dim]({reply['engine']}, {reply['latency_ms']:.0f} ms)[/]")
    if reply.get("question"):
        console.print(f"[cyan]assistant>[/] {reply['question']}")
    if reply.get("products"):
        table = Table(show_header=False, box=None, padding=(0, 2))
        for p in reply["products"][:5]:
            table.add_row(p["id"], p["title"])
        console.print(table)
    elif not reply.get("question"):
        console.print("[cyan]assistant>[/] no product matches all of that; try relaxing something")
