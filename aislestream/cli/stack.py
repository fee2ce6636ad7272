"""The running stack: ``aisle up``, ``aisle worker``, ``aisle replay`` and ``aisle demo``.

These start or feed stream processors, so they must start on the slim image: nothing at module
level imports more than click, and an LLM expander is checked for the ``ml`` extra first.
"""

from __future__ import annotations

import logging
import signal
import sys
import time

import click

from aislestream.cli.common import (
    console,
    expander_option,
    require_expander_extra,
    settings_from,
)
from aislestream.errors import AisleError


@click.command()
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="Also index the world and run a search worker.")
@expander_option
@click.pass_context
def up(ctx: click.Context, worker: bool, expander: str | None) -> None:
    """Run the stack until Ctrl-C: the embedded broker (unless one is configured) and a worker.

    A worker that exits is restarted with backoff (see aislestream.stack.supervise); if the
    embedded broker exits, its in-memory data is gone, so the worker is stopped and this exits
    with 2."""
    import contextlib

    from aislestream.connectors.broker import ensure_topics
    from aislestream.models.world import build_world
    from aislestream.stack.indexing import ensure_indexed
    from aislestream.stack.runtime import WorkerProcess
    from aislestream.stack.supervise import Supervisor, stack_broker
    from aislestream.streams.topics import topic_specs

    settings = settings_from(ctx, expansion__engine=expander)
    if worker:
        require_expander_extra(settings, "up")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with stack_broker(settings.broker, settings.artifacts.logs) as (bootstrap, broker):
        settings.broker.bootstrap_servers = bootstrap
        ensure_topics(bootstrap, topic_specs(settings.topics))
        console.print(f"broker ready: export AISLE_BROKER__BOOTSTRAP_SERVERS={bootstrap}")
        if broker is not None:
            console.print(f"embedded broker pid {broker.pid}; its data lives in memory only")
        process = None
        if worker:
            with console.status("indexing the catalog"):
                ensure_indexed(settings, build_world(settings.world))
            process = WorkerProcess(settings, settings.artifacts.logs / "worker-up.log").start()

        def report(text: str) -> None:  # log tails: brackets that are not markup, long lines
            console.print(text, markup=False, highlight=False, soft_wrap=True)

        with Supervisor(process, broker, report=report) as supervisor:
            if process is not None:
                with console.status("starting the worker"):
                    process.wait_until_serving(settings.broker.connect_timeout_s * 4)
                console.print(f"worker serving ({settings.expansion.engine}), pid {process.pid}; "
                              f"log {process.log_path}")
            console.print("send queries with `aisle replay`, talk to the assistant with "
                          "`aisle chat`; Ctrl-C stops everything")
            with contextlib.suppress(KeyboardInterrupt):
                supervisor.run()


@click.command()
@expander_option
@click.pass_context
def worker(ctx: click.Context, expander: str | None) -> None:
    """Run the search-augmentation stream processor against the configured broker."""
    from aislestream.streams.worker import run_worker

    settings = settings_from(ctx, expansion__engine=expander)
    require_expander_extra(settings, "worker")
    run_worker(settings, loglevel=logging.getLevelName(logging.getLogger().level).lower())


@click.command()
@click.option("-n", "--queries", "n_queries", default=1_000, show_default=True)
@click.option("--rate", type=float, default=0.0,
              help="Messages per second (0 = as fast as possible).")
@click.option("--malformed", default=0.0, show_default=True,
              help="Fraction of malformed messages.")
@click.pass_context
def replay(ctx: click.Context, n_queries: int, rate: float, malformed: float) -> None:
    """Replay the world's labelled queries into the search.queries topic of a running stack."""
    from aislestream.connectors.broker import wait_for_broker
    from aislestream.connectors.kafka_io import produce
    from aislestream.demo.replay import paced, replay_messages
    from aislestream.models.world import build_world
    from aislestream.stack.progress import progress_bar
    from aislestream.streams import topics

    settings = settings_from(ctx)
    bootstrap = settings.broker.bootstrap_servers
    if not bootstrap:
        raise AisleError("set AISLE_BROKER__BOOTSTRAP_SERVERS (as `aisle up` prints)")
    if not 0 <= malformed < 1:
        raise click.BadParameter("must be in [0, 1)", param_hint="--malformed")
    wait_for_broker(bootstrap, settings.broker.connect_timeout_s)
    queries = build_world(settings.world).queries
    if not queries:
        raise AisleError("the world has no labelled queries to replay")
    run_id = f"replay-{int(time.time())}"
    messages = replay_messages(queries, n_queries, malformed, run_id=run_id)
    with progress_bar(console) as progress:
        task = progress.add_task("replaying", total=n_queries)
        # BrokerUnavailable / DeliveryFailed (one `error:` line) unless every record was stored
        produce(bootstrap, settings.topics.name(topics.SEARCH_QUERIES), paced(messages, rate),
                on_sent=lambda n: progress.update(task, completed=n),
                timeout_s=settings.broker.connect_timeout_s)
    console.print(f"sent {n_queries} messages (ids {run_id}-*)")


