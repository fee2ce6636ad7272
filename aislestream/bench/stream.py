"""`aisle bench stream`: the search pipeline measured against what limits it, in one run.

(a) retrieval only: the same queries through the same store, batch by batch, in this process
    (no broker, no JSON): the physical limit of this pipeline on this machine;
(b) the pipeline's own code in this process (decode, identity expansion, retrieval, result
    JSON), still without a broker;
(c) the worker with the identity expander, (d) PRF, (e) the LLM (when `aisle train lm` has
    run), each draining an N-message backlog on the same broker; (f) identity with two worker
    processes in one group on the same topic (the scale-out);
and for reference the raw broker (an aiokafka consume -> produce pass-through with commits) and
a faust agent that only forwards. Throughput is N / drain time. With py-spy installed, the
identity worker is sampled while it drains, and its time split by package says what limits it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from aislestream.connectors.broker import TopicSpec, broker_session, ensure_topics
from aislestream.connectors.kafka_io import collect, produce
from aislestream.connectors.security import aiokafka_kwargs
from aislestream.core import figures
from aislestream.demo.replay import replay_messages
from aislestream.evaluation.results import write_results
from aislestream.models.world import build_world
from aislestream.settings import Settings
from aislestream.stack.indexing import ensure_indexed
from aislestream.stack.runtime import WorkerProcess
from aislestream.streams import topics
from aislestream.streams.topics import topic_specs


async def _raw_passthrough(bootstrap: str, source: str, sink: str, n: int,
                           timeout_s: float) -> float:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap,
                                group_id=f"raw-{uuid.uuid4().hex[:6]}", enable_auto_commit=False,
                                auto_offset_reset="earliest", **aiokafka_kwargs())
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=-1, **aiokafka_kwargs())
    await consumer.start()
    await producer.start()
    done, first = 0, None
    deadline = time.monotonic() + timeout_s
    try:
        while done < n and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            if not batches:
                continue
            first = first or time.perf_counter()
            futures = [await producer.send(sink, key=r.key, value=r.value)
                       for records in batches.values() for r in records]
            # output delivered before the offset commit, like the pipeline
            await asyncio.gather(*futures)
            await consumer.commit()
            done += len(futures)
        return done / (time.perf_counter() - (first or time.perf_counter()))
    finally:
        await consumer.stop()
        await producer.stop()


def _faust_passthrough(bootstrap: str, source: str, sink: str, n: int, batch: int, datadir,
                       timeout_s: float) -> float:
    """Drain the backlog through a no-op faust agent; rate = n / (last - first output arrival)."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "aislestream.bench.faust_passthrough",
                                bootstrap, source, sink, str(datadir), str(batch)])
    try:
        received = collect(bootstrap, [sink], n, timeout_s)
    finally:
        process.terminate()
        process.wait(timeout=20)
    if len(received) < n:
        raise RuntimeError(f"faust pass-through delivered {len(received)} of {n}")
    # Arrival times at the collector: first arrival excludes the worker's start-up.
    return (n - 1) / (received[-1].received_at - received[0].received_at)


# The retrieval channels measured beside the plain pipelines: (name, engine, settings overrides)
CHANNELS: tuple[tuple[str, str, dict[str, dict[str, object]]], ...] = (
    ("prf fused", "prf", {"expansion": {"fusion": "rrf"}}),
    ("prf gated", "prf", {"expansion": {"fusion": "rrf", "gate": True}}),
    ("hybrid (dense)", "identity", {"store": {"dense": True}}),
)


def _requests(settings: Settings, messages: list[tuple[bytes, bytes]]) -> list:
    """The store requests the identity pipeline makes for ``messages``."""
    from aislestream.connectors.search.base import SearchRequest
    from aislestream.streams.pipeline import decode_query

    out = []
    for _, value in messages:
        q = decode_query(value, settings.stream)
        out.append(SearchRequest(q.query, (), q.filters, q.price_min, q.price_max,
                                 q.k or settings.stream.default_k))
    return out


