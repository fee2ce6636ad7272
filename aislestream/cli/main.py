"""``aisle``: run, inspect and benchmark aislestream. Every command reads AISLE_* settings.

Errors the user can fix (bad settings, missing files, unreachable broker) print one clear
line and exit with status 2; nothing here prints a traceback for them.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from pathlib import Path

import click

from aislestream.cli.assistant import chat, eval_assistant, train_assistant
from aislestream.cli.common import console, settings_from
from aislestream.cli.experiments import experiments
from aislestream.cli.prune import bench_prune, prune
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

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_filter()  # no password in a URL or DSN reaches a log line, tracebacks included
    ctx.obj = {"data_dir": data_dir} if data_dir else {}


@cli.command()
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="Also index the world and run a search worker.")
@click.option("--expander", type=click.Choice(["identity", "prf", "llm"]), help="Expansion engine.")
@click.pass_context
def up(ctx: click.Context, worker: bool, expander: str | None) -> None:
    """Run the stack until Ctrl-C: the embedded broker (unless one is configured) and a worker.

    A worker that exits is restarted with backoff (see aislestream.stack.supervise); if the embedded
    broker exits, its in-memory data is gone, so the worker is stopped and this exits with 2."""
    import contextlib

    from aislestream.connectors.broker import ensure_topics
    from aislestream.models.world import build_world
    from aislestream.stack.indexing import ensure_indexed
    from aislestream.stack.runtime import WorkerProcess
    from aislestream.stack.supervise import Supervisor, stack_broker
    from aislestream.streams.topics import topic_specs

    settings = settings_from(ctx, expansion__engine=expander)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with stack_broker(settings.broker, settings.data_dir / "logs") as (bootstrap, broker):
        settings.broker.bootstrap_servers = bootstrap
        ensure_topics(bootstrap, topic_specs(settings.topics))
        console.print(f"broker ready: export AISLE_BROKER__BOOTSTRAP_SERVERS={bootstrap}")
        if broker is not None:
            console.print(f"embedded broker pid {broker.pid}; its data lives in memory only")
        process = None
        if worker:
            with console.status("indexing the catalog"):
                ensure_indexed(settings, build_world(settings.world))
            process = WorkerProcess(settings, settings.data_dir / "logs" / "worker-up.log").start()
        # reports carry log tails: brackets that are not markup, lines better left unwrapped
        report = lambda text: console.print(text, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
        with Supervisor(process, broker, report=report) as supervisor:
            if process is not None:
                with console.status("starting the worker"):
                    process.wait_until_serving(settings.broker.connect_timeout_s * 4)
                console.print(f"worker serving ({settings.expansion.engine}), pid {process.pid}; "
                              f"log {process.log_path}")
            console.print("send queries with `aisle replay`, talk to the assistant with `aisle chat`; "
                          "Ctrl-C stops everything")
            with contextlib.suppress(KeyboardInterrupt):
                supervisor.run()


@cli.command()
@click.option("-n", "--queries", "n_queries", default=1_000, show_default=True)
@click.option("--rate", type=float, default=0.0, help="Messages per second (0 = as fast as possible).")
@click.option("--malformed", default=0.0, show_default=True, help="Fraction of malformed messages.")
@click.pass_context
def replay(ctx: click.Context, n_queries: int, rate: float, malformed: float) -> None:
    """Replay the world's labelled queries into the search.queries topic of a running stack."""
    from aislestream.connectors.broker import wait_for_broker
    from aislestream.connectors.kafka_io import produce
    from aislestream.demo.replay import paced, replay_messages
    from aislestream.demo.run import _progress
    from aislestream.models.world import build_world
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
    with _progress(console) as progress:
        task = progress.add_task("replaying", total=n_queries)
        # raises BrokerUnavailable / DeliveryFailed (one `error:` line) unless every record was stored
        produce(bootstrap, settings.topics.name(topics.SEARCH_QUERIES), paced(messages, rate),
                on_sent=lambda n: progress.update(task, completed=n),
                timeout_s=settings.broker.connect_timeout_s)
    console.print(f"sent {n_queries} messages (ids {run_id}-*)")