@click.command()
@click.option("-n", "--queries", "n_queries", default=2_000, show_default=True,
              help="How many queries to replay.")
@click.option("--malformed", default=0.02, show_default=True,
              help="Fraction of malformed messages.")
@click.option("--rate", type=float, default=100.0, show_default=True,
              help="Replay rate in messages/s, under what one worker with the LLM sustains on 2 "
                   "cores (about 130); 0 sends a burst (latency then includes queueing). "
                   "Capacity is measured by `aisle bench stream`.")
@expander_option
@click.option("--products", "n_products", type=int,
              help="Synthetic catalog size (default 50,000).")
@click.option("--timeout", "timeout_s", default=300.0, show_default=True)
@click.option("--write-results", is_flag=True,
              help="Also write docs/results (search_expansion_<engine>.json with --no-ab, "
                   "experiments.json with --ab) and their docs/RESULTS.md sections.")
@click.option("--ads/--no-ads", default=None,
              help="Also send ad requests through the creative agent (default: with --train, "
                   "or when `aisle train ads` ran).")
@click.option("--ab/--no-ab", default=True, show_default=True,
              help="Serve an A/B experiment (PRF vs the best other expander), simulate shoppers' "
                   "feedback and report it against the simulator's ground truth.")
@click.option("--dialogues", default=40, show_default=True,
              help="Held-out dialogues played through the assistant stream (0 skips).")
@click.option("--train/--no-train", "train", default=True, show_default=True,
              help="Train (first run: about 23 min on 2 cores) or reuse the models every path "
                   "serves: the expansion LLM, the ad generator and its reward models, the "
                   "assistant. --no-train serves what each evaluation's verdict chose (rules "
                   "and no expansion on a fresh clone).")
@click.pass_context
def demo(ctx: click.Context, n_queries: int, malformed: float, rate: float, expander: str | None,
         n_products: int | None, timeout_s: float, write_results: bool, ads: bool | None,
         ab: bool, dialogues: int, train: bool) -> None:
    """Run every path on the embedded default (search, ads, assistant) and print a summary.

    Writes the summary (JSON), a static HTML report with its plots and the creatives' contact
    sheet under .aisle/demo/."""
    from aislestream.demo.run import run_demo, write_demo_paths, write_demo_results

    if not 0 <= malformed < 1:
        raise click.BadParameter("must be in [0, 1)", param_hint="--malformed")
    started = time.time()
    settings = settings_from(ctx, expansion__engine=expander, world__n_products=n_products)
    models: dict = {}
    if train:
        from aislestream.cli.common import require_ml
        from aislestream.demo.models import demo_models, ensure_models, serving_overrides

        paths = ("search", *(("ads",) if ads is not False else ()),
                 *(("assistant",) if dialogues else ()))
        require_ml("demo", "torch", "transformers", "trl", "xgrammar",
                   *(("diffusers",) if "ads" in paths else ()))
        planned = demo_models(settings, paths=paths)
        models = ensure_models(planned, console)
        settings = settings_from(ctx, **{"expansion__engine": expander,
                                         "world__n_products": n_products,
                                         **serving_overrides(planned, expander)})
    elif ads is None:  # on by default once the ads models exist
        from aislestream.models.ads.presets import get_ads_preset

        trained = settings.artifacts.ads(get_ads_preset(settings.ads.preset).name)
        ads = (trained / "reward" / "specialized").exists()
    if ads is not None:
        settings.ads.enabled = ads
    require_expander_extra(settings, "demo")
    summary = run_demo(settings, n_queries, malformed, timeout_s, console, rate=rate, ab=ab,
                       dialogues=dialogues, models=models)
    if write_results:
        write_demo_results(summary, settings, n_queries)
        if train:
            write_demo_paths(summary, " ".join(["aisle", *sys.argv[1:]]), time.time() - started)
    unanswered = summary.assistant.get("answered", 0) < summary.assistant.get("turns", 0)
    if summary.missing or summary.ads.get("unaccounted") or unanswered:
        sys.exit(1)