def _retrieval_only(settings: Settings, store, messages: list[tuple[bytes, bytes]]) -> float:
    """msgs/s of the store alone on the pipeline's requests, in the pipeline's batches."""
    requests = _requests(settings, messages)
    size = settings.stream.batch_size
    store.search_many(requests[:size])  # warm the searcher
    started = time.perf_counter()
    for i in range(0, len(requests), size):
        store.search_many(requests[i:i + size])
    return len(requests) / (time.perf_counter() - started)


def _pipeline_in_process(settings: Settings, store, messages: list[tuple[bytes, bytes]]) -> float:
    """msgs/s of SearchPipeline.process with the identity expander, no broker."""
    from aislestream.engines.expansion.pool import ExpanderPool
    from aislestream.streams.pipeline import RawMessage, SearchPipeline

    s = settings.model_copy(deep=True)
    s.expansion.engine, s.expansion.lru_size = "identity", 0  # type: ignore[assignment]
    pipeline = SearchPipeline(ExpanderPool(s.expansion, store, s.data_dir), store, s.stream)
    size = s.stream.batch_size

    async def drain() -> float:
        started = time.perf_counter()
        for i in range(0, len(messages), size):
            now = time.perf_counter()
            await pipeline.process([RawMessage("bench", 0, i + j, k, v, now)
                                    for j, (k, v) in enumerate(messages[i:i + size])])
        return time.perf_counter() - started

    return len(messages) / asyncio.run(drain())