@cli.command()
@click.option("--catalog", type=click.Path(path_type=Path), help="External catalog (CSV/JSONL).")
@click.option("--labels", type=click.Path(path_type=Path), help="Labelled queries (CSV/JSONL).")
@click.option("--backend", type=click.Choice(["tantivy", "sqlite", "elasticsearch"]))
@click.option("--products", "n_products", type=int, help="Synthetic catalog size.")
@click.pass_context
def index(ctx: click.Context, catalog: Path | None, labels: Path | None, backend: str | None,
          n_products: int | None) -> None:
    """Build (or load) the world and index its catalog into the search store."""
    from aislestream.demo.run import _progress
    from aislestream.models.world import build_world
    from aislestream.stack.indexing import ensure_indexed

    settings = settings_from(ctx, world__catalog_path=catalog, world__labels_path=labels,
                         store__backend=backend, world__n_products=n_products)
    world = build_world(settings.world)
    with _progress(console) as progress:
        task = progress.add_task("indexing", total=len(world.products))
        store, rebuilt = ensure_indexed(settings, world, lambda d, t: progress.update(task, completed=d))
        progress.update(task, completed=len(world.products))
    console.print(f"{store.count():,} documents in {settings.store.backend} store at "
                  f"{settings.store_path()} ({'indexed' if rebuilt else 'already up to date'})")


@cli.command()
@click.option("--expander", type=click.Choice(["identity", "prf", "llm"]), help="Expansion engine.")
@click.pass_context
def worker(ctx: click.Context, expander: str | None) -> None:
    """Run the search-augmentation stream processor against the configured broker."""
    from aislestream.streams.worker import run_worker

    run_worker(settings_from(ctx, expansion__engine=expander),
               loglevel=logging.getLevelName(logging.getLogger().level).lower())


@cli.command()
@click.option("-n", "--queries", "n_queries", default=2_000, show_default=True,
              help="How many queries to replay.")
@click.option("--malformed", default=0.02, show_default=True, help="Fraction of malformed messages.")
@click.option("--rate", type=float, default=200.0, show_default=True,
              help="Replay rate in messages/s; 0 sends a burst (latency then includes queueing). "
                   "Capacity is measured by `aisle bench stream`.")
@click.option("--expander", type=click.Choice(["identity", "prf", "llm"]), help="Expansion engine.")
@click.option("--products", "n_products", type=int, help="Synthetic catalog size (default 50,000).")
@click.option("--timeout", "timeout_s", default=300.0, show_default=True)
@click.option("--write-results", is_flag=True,
              help="Also write docs/results (search_expansion_<engine>.json with --no-ab, experiments.json "
                   "with --ab) and their docs/RESULTS.md sections.")
@click.option("--ads/--no-ads", default=None,
              help="Also send ad requests through the creative agent (default: when `aisle train ads` ran).")
@click.option("--ab/--no-ab", default=True, show_default=True,
              help="Serve an A/B experiment (PRF vs the best other expander), simulate shoppers' feedback "
                   "and report it against the simulator's ground truth.")
@click.option("--dialogues", default=40, show_default=True,
              help="Held-out dialogues played through the assistant stream (0 skips; the trained model "
                   "serves when `aisle train assistant` has run, else the rule baseline).")
