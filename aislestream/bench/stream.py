"""`aisle bench stream`: what the stream machinery costs, measured against the raw broker in one
run.

(a) raw: an aiokafka consume -> produce pass-through with a consumer group and commits,
    draining the same backlog of query messages (the floor any processor pays);
(b) the search pipeline with the identity expander; (c) with the PRF expander.
All three drain an N-message backlog on the same broker; throughput is N / drain time.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import numpy as np
from rich.console import Console
from rich.table import Table

from aislestream.connectors.broker import TopicSpec, broker_session, ensure_topics
from aislestream.connectors.kafka_io import collect, produce
from aislestream.connectors.security import aiokafka_kwargs
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


def _pipeline_run(settings: Settings, engine: str, messages: list[tuple[bytes, bytes]],
                  console: Console, timeout_s: float,
                  overrides: dict[str, dict[str, object]] | None = None) -> dict[str, float]:
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
    worker = WorkerProcess(s, s.artifacts.logs / f"bench-{engine}-{run}.log").start()
    try:
        with console.status(f"{engine}: waiting for the worker"):
            worker.wait_until_serving(timeout_s)
        with console.status(f"{engine}: draining {len(messages):,} messages"):
            produce(bootstrap, s.topics.name(topics.SEARCH_QUERIES), messages)
            received = collect(bootstrap, [s.topics.name(topics.SEARCH_RESULTS)], len(messages) + 1,
                               timeout_s, stop=worker.check_alive)
    finally:
        worker.stop()
    results = [json.loads(r.value) for r in received if not worker.is_probe(r)]
    if len(results) < len(messages):
        raise RuntimeError(f"{engine}: only {len(results)} of {len(messages)} results; "
                           f"log {worker.log_path}")
    processed = sorted(r["processed_at"] for r in results)
    elapsed = processed[-1] - processed[0]
    # each message's own time in the worker
    total = [r["latency_ms"]["message_ms"] for r in results]

    def stage(name: str) -> float:  # a stage's batch time shared among the batch's messages
        return float(np.mean([r["latency_ms"][f"batch_{name}"] / r["latency_ms"]["batch_size"]
                              for r in results]))

    return {"msgs_per_s": len(results) / elapsed, "p50_ms": float(np.percentile(total, 50)),
            "p99_ms": float(np.percentile(total, 99)), "expand_ms": stage("expand_ms"),
            "retrieve_ms": stage("retrieve_ms"), "validate_ms": stage("validate_ms")}


def run_stream_bench(settings: Settings, n: int, write: bool, console: Console,
                     timeout_s: float = 600.0, with_channels: bool = True) -> dict:
    """``with_channels``: also the fused and gated expansion channels and hybrid retrieval
    (``CHANNELS``), each in a worker of its own on the same messages."""
    with broker_session(settings.broker.bootstrap_servers, settings.broker.connect_timeout_s,
                        settings.artifacts.logs) as bootstrap:
        settings = settings.model_copy(deep=True)
        settings.broker.bootstrap_servers = bootstrap
        with console.status("building the world and the store"):
            world = build_world(settings.world)
            ensure_indexed(settings, world)
        messages = [(k, v) for k, v, _ in replay_messages(world.queries, n,
                                                          seed=settings.world.seed, run_id="bench")]
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
        prf = _pipeline_run(settings, "prf", messages, console, timeout_s)
        channels = {}
        for name, engine, overrides in CHANNELS if with_channels else ():
            if "store" in overrides:  # the dense channel needs every product's vector first
                dense = settings.model_copy(deep=True)
                dense.store.dense = True
                with console.status(f"{name}: embedding {len(world.products):,} products"):
                    ensure_indexed(dense, world)
            channels[name] = _pipeline_run(settings, engine, messages, console, timeout_s,
                                           overrides)
    ratio = identity["msgs_per_s"] / raw
    search_share = identity["retrieve_ms"] * identity["msgs_per_s"] / 1000
    payload = {
        "messages": n, "products": len(world.products), "batch_size": settings.stream.batch_size,
        "partitions": settings.topics.partitions, "store": settings.store.backend,
        "raw_msgs_per_s": round(raw, 1),
        "faust_noop_msgs_per_s": round(faust_rate, 1),
        "ratio_faust_noop_to_raw": round(faust_rate / raw, 4),
        "identity_msgs_per_s": round(identity["msgs_per_s"], 1),
        "prf_msgs_per_s": round(prf["msgs_per_s"], 1),
        "identity_p50_ms": round(identity["p50_ms"], 3),
        "identity_p99_ms": round(identity["p99_ms"], 3),
        "prf_p50_ms": round(prf["p50_ms"], 3), "prf_p99_ms": round(prf["p99_ms"], 3),
        "ratio_identity_to_raw": round(ratio, 4),
        "ratio_prf_to_raw": round(prf["msgs_per_s"] / raw, 4),
        "identity_stage_ms": {k: round(identity[k], 4)
                              for k in ("validate_ms", "expand_ms", "retrieve_ms")},
        "prf_stage_ms": {k: round(prf[k], 4) for k in ("validate_ms", "expand_ms", "retrieve_ms")},
        "identity_retrieval_share_of_time": round(search_share, 3),
        "channels": {name: {"msgs_per_s": round(r["msgs_per_s"], 1),
                            "p50_ms": round(r["p50_ms"], 3), "p99_ms": round(r["p99_ms"], 3),
                            "ratio_to_identity": round(r["msgs_per_s"] / identity["msgs_per_s"], 4),
                            **{k: round(r[k], 4) for k in ("expand_ms", "retrieve_ms")}}
                     for name, r in channels.items()},
        "target_ratio_identity_to_raw": 0.5, "target_met": ratio >= 0.5,
    }
    table = Table(title=f"stream benchmark: {n:,} messages, {len(world.products):,} products")
    for col in ("variant", "msg/s", "ratio to raw", "p50 ms", "p99 ms", "expand ms", "retrieve ms"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    rows = [["(a) raw aiokafka pass-through", f"{raw:,.0f}", "1.00", "", "", "", ""],
            ["faust no-op agent (same batching and acks)", f"{faust_rate:,.0f}",
             f"{faust_rate / raw:.3f}", "", "", "", ""]]
    for name, r in (("(b) pipeline, identity", identity), ("(c) pipeline, PRF", prf),
                    *((f"pipeline, {c}", r) for c, r in channels.items())):
        rows.append([name, f"{r['msgs_per_s']:,.0f}", f"{r['msgs_per_s'] / raw:.3f}",
                     f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['expand_ms']:.3f}",
                     f"{r['retrieve_ms']:.3f}"])
    for row in rows:
        table.add_row(*row)
    console.print(table)
    verdict = "met" if ratio >= 0.5 else "missed"
    console.print(f"ratio_identity_to_raw = {ratio:.3f} (target 0.5: {verdict}); retrieval takes "
                  f"{search_share:.0%} of the identity pipeline's time; a no-op faust agent "
                  f"reaches {faust_rate / raw:.2f} of raw")
    if write:
        header = ["variant", "msg/s", "ratio to raw", "p50 ms", "p99 ms", "expand ms/msg",
                  "retrieve ms/msg"]
        markdown = "\n".join([
            "## Stream throughput: raw broker vs the search pipeline", "",
            f"{n:,} query messages drained from a backlog on the embedded Tansu broker "
            f"({settings.topics.partitions} partitions), {len(world.products):,}-product "
            f"{settings.store.backend} store, batch size {settings.stream.batch_size}. p50/p99: "
            "percentiles over messages of each message's own time in the worker, from the agent "
            "receiving its batch to its record being ready (a message waits for its whole "
            "batch); expand/retrieve ms/msg: the batch's stage time divided by its size.", "",
            "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), "",
            f"**ratio_identity_to_raw = {ratio:.3f}** (target 0.5: {verdict}). Retrieval takes "
            f"{search_share:.0%} of the identity pipeline's time: every message runs a BM25 search "
            f"over {len(world.products):,} products, which a pass-through does not. A faust agent "
            f"that only forwards messages, with the same batching and delivery-before-ack, reaches "
            f"{faust_rate:,.0f} msg/s ({faust_rate / raw:.2f} of raw): that is the ceiling of the "
            "faust machinery on this machine before any work is done.",
        ])
        write_results("stream", payload, markdown,
                      f"aisle bench stream --messages {n} --products {len(world.products)}")
    return payload