def _profile(pid: int, seconds: float, out: Path) -> dict[str, float] | None:
    """Sample process ``pid`` with py-spy for ``seconds``; the share of samples whose innermost
    frame lies in each package (None without py-spy). The raw stacks go to ``out``."""
    import shutil
    import subprocess
    import sys

    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([spy, "record", "--pid", str(pid), "--duration", str(int(seconds)),
                           "--rate", "200", "--format", "raw", "--nonblocking", "-o", str(out)],
                          capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0 or not out.exists():
        return None
    return package_shares(out.read_text())


def package_shares(raw: str) -> dict[str, float]:
    """Collapsed stacks ("frame;frame;... count", frames "name (module/path.py:line)") -> the
    share of samples by the package of the innermost frame: the top-level package ("faust",
    "aiokafka", "asyncio", "json", ...), ours by subpackage ("aislestream.connectors"), and
    "idle" for a wait in the event loop's selector."""
    import re

    counts: dict[str, int] = {}
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        where = re.search(r"\((.*?):\d+\)$", stack.split(";")[-1])
        path = (where.group(1) if where else stack.split(";")[-1]).split("site-packages/")[-1]
        parts = [part for part in path.split("/") if part]
        if parts and parts[-1] == "selectors.py":
            package = "idle"
        elif len(parts) > 2 and parts[0] == "aislestream":
            package = f"aislestream.{parts[1]}"
        else:
            package = parts[0].removesuffix(".py") if parts else "?"
        counts[package] = counts.get(package, 0) + int(n)
    total = sum(counts.values()) or 1
    return dict(sorted(((k, round(v / total, 4)) for k, v in counts.items()),
                       key=lambda kv: -kv[1]))


def _pipeline_run(settings: Settings, engine: str, messages: list[tuple[bytes, bytes]],
                  console: Console, timeout_s: float,
                  overrides: dict[str, dict[str, object]] | None = None, workers: int = 1,
                  profile_to: Path | None = None) -> dict:
    run = uuid.uuid4().hex[:6]
    s = settings.model_copy(deep=True)
    for section, fields in (overrides or {}).items():
        for name, value in fields.items():
            setattr(getattr(s, section), name, value)
    s.topics.prefix = f"bench-{engine}-{run}."
    s.stream.app_id = f"bench-{engine}-{run}"
    s.expansion.engine = engine  # type: ignore[assignment]
    s.expansion.lru_size = 0  # measure the engine, not the cache
    s.metrics.port = 0  # any free port: workers of other runs may hold the configured one
    bootstrap = s.broker.bootstrap_servers or ""
    ensure_topics(bootstrap, topic_specs(s.topics))
    pool = [WorkerProcess(s, s.artifacts.logs / f"bench-{engine}-{run}-{i}.log")
            for i in range(workers)]
    profiled: dict[str, float] | None = None
    try:
        for worker in pool:  # one at a time: each must have joined before the next starts
            worker.start()
            with console.status(f"{engine}: waiting for worker {worker.log_path.name}"):
                worker.wait_until_serving(timeout_s)
        with console.status(f"{engine} x{workers}: draining {len(messages):,} messages"):
            produce(bootstrap, s.topics.name(topics.SEARCH_QUERIES), messages)
            sampler = None
            if profile_to is not None:  # sample the worker while it drains the backlog
                import concurrent.futures

                sampler = concurrent.futures.ThreadPoolExecutor(1).submit(
                    _profile, pool[0].pid, 8.0, profile_to)
            received = collect(bootstrap, [s.topics.name(topics.SEARCH_RESULTS)], len(messages) + 1,
                               timeout_s, stop=lambda _: any(w.check_alive() for w in pool))
            profiled = sampler.result() if sampler is not None else None
    finally:
        for worker in pool:
            worker.stop()
    results = [json.loads(r.value) for r in received if not pool[0].is_probe(r)]
    if len(results) < len(messages):
        raise RuntimeError(f"{engine}: only {len(results)} of {len(messages)} results; "
                           f"logs {', '.join(str(w.log_path) for w in pool)}")
    processed = sorted(r["processed_at"] for r in results)
    elapsed = processed[-1] - processed[0]
    # each message's own time in the worker
    total = [r["latency_ms"]["message_ms"] for r in results]

    def stage(name: str) -> float:  # a stage's batch time shared among the batch's messages
        return float(np.mean([r["latency_ms"][f"batch_{name}"] / r["latency_ms"]["batch_size"]
                              for r in results]))

    return {"msgs_per_s": len(results) / elapsed, "p50_ms": float(np.percentile(total, 50)),
            "p99_ms": float(np.percentile(total, 99)), "expand_ms": stage("expand_ms"),
            "retrieve_ms": stage("retrieve_ms"), "validate_ms": stage("validate_ms"),
            "profile": profiled}


PROFILE = Path("docs/results/stream_identity_profile.json")  # shares; raw stacks in the logs
PLOT = Path("docs/plots/stream.png")
TARGET_RATIO = 0.8  # identity worker / retrieval only


def run_stream_bench(settings: Settings, n: int, write: bool, console: Console,
                     timeout_s: float = 600.0, with_channels: bool = True) -> dict:
    """``with_channels``: also the fused and gated expansion channels and hybrid retrieval
    (``CHANNELS``), each in a worker of its own on the same messages."""
    from aislestream.connectors.search import build_search_store
    from aislestream.settings import apply_llm_defaults

    with broker_session(settings.broker.bootstrap_servers, settings.broker.connect_timeout_s,
                        settings.artifacts.logs) as bootstrap:
        settings = settings.model_copy(deep=True)
        settings.broker.bootstrap_servers = bootstrap
        with console.status("building the world and the store"):
            world = build_world(settings.world)
            ensure_indexed(settings, world)
        messages = [(k, v) for k, v, _ in replay_messages(world.queries, n,
                                                          seed=settings.world.seed, run_id="bench")]
        store = build_search_store(settings.store, settings.store_path())
        with console.status(f"retrieval only: {n:,} queries through the store"):
            retrieval = _retrieval_only(settings, store, messages)
        with console.status(f"pipeline in this process: {n:,} messages"):
            in_process = _pipeline_in_process(settings, store, messages)
        source, sink = (f"bench-raw-{uuid.uuid4().hex[:6]}.in",
                        f"bench-raw-{uuid.uuid4().hex[:6]}.out")
        ensure_topics(bootstrap, {source: TopicSpec(settings.topics.partitions),
                                  sink: TopicSpec(settings.topics.partitions)})
        with console.status(f"raw: draining {n:,} messages"):
            produce(bootstrap, source, messages)
            raw = asyncio.run(_raw_passthrough(bootstrap, source, sink, n, timeout_s))
        faust_sink = f"{sink}.faust"
        ensure_topics(bootstrap, {faust_sink: TopicSpec(settings.topics.partitions)})
        with console.status(f"faust no-op agent: draining {n:,} messages"):
            faust_rate = _faust_passthrough(
                bootstrap, source, faust_sink, n, settings.stream.batch_size,
                settings.artifacts.faust / f"bench-{uuid.uuid4().hex[:6]}", timeout_s)
        identity = _pipeline_run(settings, "identity", messages, console, timeout_s)
        # sampled in a run of its own: py-spy's sampling costs the worker time, and the rate
        # and ratios above must not carry it
        identity["profile"] = _pipeline_run(
            settings, "identity", messages, console, timeout_s,
            profile_to=settings.artifacts.logs / "stream_identity_profile.raw")["profile"]
        scaled = _pipeline_run(settings, "identity", messages, console, timeout_s, workers=2)
        prf = _pipeline_run(settings, "prf", messages, console, timeout_s)
        llm_settings = apply_llm_defaults(settings.expansion.model_copy(update={"engine": "llm"}),
                                          settings.data_dir)
        llm, llm_missing = None, None
        trained = llm_settings.model_path
        if trained is not None and (trained / "config.json").exists():
            # the LLM is slow on a CPU: a tenth of the backlog keeps the run in minutes
            llm = _pipeline_run(settings, "llm", messages[:max(200, n // 10)], console,
                                timeout_s)
        else:
            llm_missing = f"no trained LLM at {llm_settings.model_path}: run `aisle train lm`"
            console.print(f"[yellow]llm skipped[/]: {llm_missing}")
        channels = {}
        for name, engine, overrides in CHANNELS if with_channels else ():
            if "store" in overrides:  # the dense channel needs every product's vector first
                dense = settings.model_copy(deep=True)
                dense.store.dense = True
                with console.status(f"{name}: embedding {len(world.products):,} products"):
                    ensure_indexed(dense, world)
            channels[name] = _pipeline_run(settings, engine, messages, console, timeout_s,
                                           overrides)
    ratio = identity["msgs_per_s"] / retrieval
    payload = {
        "messages": n, "products": len(world.products), "batch_size": settings.stream.batch_size,
        "partitions": settings.topics.partitions, "store": settings.store.backend,
        "retrieval_only_msgs_per_s": round(retrieval, 1),
        "pipeline_in_process_msgs_per_s": round(in_process, 1),
        "identity_msgs_per_s": round(identity["msgs_per_s"], 1),
        "ratio_identity_to_retrieval": round(ratio, 4),
        "ratio_in_process_to_retrieval": round(in_process / retrieval, 4),
        "identity_p50_ms": round(identity["p50_ms"], 3),
        "identity_p99_ms": round(identity["p99_ms"], 3),
        "identity_2_workers_msgs_per_s": round(scaled["msgs_per_s"], 1),
        "scale_2_workers": round(scaled["msgs_per_s"] / identity["msgs_per_s"], 4),
        "prf_msgs_per_s": round(prf["msgs_per_s"], 1),
        "ratio_prf_to_retrieval": round(prf["msgs_per_s"] / retrieval, 4),
        "prf_p50_ms": round(prf["p50_ms"], 3), "prf_p99_ms": round(prf["p99_ms"], 3),
        "llm_msgs_per_s": round(llm["msgs_per_s"], 1) if llm else None,
        "llm_messages": max(200, n // 10) if llm else 0,
        "ratio_llm_to_retrieval": round(llm["msgs_per_s"] / retrieval, 4) if llm else None,
        "llm_p50_ms": round(llm["p50_ms"], 3) if llm else None,
        "llm_p99_ms": round(llm["p99_ms"], 3) if llm else None,
        "llm_skipped": llm_missing,
        "raw_msgs_per_s": round(raw, 1),
        "faust_noop_msgs_per_s": round(faust_rate, 1),
        "ratio_faust_noop_to_raw": round(faust_rate / raw, 4),
        "identity_stage_ms": {k: round(identity[k], 4)
                              for k in ("validate_ms", "expand_ms", "retrieve_ms")},
        "prf_stage_ms": {k: round(prf[k], 4) for k in ("validate_ms", "expand_ms", "retrieve_ms")},
        # where an identity worker's time per message goes: the store, the pipeline's own code
        # (decode, result JSON), and the rest (faust, the broker client, delivery)
        "identity_time_split": {
            "retrieval": round(ratio, 3),
            "pipeline_code": round(ratio * (retrieval / in_process - 1), 3),
            "stream": round(1 - ratio * retrieval / in_process, 3)},
        "identity_profile_by_package": identity["profile"],
        "channels": {name: {"msgs_per_s": round(r["msgs_per_s"], 1),
                            "p50_ms": round(r["p50_ms"], 3), "p99_ms": round(r["p99_ms"], 3),
                            "ratio_to_identity": round(r["msgs_per_s"] / identity["msgs_per_s"], 4),
                            **{k: round(r[k], 4) for k in ("expand_ms", "retrieve_ms")}}
                     for name, r in channels.items()},
        "target_ratio_identity_to_retrieval": TARGET_RATIO, "target_met": ratio >= TARGET_RATIO,
    }
    rows = _rows(payload, retrieval, raw, faust_rate, identity, scaled, prf, llm, channels)
    table = Table(title=f"stream benchmark: {n:,} messages, {len(world.products):,} products")
    for col in ("variant", "msg/s", "ratio to retrieval", "p50 ms", "p99 ms", "expand ms",
                "retrieve ms"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(_verdict(payload))
    if write:
        if identity["profile"] is not None:
            PROFILE.write_text(json.dumps(identity["profile"], indent=2) + "\n")
        plot(rows, PLOT)
        write_results("stream", payload, _markdown(payload, rows),
                      f"aisle bench stream --messages {n} --products {len(world.products)}")
    return payload


def plot(rows: list[list[str]], path: Path) -> Path:
    """Each variant's throughput against the retrieval-only limit, and the workers' per-message
    p50/p99: where the pipeline loses its throughput, at a glance."""
    plt = figures.pyplot()

    names = [r[0] for r in rows]
    rates = [float(r[1].replace(",", "")) for r in rows]
    workers = [r for r in rows if r[3]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 0.42 * len(rows) + 1.5),
                                      gridspec_kw={"width_ratios": [3, 2]})
    left.barh(names[::-1], rates[::-1], color="tab:blue")
    left.axvline(rates[0], color="grey", linestyle="--", linewidth=1)
    left.set_xscale("log")
    left.set_xlabel("messages/s (log); dashed: retrieval only, the pipeline's limit")
    for y, (rate, row) in enumerate(zip(rates[::-1], rows[::-1])):
        left.text(rate, y, f" {row[2]}x", va="center", fontsize=7)
    left.tick_params(axis="y", labelsize=7)
    labels = [r[0] for r in workers][::-1]
    y = range(len(workers))
    right.barh([i + 0.2 for i in y], [float(r[3]) for r in workers][::-1], 0.4, label="p50")
    right.barh([i - 0.2 for i in y], [float(r[4]) for r in workers][::-1], 0.4, label="p99")
    right.set_yticks(list(y), labels, fontsize=7)
    right.set_xlabel("ms per message in the worker")
    right.legend(fontsize=8)
    fig.suptitle("aisle bench stream: throughput against the retrieval-only limit (ratio "
                 "beside each bar) and per-message latency", fontsize=9)
    return figures.save(fig, path)


def _rows(payload: dict, retrieval: float, raw: float, faust_rate: float, identity: dict,
          scaled: dict, prf: dict, llm: dict | None, channels: dict) -> list[list[str]]:
    def row(name: str, r: dict) -> list[str]:
        return [name, f"{r['msgs_per_s']:,.0f}", f"{r['msgs_per_s'] / retrieval:.3f}",
                f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['expand_ms']:.3f}",
                f"{r['retrieve_ms']:.3f}"]

    rows = [["(a) retrieval only (store, same requests and batches)", f"{retrieval:,.0f}",
             "1.000", "", "", "", ""],
            ["(b) pipeline code in this process, identity, no broker",
             f"{payload['pipeline_in_process_msgs_per_s']:,.0f}",
             f"{payload['ratio_in_process_to_retrieval']:.3f}", "", "", "", ""],
            row("(c) worker, identity", identity), row("(d) worker, PRF", prf)]
    if llm is not None:
        rows.append(row(f"(e) worker, LLM ({payload['llm_messages']:,} messages)", llm))
    rows.append(row("(f) two workers, identity, one group", scaled))
    rows += [row(f"worker, {c}", r) for c, r in channels.items()]
    rows += [["raw aiokafka pass-through (reference)", f"{raw:,.0f}", f"{raw / retrieval:.3f}",
              "", "", "", ""],
             ["faust no-op agent (reference)", f"{faust_rate:,.0f}",
              f"{faust_rate / retrieval:.3f}", "", "", "", ""]]
    return rows


def _verdict(payload: dict) -> str:
    split = payload["identity_time_split"]
    met = "met" if payload["target_met"] else "missed"
    return (f"ratio_identity_to_retrieval = {payload['ratio_identity_to_retrieval']:.3f} (target "
            f"{TARGET_RATIO}: {met}); an identity worker's time: retrieval "
            f"{split['retrieval']:.0%}, the pipeline's own code {split['pipeline_code']:.0%}, "
            f"the stream (faust, broker client, delivery) {split['stream']:.0%}; two workers: "
            f"{payload['scale_2_workers']:.2f}x one")


def _markdown(payload: dict, rows: list[list[str]]) -> str:
    header = ["variant", "msg/s", "ratio to retrieval", "p50 ms", "p99 ms", "expand ms/msg",
              "retrieve ms/msg"]
    profile = payload["identity_profile_by_package"]
    top = (", ".join(f"{k} {v:.0%}" for k, v in list(profile.items())[:8]) if profile
           else "not sampled (py-spy not installed)")
    llm = ("" if payload["llm_msgs_per_s"] is not None
           else f" The LLM row is missing: {payload['llm_skipped']}.")
    return "\n".join([
        "## Stream throughput: the pipeline against its physical limit", "",
        f"{payload['messages']:,} query messages drained from a backlog on the embedded Tansu "
        f"broker ({payload['partitions']} partitions), {payload['products']:,}-product "
        f"{payload['store']} store, batch size {payload['batch_size']}. (a) is the store alone "
        "on the requests the pipeline makes, in its batches, in one process: what this machine "
        "can retrieve; every worker row is a ratio to it. p50/p99: each message's own time in "
        "the worker, from the agent receiving its batch to its record being ready.", "",
        "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
        *("| " + " | ".join(r) + " |" for r in rows), "",
        f"**{_verdict(payload)}**.{llm} Where an identity worker's time goes, sampled by py-spy "
        "while a second identity worker drained the same backlog (share of samples by the "
        f"package of the innermost frame; `docs/results/stream_identity_profile.json`): {top}. "
        "Two workers share this 2-core "
        "machine with the broker and the collector, so the scale-out measures contention as "
        "much as the group's partition split.", "", f"![stream]({PLOT.relative_to('docs')})",
    ])