@click.pass_context
def demo(ctx: click.Context, n_queries: int, malformed: float, rate: float, expander: str | None,
         n_products: int | None, timeout_s: float, write_results: bool, ads: bool | None, ab: bool,
         dialogues: int) -> None:
    """Run the whole search path on the embedded default and print a summary."""
    from aislestream.demo.run import run_demo, write_demo_results

    if not 0 <= malformed < 1:
        raise click.BadParameter("must be in [0, 1)", param_hint="--malformed")
    settings = settings_from(ctx, expansion__engine=expander, world__n_products=n_products)
    if ads is None:  # on by default once the ads models exist
        from aislestream.models.ads.presets import get_ads_preset

        ads = (settings.artifacts.ads(get_ads_preset(settings.ads.preset).name) / "reward" / "specialized").exists()
    settings.ads.enabled = ads
    summary = run_demo(settings, n_queries, malformed, timeout_s, console, rate=rate, ab=ab, dialogues=dialogues)
    if write_results:
        write_demo_results(summary, settings, n_queries)
    if summary.missing or summary.ads.get("unaccounted") or summary.assistant.get("answered", 0) < \
            summary.assistant.get("turns", 0):
        sys.exit(1)


@cli.command()
@click.option("--queries", "n_queries", type=int, help="Number of labelled queries.")
@click.option("--products", "n_products", type=int)
@click.option("--out", type=click.Path(path_type=Path), help="Export catalog.jsonl + labels.jsonl here.")
@click.pass_context
def world(ctx: click.Context, n_queries: int | None, n_products: int | None, out: Path | None) -> None:
    """Show statistics of the world, or export it in the external-catalog format."""
    from rich.table import Table

    from aislestream.models.world import build_world

    settings = settings_from(ctx, world__n_queries=n_queries, world__n_products=n_products)
    w = build_world(settings.world)
    table = Table(title=f"world: {len(w.products):,} products, {len(w.users):,} users")
    for col in ("query type", "queries", "example", "mean relevant"):
        table.add_column(col)
    for qtype, qs in sorted(w.queries_by_type().items()):
        mean_rel = sum(len(q.relevant_ids()) for q in qs) / len(qs)
        table.add_row(qtype, str(len(qs)), qs[0].text, f"{mean_rel:.0f}")
    console.print(table)
    if out is not None:
        catalog, labels = w.export(out)
        console.print(f"wrote {catalog} and {labels}")


@cli.group()
def bench() -> None:
    """Benchmarks (results go to docs/BENCHMARKS.md and docs/results/)."""


@bench.command("stream")
@click.option("-n", "--messages", default=20_000, show_default=True)
@click.option("--products", "n_products", type=int, default=50_000, show_default=True)
@click.option("--write/--no-write", default=True, show_default=True,
              help="Write docs/results/stream.json and the table in docs/BENCHMARKS.md.")
@click.pass_context
def bench_stream(ctx: click.Context, messages: int, n_products: int, write: bool) -> None:
    """Raw broker rate vs the pipeline with identity and PRF expansion, in one run."""
    from aislestream.bench.stream import run_stream_bench

    run_stream_bench(settings_from(ctx, world__n_products=n_products), messages, write, console)


@bench.command("stores")
@click.option("--queries", "n_queries", default=2_000, show_default=True)
@click.option("--products", "n_products", type=int, default=50_000, show_default=True)
@click.option("--write/--no-write", default=True, show_default=True)
@click.pass_context
def bench_stores(ctx: click.Context, n_queries: int, n_products: int, write: bool) -> None:
    """Compare the embedded store candidates: index time, queries/s, recall on labelled queries."""
    from aislestream.bench.stores import run_store_bench

    run_store_bench(settings_from(ctx, world__n_products=n_products, world__n_queries=n_queries),
                    write, console)


@bench.command("hostile")
@click.option("-n", "--per-topic", "n_per_topic", default=1_000, show_default=True,
              help="Hostile messages per input topic (search, ads, assistant, feedback).")
@click.option("--seed", default=7, show_default=True)
@click.option("--write/--no-write", default=True, show_default=True,
              help="Write docs/results/hostile.json and its section of docs/BENCHMARKS.md.")
