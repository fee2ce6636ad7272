"""`aisle demo`: the whole search path on the embedded default, end to end, with a summary.

1. start the embedded broker (or use the configured one)
2. build the world and index its catalog
3. start a worker process
4. replay labelled queries (plus a few malformed ones) into ``search.queries``
5. collect results and dead letters, reconcile counts, score retrieval with and without expansion
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field

import numpy as np
from rich.console import Console
from rich.table import Table

from aislestream.connectors.broker import broker_session, ensure_topics
from aislestream.connectors.kafka_io import Received, collect, produce
from aislestream.connectors.search import SearchRequest, SearchStore
from aislestream.core.metrics import ndcg_at_k, recall_at_k, score_by_type
from aislestream.demo.replay import paced, replay_messages, replay_order
from aislestream.errors import AisleError
from aislestream.evaluation.expansion import bootstrap_ci
from aislestream.models.lm.data import split_queries
from aislestream.models.world import LabelledQuery, World, build_world
from aislestream.settings import Settings
from aislestream.stack.indexing import ensure_indexed
from aislestream.stack.progress import progress_bar
from aislestream.stack.runtime import WorkerProcess
from aislestream.streams import topics
from aislestream.streams.topics import topic_specs


@dataclass
class DemoSummary:
    messages_in: int
    results_out: int
    dead_letters: int
    dead_letters_by_type: dict[str, int]
    missing: int
    fallbacks: int
    throughput_msgs_per_s: float
    e2e_p50_ms: float
    e2e_p99_ms: float
    processing_p50_ms: float
    processing_p99_ms: float
    engine: str
    k: int
    paced_rate: float = 0.0
    ads: dict[str, float] = field(default_factory=dict)
    retrieval: dict[str, dict[str, float]] = field(default_factory=dict)
    # per engine that served (an A/B arm's, or the default): with vs without, all query types
    retrieval_by_engine: dict[str, dict[str, float]] = field(default_factory=dict)
    models: dict[str, dict] = field(default_factory=dict)  # per path: trained or reused, seconds
    ab: dict = field(default_factory=dict)
    assistant: dict = field(default_factory=dict)


def summarize(world_queries: dict[str, LabelledQuery], sent: int, received: list[Received],
              store: SearchStore, engine: str, k: int) -> DemoSummary:
    arrivals = [(json.loads(r.value), r.received_at) for r in received
                if r.topic.endswith(topics.SEARCH_RESULTS)]
    results = [result for result, _ in arrivals]
    letters = [json.loads(r.value) for r in received if r.topic.endswith(topics.SEARCH_DLQ)]
    received_at = {result.get("request_id"): at for result, at in arrivals}
    unique = {r["request_id"]: r for r in results}  # at-least-once: de-duplicate by id
    e2e = [(received_at[rid] - r["sent_at"]) * 1000 for rid, r in unique.items()
           if r.get("sent_at")]
    processing = [r["latency_ms"]["message_ms"] for r in unique.values()]
    first_sent = min((r["sent_at"] for r in unique.values() if r.get("sent_at")), default=0.0)
    last_done = max((r["processed_at"] for r in unique.values()), default=first_sent)
    by_type: dict[str, int] = {}
    for letter in letters:
        by_type[letter["error_type"]] = by_type.get(letter["error_type"], 0) + 1
    # quality over distinct queries, each scored once (its first result): a repeat is the same
    # query again, usually a cache hit, not another sample
    first: dict[str, tuple[str, dict]] = {}
    for rid, r in unique.items():
        if rid in world_queries:
            first.setdefault(world_queries[rid].id, (rid, r))
    labelled = list(first.values())
    baseline = store.search_many([SearchRequest(world_queries[rid].text, k=k)
                                  for rid, _ in labelled])
    with_exp = score_by_type(
        ((world_queries[rid].query_type, [h["id"] for h in r["hits"]], world_queries[rid].relevance)
         for rid, r in labelled), k)
    without = score_by_type(
        ((world_queries[rid].query_type, [h.id for h in hits], world_queries[rid].relevance)
         for (rid, _), hits in zip(labelled, baseline)), k)
    retrieval = _compare(with_exp, without)
    by_engine = _by_engine(labelled, baseline, list(unique.values()), world_queries, k)
    elapsed = max(last_done - first_sent, 1e-9)
    pct = lambda xs, q: float(np.percentile(xs, q)) if xs else float("nan")  # noqa: E731
    return DemoSummary(
        messages_in=sent, results_out=len(unique), dead_letters=len(letters),
        dead_letters_by_type=by_type, missing=sent - len(unique) - len(letters),
        fallbacks=sum(1 for r in unique.values() if r["fallback"]),
        throughput_msgs_per_s=(len(unique) + len(letters)) / elapsed,
        e2e_p50_ms=pct(e2e, 50), e2e_p99_ms=pct(e2e, 99),
        processing_p50_ms=pct(processing, 50), processing_p99_ms=pct(processing, 99),
        engine=engine, k=k, retrieval=retrieval, retrieval_by_engine=by_engine,
    )


def _by_engine(labelled: list[tuple[str, dict]], baseline: list, results: list[dict],
               world_queries: dict[str, LabelledQuery], k: int) -> dict[str, dict[str, float]]:
    """Per engine that served (an A/B arm's, or the default), over the distinct queries it
    served: NDCG/recall with and without expansion, the paired NDCG difference with its 95%
    interval; and over all its messages, latency and the share served from the cache."""
    rows: dict[str, dict[str, float]] = {}
    for engine in sorted({r["engine"] for _, r in labelled}):
        mine = [(rid, r, hits) for (rid, r), hits in zip(labelled, baseline)
                if r["engine"] == engine]
        served = [[h["id"] for h in r["hits"]] for _, r, _ in mine]
        plain = [[h.id for h in hits] for _, _, hits in mine]
        rel = [world_queries[rid].relevance for rid, _, _ in mine]
        ndcg_with = np.array([ndcg_at_k(s, g, k) for s, g in zip(served, rel)])
        ndcg_without = np.array([ndcg_at_k(s, g, k) for s, g in zip(plain, rel)])
        delta = ndcg_with - ndcg_without
        latency = [r["latency_ms"]["message_ms"] for r in results if r["engine"] == engine]
        rows[engine] = {
            "queries": len(mine), "ndcg_with": float(ndcg_with.mean()),
            "ndcg_without": float(ndcg_without.mean()),
            "ndcg_delta": float(delta.mean()),
            "ndcg_delta_ci95": list(bootstrap_ci(delta)),
            "recall_with": float(np.mean([recall_at_k(s, g, k) for s, g in zip(served, rel)])),
            "recall_without": float(np.mean([recall_at_k(s, g, k)
                                             for s, g in zip(plain, rel)])),
            "messages": len(latency),
            "cached_share": float(np.mean([r["cached"] for r in results
                                           if r["engine"] == engine])),
            "p50_ms": float(np.percentile(latency, 50)),
            "p99_ms": float(np.percentile(latency, 99))}
    return rows


def _compare(with_exp: dict, without: dict) -> dict[str, dict[str, float]]:
    return {group: {"queries": s.queries, "recall_without": without[group].recall,
                    "recall_with": s.recall, "ndcg_without": without[group].ndcg,
                    "ndcg_with": s.ndcg}
            for group, s in sorted(with_exp.items())}


def print_summary(summary: DemoSummary, console: Console) -> None:
    counts = Table(title="aisle demo: stream", show_header=False)
    for label, value in [
        ("messages in", summary.messages_in), ("results out", summary.results_out),
        ("dead letters", f"{summary.dead_letters} {summary.dead_letters_by_type}"),
        ("unaccounted", summary.missing), ("expansion fallbacks", summary.fallbacks),
        ("throughput", f"{summary.throughput_msgs_per_s:,.0f} msg/s"),
        ("end-to-end latency p50 / p99" + (" (burst: includes queueing)" if not summary.paced_rate
                                           else f" (paced at {summary.paced_rate:,.0f} msg/s)"),
         f"{summary.e2e_p50_ms:.1f} / {summary.e2e_p99_ms:.1f} ms"),
        ("processing latency p50 / p99",
         f"{summary.processing_p50_ms:.2f} / {summary.processing_p99_ms:.2f} ms"),
    ]:
        counts.add_row(label, str(value))
    console.print(counts)
    k = summary.k
    served = (f"as served by the arms of {summary.ab['report']['experiment']}" if summary.ab
              else f"{summary.engine} expansion")
    table = Table(title=f"retrieval by query type: no expansion vs {served}")
    for col in ("query type", "n", f"recall@{k} without", f"recall@{k} with",
                f"NDCG@{k} without", f"NDCG@{k} with"):
        first = col == "query type"
        table.add_column(col, justify="left" if first else "right", no_wrap=first)
    for qtype, row in summary.retrieval.items():
        table.add_row(qtype, str(row["queries"]), f"{row['recall_without']:.3f}",
                      f"{row['recall_with']:.3f}", f"{row['ndcg_without']:.3f}",
                      f"{row['ndcg_with']:.3f}")
    console.print(table)
    if summary.ab:
        print_ab(summary.ab, console)


def print_ab(ab: dict, console: Console) -> None:
    report = ab["report"]
    table = Table(title=f"experiment {report['experiment']} (SRM p = {report['srm_p_value']:.3g})")
    for col in ("arm", "queries", "CTR", "conversion", "revenue/query", "expected CTR",
                "expected conversion"):
        table.add_column(col, justify="left" if col == "arm" else "right")
    for arm, a in report["arms"].items():
        truth = ab["ground_truth"].get(arm, {})
        table.add_row(arm, f"{a['queries']:,}", f"{a['ctr']:.3f}", f"{a['conversion_rate']:.3f}",
                      f"{a['revenue_per_query']:.2f}", f"{truth.get('ctr', float('nan')):.3f}",
                      f"{truth.get('conversion_rate', float('nan')):.3f}")
    console.print(table)
    for metric, f in ab["found"].items():
        verdict = ("found, right direction" if f["significant"] and f["right_direction"] else
                   "found, WRONG direction" if f["significant"] else "not significant")
        console.print(f"  {metric}: true difference {f['true_diff']:+.4f}, "
                      f"reported {f['reported_diff']:+.4f} (p = {f['p_value']:.3g}): {verdict}")
    aa = ab["aa"]
    console.print(f"  A/A: {aa['false_positives']} of {aa['experiments']} splits significant at "
                  f"alpha {aa['alpha']} per user, delta method (false-positive rate "
                  f"{aa['aa_false_positive_rate']:.2f}); "
                  f"{aa['false_positives_query_level']} per query as if independent "
                  f"({aa['aa_false_positive_rate_query_level']:.2f})")


def run_demo(settings: Settings, n_queries: int = 2_000, malformed_fraction: float = 0.02,
             timeout_s: float = 300.0, console: Console | None = None, rate: float = 0.0,
             ad_requests: int = 48, ab: bool = True, dialogues: int = 40,
             models: dict | None = None) -> DemoSummary:
    console = console or Console()
    run_id = uuid.uuid4().hex[:8]
    settings = settings.model_copy(deep=True)
    settings.topics.prefix = f"{settings.topics.prefix}demo-{run_id}."  # runs never see each other
    with broker_session(settings.broker.bootstrap_servers, settings.broker.connect_timeout_s,
                        settings.artifacts.logs) as bootstrap:
        console.print(f"[bold]broker[/] {bootstrap}")
        settings.broker.bootstrap_servers = bootstrap
        with console.status("building the world"):
            t0 = time.perf_counter()
            world: World = build_world(settings.world)
        console.print(f"[bold]world[/] {len(world.products):,} products, {len(world.queries):,} "
                      f"labelled queries ({time.perf_counter() - t0:.1f}s)")
        if not world.queries:
            raise AisleError("the demo needs labelled queries: give a labels file with the catalog")
        with progress_bar(console) as progress:
            task = progress.add_task("indexing catalog", total=len(world.products))
            store, rebuilt = ensure_indexed(
                settings, world, lambda done, total: progress.update(task, completed=done))
            progress.update(task, completed=len(world.products))
        console.print(f"[bold]store[/] {settings.store.backend} at {settings.store_path()} "
                      f"({'built' if rebuilt else 'reused'}, {store.count():,} documents)")
        ensure_topics(bootstrap, topic_specs(settings.topics))
        experiment = None
        if ab:
            from aislestream.demo.ab import demo_experiment
            from aislestream.streams.experiments.config_table import publish

            experiment = demo_experiment(settings)
            publish(bootstrap, settings.stream.app_id, settings.topics, [experiment])
            console.print(f"[bold]experiment[/] {experiment.id}: {experiment.description}")
        if "port" not in settings.metrics.model_fields_set:
            settings.metrics.port = 0  # any free port: `aisle up`'s worker may hold the default
        worker = WorkerProcess(settings, settings.artifacts.logs / f"worker-{run_id}.log").start()
        try:
            summary = _replay_and_collect(settings, world, store, worker, run_id, n_queries,
                                          malformed_fraction, timeout_s, console, rate, experiment)
            if settings.ads.enabled:
                from aislestream.demo.ads import replay_ad_requests

                summary.ads = replay_ad_requests(settings, worker, run_id, ad_requests, timeout_s,
                                                 console)
            if settings.assistant.enabled and dialogues:
                from aislestream.demo.assistant import replay_dialogues

                summary.assistant = replay_dialogues(settings, worker, world, store, run_id,
                                                     dialogues, timeout_s, console)
        finally:
            worker.stop()
    summary.models = models or {}
    _write_summary(summary, settings, console)
    return summary


def _write_summary(summary: DemoSummary, settings: Settings, console: Console) -> None:
    """The one summary, printed; and under <data_dir>/demo/ as JSON and a static HTML report."""
    from aislestream.demo.report import print_paths, write_report
    from aislestream.evaluation.results import machine

    print_paths(summary, console)
    out = settings.data_dir / "demo"
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(asdict(summary), indent=2))
    info = machine()
    report = write_report(summary, out, f"{info['cpu']}, {info['cores']} cores, "
                                        f"{info['memory_gib']} GiB")
    console.print(f"summary: {out / 'summary.json'}; report: {report} "
                  f"(contact sheet: {out / 'creatives.png'})" if summary.ads else
                  f"summary: {out / 'summary.json'}; report: {report}")


def held_out_pool(settings: Settings, world: World) -> list[LabelledQuery]:
    """The queries no model trained on: those the LLM's split (by text hash, at the world's
    held-out fraction) keeps out of training."""
    if settings.world.test_labels_path is not None:
        raise AisleError("the demo replays the queries the hash split holds out; with "
                         "--test-labels the LLM trained on every --labels query (evaluate it "
                         "with `aisle eval expansion`)")
    pool = split_queries(world.queries, settings.world.held_out_fraction)[1]
    if not pool:
        raise AisleError(f"none of the world's {len(world.queries)} labelled queries is held "
                         "out of training: raise world.held_out_fraction")
    return pool


def _replay_and_collect(settings: Settings, world: World, store: SearchStore, worker: WorkerProcess,
                        run_id: str, n_queries: int, malformed_fraction: float, timeout_s: float,
                        console: Console, rate: float, experiment=None) -> DemoSummary:
    pool = held_out_pool(settings, world)
    picks = replay_order(len(pool), n_queries, settings.world.seed)
    labelled = {f"{run_id}-{i}": pool[int(picks[i])] for i in range(n_queries)}
    bootstrap = settings.broker.bootstrap_servers or ""
    outputs = [settings.topics.name(topics.SEARCH_RESULTS), settings.topics.name(topics.SEARCH_DLQ)]

    with console.status("waiting for the worker to join the consumer group"):
        worker.wait_until_serving(timeout_s)
    messages = list(replay_messages(pool, n_queries, malformed_fraction,
                                    seed=settings.world.seed, run_id=run_id))
    with progress_bar(console) as progress:
        sent_task = progress.add_task("replaying queries", total=len(messages))
        done_task = progress.add_task("results + dead letters", total=len(messages))
        # Produce while collecting, so a result's arrival time is when it was published.
        producer = threading.Thread(target=produce, daemon=True, args=(
            bootstrap, settings.topics.name(topics.SEARCH_QUERIES), paced(messages, rate),
            lambda n: progress.update(sent_task, completed=n)))
        producer.start()
        received = collect(bootstrap, outputs, len(messages) + 1, timeout_s,
                           on_message=lambda _: progress.advance(done_task),
                           stop=worker.check_alive)
        producer.join(timeout=5)
    received = [r for r in received if not worker.is_probe(r)]
    summary = summarize(labelled, len(messages), received, store,
                        settings.expansion.engine, settings.stream.default_k)
    summary.paced_rate = rate
    if summary.missing:
        console.print(f"[red]{summary.missing} message(s) unaccounted for after {timeout_s:.0f}s; "
                      f"worker log: {worker.log_path}[/]")
    if experiment is not None:
        from aislestream.demo.ab import run_ab

        with console.status("shoppers' feedback -> per-arm metrics -> report"):
            results = [json.loads(r.value) for r in received
                       if r.topic.endswith(topics.SEARCH_RESULTS)]
            summary.ab = run_ab(settings, experiment, world, labelled, results)
    print_summary(summary, console)
    return summary


def write_demo_results(summary: DemoSummary, settings: Settings, n_queries: int) -> None:
    """With an experiment: docs/results/experiments.json. Without: the expansion comparison,
    docs/results/search_expansion_<engine>.json. Each with its section of docs/RESULTS.md."""
    from aislestream.evaluation.results import write_results

    if summary.ab:
        from aislestream.demo.ab import experiments_markdown

        aa, aa_precise = summary.ab["aa"], summary.ab["aa_precise"]
        write_results("experiments",
                      {**summary.ab, "aa_false_positive_rate": aa["aa_false_positive_rate"],
                       "aa_false_positive_rate_200": aa_precise["aa_false_positive_rate"]},
                      experiments_markdown(summary.ab, summary.messages_in),
                      f"aisle demo -n {n_queries} --rate {summary.paced_rate:g} --write-results",
                      page="RESULTS.md")
        return
    k = summary.k
    rows = [f"| {qtype} | {r['queries']} | {r['recall_without']:.3f} | {r['recall_with']:.3f} | "
            f"{r['ndcg_without']:.3f} | {r['ndcg_with']:.3f} |"
            for qtype, r in summary.retrieval.items()]
    markdown = "\n".join([
        f"## Search expansion in the demo: identity vs {summary.engine}", "",
        f"`aisle demo` on the synthetic world ({settings.world.n_products:,} products, seed "
        f"{settings.world.seed}), {summary.messages_in:,} replayed messages of which "
        f"{summary.dead_letters} malformed went to the dead-letter topic; "
        f"{summary.results_out:,} results, {summary.missing} unaccounted. "
        "Retrieval scored on the results the worker published "
        f"(with expansion) against the same store searched with the original query (without).", "",
        f"| query type | n | recall@{k} without | recall@{k} with | "
        f"NDCG@{k} without | NDCG@{k} with |",
        "|---|---|---|---|---|---|", *rows, "",
        "recall@k is capped (relevant retrieved / min(k, relevant)); relevant = grade >= 2 of 3. "
        "Demo queries are those the LLM's split holds out of training, each scored once.",
    ])
    write_results(f"search_expansion_{summary.engine}", asdict(summary), markdown,
                  f"aisle demo -n {n_queries} --rate {summary.paced_rate:g} "
                  f"--expander {summary.engine} --no-ab --write-results", page="RESULTS.md")


def write_demo_paths(summary: DemoSummary, command: str, seconds: float) -> None:
    """docs/results/demo.json and its RESULTS.md section: every path's served model against
    its baselines, the models trained or reused, and how long the whole command took."""
    from aislestream.demo.report import path_figures
    from aislestream.evaluation.results import write_results

    figures = path_figures(summary)
    training = sum(m["seconds"].get("total", 0.0) for m in summary.models.values())
    # what the models took to train, in this run or the one that trained them (their stamps)
    trained = sum((m["seconds"] or m.get("trained_seconds", {})).get("total", 0.0)
                  for m in summary.models.values())
    verdict = {True: "yes", False: "**no**", None: "n/a"}
    rows = [f"| {f['path']} | {f['served']} | {f['metric']} {f['value']:.3f} | "
            + ", ".join(f"{name} {v:.3f}" + (f" ({ci[0]:+.3f} to {ci[1]:+.3f})"
                                             if (ci := f["diff_ci95"].get(name)) else "")
                        for name, v in f["baselines"].items())
            + f" | {verdict[f['beats_every_baseline']]} | {f['n']} {f['unit']} | "
            f"{f['p50_ms']:,.1f} / {f['p99_ms']:,.1f} |" for f in figures]
    models = [f"{path} `{m['preset']}` ("
              + (f"trained in {m['seconds']['total']:,.0f} s" if not m["reused"] else
                 f"reused; it trained in {m['trained_seconds'].get('total', float('nan')):,.0f} s")
              + ")" for path, m in summary.models.items()]
    markdown = "\n".join([
        "## The demo: every path against its baseline", "",
        f"`aisle demo` on the synthetic world: {summary.messages_in:,} search messages "
        f"({summary.dead_letters} malformed, dead-lettered; {summary.missing} unaccounted), "
        f"held-out queries and dialogues only. Models: {'; '.join(models) or 'none trained'}. "
        f"The whole command took {seconds:,.0f} s ({training:,.0f} s of it training; the "
        f"models took {trained:,.0f} s to train on a first run).", "",
        "| path | served | quality | baselines, same inputs (95% interval of the difference) "
        "| beats them | n | p50 / p99 ms per message |",
        "|---|---|---|---|---|---|---|", *rows, "",
        "'beats them' means every interval lies above zero. An ad's latency is its batch's "
        "time over the batch's requests. The demo serves each model explicitly to show it; "
        "what a worker serves by default is each evaluation's verdict (`engine=auto`), which "
        "keeps a model that loses to its baseline off.",
    ])
    write_results("demo", {"paths": figures, "models": summary.models,
                           "training_seconds": round(training, 1),
                           "models_training_seconds": round(trained, 1),
                           "command_seconds": round(seconds, 1),
                           "messages_in": summary.messages_in}, markdown, command,
                  page="RESULTS.md")