@click.pass_context
def bench_hostile(ctx: click.Context, n_per_topic: int, seed: int, write: bool) -> None:
    """A seeded hostile corpus through a real, supervised worker: lost, duplicated, exits, stray files."""
    from aislestream.bench.hostile import run_hostile_bench

    run_hostile_bench(settings_from(ctx), n_per_topic, seed, write, console)


@cli.group()
def train() -> None:
    """Offline training (artifacts under <data-dir>/<model>/<preset>)."""


@train.command("lm")
@click.option("--preset", default="tiny", show_default=True, type=click.Choice(["micro", "tiny", "small"]))
@click.option("--stage", "stages", multiple=True, default=("all",), show_default=True,
              type=click.Choice(["pretrain", "sft", "rl", "all"]),
              help="Repeatable; each stage starts from the previous stage's directory.")
@click.option("--catalog", type=click.Path(path_type=Path), help="Train on an external catalog.")
@click.option("--labels", type=click.Path(path_type=Path), help="Its labelled queries (optional).")
@click.option("--init", type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="Start SFT from this local checkpoint (any HF causal LM) instead of stage 1.")
@click.pass_context
def train_lm(ctx: click.Context, preset: str, stages: tuple[str, ...], catalog: Path | None,
             labels: Path | None, init: Path | None) -> None:
    """Pre-train, fine-tune and RL-align the query-expansion LLM."""
    from aislestream.models.lm.presets import get_preset
    from aislestream.models.lm.run import train as run_training
    from aislestream.models.lm.train import STAGES

    settings = settings_from(ctx, world__catalog_path=catalog, world__labels_path=labels)
    chosen = STAGES if "all" in stages else tuple(s for s in STAGES if s in stages)
    lm = get_preset(preset)
    run_training(settings, lm, chosen, init=init,
                 on_stage=lambda stage, seconds: console.print(f"[bold]{stage}[/] done in {seconds:,.0f}s"))
    console.print(f"artifacts in {settings.artifacts.lm(lm.name)}")


@cli.group("eval")
def eval_group() -> None:
    """Offline evaluation."""


@eval_group.command("expansion")
@click.option("--preset", default="tiny", show_default=True, type=click.Choice(["micro", "tiny", "small"]))
@click.option("--catalog", type=click.Path(path_type=Path), help="The external catalog it was trained on.")
@click.option("--labels", type=click.Path(path_type=Path), help="Its labelled queries (optional).")
@click.option("--write/--no-write", default=False, show_default=True,
              help="Write docs/results/expansion.json, the RESULTS.md section and the plot.")
@click.pass_context
def eval_expansion(ctx: click.Context, preset: str, catalog: Path | None, labels: Path | None,
                   write: bool) -> None:
    """No expansion vs RM3 vs each LLM stage on held-out queries, by query type."""
    from aislestream.evaluation.expansion_report import run_expansion_eval
    from aislestream.models.lm.presets import get_preset

    settings = settings_from(ctx, world__catalog_path=catalog, world__labels_path=labels)
    run_expansion_eval(settings, get_preset(preset), write, console)


@eval_group.command("full-link")
@click.option("--preset", default="tiny", show_default=True, type=click.Choice(["micro", "tiny", "small"]))
@click.option("--write/--no-write", default=False, show_default=True,
              help="Write docs/results/full_link.json, its RESULTS.md section and the plot.")
@click.pass_context
def eval_full_link(ctx: click.Context, preset: str, write: bool) -> None:
    """Every stage scored locally and the chain end to end, by query type, failures blamed on stages."""
    from aislestream.evaluation.full_link_report import run_full_link
    from aislestream.models.lm.presets import get_preset

    run_full_link(settings_from(ctx), get_preset(preset), write, console)


@cli.group()
def export() -> None:
    """Export models for serving."""


@export.command("onnx")
@click.argument("model_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.argument("out_dir", type=click.Path(path_type=Path, file_okay=False))
def export_onnx_cmd(model_dir: Path, out_dir: Path) -> None:
    """Export a model directory for ONNX Runtime: a causal LM (expansion) to OUT_DIR/model.onnx,
    or a generator pipeline (ads, pruned or not) to OUT_DIR/transformer.onnx."""
    if (model_dir / "model_index.json").exists():
        from aislestream.engines.generation.onnx_backend import export_generator_onnx

        console.print(f"wrote {export_generator_onnx(model_dir, out_dir)}")
        return
    from aislestream.engines.expansion.onnx_backend import export_onnx

    console.print(f"wrote {export_onnx(model_dir, out_dir)}")


@bench.command("expansion")
@click.option("--preset", default="tiny", show_default=True, type=click.Choice(["micro", "tiny", "small"]))
@click.option("--stage", default="rl", show_default=True, type=click.Choice(["pretrain", "sft", "rl"]))
@click.option("-n", "--queries", "n_queries", default=256, show_default=True)
@click.option("--write/--no-write", default=True, show_default=True)
@click.pass_context
def bench_expansion(ctx: click.Context, preset: str, stage: str, n_queries: int, write: bool) -> None:
    """Expansions/s of torch, ONNX Runtime and vLLM on one checkpoint, at batch 1 and 64."""
    from aislestream.bench.expansion_speed import run_speed_bench
    from aislestream.models.lm.presets import get_preset

    run_speed_bench(settings_from(ctx), get_preset(preset), stage, n_queries, write, console)


@train.command("ads")
@click.option("--preset", default="tiny", show_default=True, type=click.Choice(["micro", "tiny", "small"]))
@click.option("--stage", "stages", multiple=True, default=("all",), show_default=True,
              type=click.Choice(["generator", "reward", "rl", "all"]))
@click.pass_context
def train_ads_cmd(ctx: click.Context, preset: str, stages: tuple[str, ...]) -> None:
    """Train the creative generator, the reward models, and fine-tune the generator on their feedback."""
    from aislestream.models.ads.presets import STAGES, get_ads_preset
    from aislestream.models.ads.run import train_ads

    chosen = STAGES if "all" in stages else tuple(s for s in STAGES if s in stages)
    root = train_ads(settings_from(ctx), get_ads_preset(preset), chosen, log=console.print)
    console.print(f"artifacts in {root}")


@eval_group.command("ads")
@click.option("--preset", default="tiny", show_default=True, type=click.Choice(["micro", "tiny", "small"]))
@click.option("--write/--no-write", default=False, show_default=True,
              help="Write docs/results/ads.json, its RESULTS.md section and the contact sheet.")
@click.pass_context
def eval_ads_cmd(ctx: click.Context, preset: str, write: bool) -> None:
    """Oracle usable rates: base first try, recurrent generation, after RL; reward-model comparison."""
    from aislestream.evaluation.ads_report import eval_ads
    from aislestream.models.ads.presets import get_ads_preset

    eval_ads(settings_from(ctx), get_ads_preset(preset), write, log=console.print)


@bench.command("ads")
@click.option("--preset", default="tiny", show_default=True, type=click.Choice(["micro", "tiny", "small"]))
@click.option("-n", "--images", default=64, show_default=True)
@click.option("--write/--no-write", default=True, show_default=True)
@click.pass_context
def bench_ads(ctx: click.Context, preset: str, images: int, write: bool) -> None:
    """Generated creatives per second at batch 1 and 16."""
    from aislestream.bench.ads_speed import run_ads_speed
    from aislestream.models.ads.presets import get_ads_preset

    run_ads_speed(settings_from(ctx), get_ads_preset(preset), images, write, console)


cli.add_command(prune)
cli.add_command(chat)
train.add_command(train_assistant)
eval_group.add_command(eval_assistant)
cli.add_command(experiments)
bench.add_command(bench_prune)


def main() -> None:
    cli(prog_name="aisle")


if __name__ == "__main__":
    main()
