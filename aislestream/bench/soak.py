"""`aisle bench soak`: a worker under a paced mixed load for minutes, watched as an operator
would watch it.

Every second the driver sends ``rate`` messages (search queries, shoppers' feedback on queries
sent earlier, assistant turns in three-turn sessions) with one producer, and every
``sample_s`` it samples the worker: resident memory (/proc), consumer lag and the per-message
latency of the window (from the worker's own /metrics: the histogram's bucket deltas, so a
p99 is the window's, not the run's). At the end every query and turn must have its answer on
an output topic (a result or a dead letter; a reply), and every feedback record must have been
read. Ad requests are not in the mix: generating creatives takes seconds per request on a CPU,
which would pace the run by the ad generator alone.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console

from aislestream.connectors.broker import broker_session, ensure_topics
from aislestream.connectors.kafka_io import read_to_end
from aislestream.connectors.security import aiokafka_kwargs
from aislestream.core import figures
from aislestream.demo.replay import replay_messages
from aislestream.errors import AisleError
from aislestream.evaluation.results import write_results
from aislestream.models.world import build_world
from aislestream.models.world.dimensions import generate_dialogues
from aislestream.settings import Settings
from aislestream.stack.indexing import ensure_indexed
from aislestream.stack.runtime import WorkerProcess
from aislestream.streams import topics
from aislestream.streams.health import health_path, read_report
from aislestream.streams.metrics import scrape
from aislestream.streams.topics import topic_specs

PLOT = Path("docs/plots/soak.png")
MIX = {"search": 0.8, "feedback": 0.1, "assistant": 0.1}  # shares of the paced rate
RSS_GROWTH_TARGET = 0.05
STATE_TTL_S = 60.0  # the soak's served-result and session TTL: well inside a 10-minute run
P99_FLAT_TARGET = 1.5  # the last window's p99 at most this multiple of the first's


@dataclass(frozen=True)
class Sample:
    t_s: float  # since the load started
    rss_mb: float
    lag: float
    p99_ms: float | None  # of the search messages finished in this window
    messages_in: float  # the worker's total so far, every agent


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AisleError(f"no VmRSS for pid {pid}")


def window_quantile(before: dict, after: dict, agent: str, q: float) -> float | None:
    """The ``q`` quantile (upper bucket bound, seconds) of the latency observations made
    between two scrapes."""
    def buckets(sample: dict) -> dict[float, float]:
        return {float(dict(labels)["le"]): v for (name, labels), v in sample.items()
                if name == "aisle_message_latency_seconds_bucket"
                and dict(labels).get("agent") == agent}

    a, b = buckets(after), buckets(before)
    deltas = sorted((le, a[le] - b.get(le, 0.0)) for le in a)
    total = deltas[-1][1] if deltas else 0.0
    if total <= 0:
        return None
    return next(le for le, n in deltas if n >= q * total)


def _total(sample: dict, name: str) -> float:
    return sum(v for (n, _), v in sample.items() if n == name)


CHUNK = 10_000  # messages drawn at a time: the run's length is not known in advance


def _endless(chunk_of):
    """The items of ``chunk_of(0)``, then ``chunk_of(1)``, ... without end."""
    chunk = 0
    while True:
        yield from chunk_of(chunk)
        chunk += 1


def _metrics_url(settings: Settings, worker: WorkerProcess, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        report = read_report(health_path(settings))
        if report is not None and report.metrics_url and report.pid == worker.pid:
            return report.metrics_url
        worker.check_alive()
        time.sleep(0.5)
    raise AisleError("the worker wrote no health report with a metrics address")


async def _drive(bootstrap: str, settings: Settings, world, minutes: float, rate: int,
                 sample_s: float, url: str, pid: int, console: Console) -> tuple[list, dict]:
    from aiokafka import AIOKafkaProducer

    queries = _endless(lambda chunk: replay_messages(
        world.queries, CHUNK, seed=settings.world.seed + chunk, run_id=f"soak{chunk}"))
    dialogues = _endless(lambda chunk: generate_dialogues(CHUNK // 10, "held_out",
                                                          seed=settings.world.seed + chunk))
    sent = {"search": [], "feedback": 0, "assistant": []}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=-1, **aiokafka_kwargs())
    await producer.start()
    samples: list[Sample] = []
    sessions: list[list] = []  # [session id, next turn number, its turns' texts]
    started = time.monotonic()
    last = scrape(url)
    next_sample = started + sample_s
    try:
        while (now := time.monotonic()) - started < minutes * 60:
            tick = now
            pending = []
            for _ in range(max(1, round(rate * MIX["search"]))):
                key, value, _ = next(queries)
                sent["search"].append(key)
                pending.append(await producer.send(
                    settings.topics.name(topics.SEARCH_QUERIES), key=key, value=value))
            for key in sent["search"][-400:-400 + max(1, round(rate * MIX["feedback"]))]:
                record = {"request_id": key.decode(), "impressions": 10, "clicks": 1,
                          "carts": 0, "purchases": 0, "revenue": 0.0}
                sent["feedback"] += 1
                pending.append(await producer.send(
                    settings.topics.name(topics.SEARCH_FEEDBACK), key=key,
                    value=json.dumps(record).encode()))
            for _ in range(max(1, round(rate * MIX["assistant"]))):
                if not sessions:  # three turns of a held-out dialogue a session
                    texts = [t.text for t in next(dialogues).turns][:3]
                    sessions.append([f"soak-{uuid.uuid4().hex[:8]}", 0, texts])
                session = sessions[0]
                sid, turn, text = session[0], session[1], session[2][session[1]]
                session[1] += 1
                if session[1] == len(session[2]):
                    sessions.pop(0)
                sent["assistant"].append((sid, turn))
                pending.append(await producer.send(
                    settings.topics.name(topics.ASSISTANT_TURNS), key=sid.encode(),
                    value=json.dumps({"session_id": sid, "turn": turn, "text": text}).encode()))
            await asyncio.gather(*pending)
            if time.monotonic() >= next_sample:
                current = scrape(url)
                p99 = window_quantile(last, current, "search-augment", 0.99)
                samples.append(Sample(round(time.monotonic() - started, 1), round(rss_mb(pid), 1),
                                      _total(current, "aisle_consumer_lag"),
                                      None if p99 is None else p99 * 1000,
                                      _total(current, "aisle_messages_in_total")))
                console.log(f"{samples[-1].t_s:>6.0f}s  rss {samples[-1].rss_mb:,.0f} MB  lag "
                            f"{samples[-1].lag:,.0f}  p99 {samples[-1].p99_ms} ms")
                last, next_sample = current, next_sample + sample_s
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    finally:
        await producer.stop()
    return samples, sent


def run_soak(settings: Settings, minutes: float, rate: int, write: bool, console: Console,
             sample_s: float = 10.0, timeout_s: float = 300.0,
             state_ttl_s: float = STATE_TTL_S) -> dict:
    """``state_ttl_s`` (0: the settings' own) is how long the worker keeps what it must
    remember: served results for the feedback join, assistant sessions. Both are bounded by
    their TTL, and at the production TTLs (1 h, 30 min) a 10-minute soak watches them fill,
    which looks like a leak; with a TTL well inside the run, growth after it is one."""
    with broker_session(settings.broker.bootstrap_servers, settings.broker.connect_timeout_s,
                        settings.artifacts.logs) as bootstrap:
        s = settings.model_copy(deep=True)
        s.broker.bootstrap_servers = bootstrap
        run = uuid.uuid4().hex[:6]
        s.topics.prefix, s.stream.app_id = f"soak-{run}.", f"soak-{run}"
        s.metrics.port = 0
        s.assistant.enabled, s.ads.enabled = True, False
        if state_ttl_s:
            s.stream.served_ttl_s = s.assistant.session_ttl_s = state_ttl_s
        with console.status("building the world and the store"):
            world = build_world(s.world)
            ensure_indexed(s, world)
        ensure_topics(bootstrap, topic_specs(s.topics))
        worker = WorkerProcess(s, s.artifacts.logs / f"soak-{run}.log").start()
        try:
            with console.status("waiting for the worker"):
                worker.wait_until_serving(timeout_s)
            url = _metrics_url(s, worker)
            samples, sent = asyncio.run(_drive(bootstrap, s, world, minutes, rate, sample_s, url,
                                               worker.pid or 0, console))
            with console.status("waiting for every answer"):
                lost = _lost(bootstrap, s, sent, url, timeout_s)
        finally:
            worker.stop()
    payload = _summary(samples, sent, lost, minutes, rate, sample_s, len(world.products))
    payload["state_ttl_s"] = {"served": s.stream.served_ttl_s,
                              "assistant_sessions": s.assistant.session_ttl_s}
    console.print(_verdict(payload))
    if write:
        plot(samples, PLOT)
        write_results("soak", payload, _markdown(payload),
                      f"aisle bench soak --minutes {minutes:g} --rate {rate} "
                      f"--state-ttl-s {state_ttl_s:g}")
    return payload


def _lost(bootstrap: str, settings: Settings, sent: dict, url: str, timeout_s: float) -> dict:
    """What has no answer once the worker has read everything (or ``timeout_s`` passed)."""
    deadline = time.monotonic() + timeout_s
    total = len(sent["search"]) + sent["feedback"] + len(sent["assistant"])
    wanted = {"search-augment": len(sent["search"]), "feedback-join": sent["feedback"],
              "assistant": len(sent["assistant"])}
    while time.monotonic() < deadline:  # an agent counts a message once its outputs landed
        read = scrape(url)
        done = {agent: sum(v for (n, labels), v in read.items()
                           if n == "aisle_messages_in_total" and dict(labels)["agent"] == agent)
                for agent in wanted}
        if all(done[a] >= n for a, n in wanted.items()):
            break
        time.sleep(2)
    answered = {r.key for t in (topics.SEARCH_RESULTS, topics.SEARCH_DLQ)
                for r in read_to_end(bootstrap, settings.topics.name(t))}
    replies = set()
    for t in (topics.ASSISTANT_REPLIES, topics.ASSISTANT_DLQ):
        for r in read_to_end(bootstrap, settings.topics.name(t)):
            try:
                value = json.loads(r.value)
                replies.add((value.get("session_id"), value.get("turn")))
            except (ValueError, AttributeError):
                continue
    return {"search": sum(k not in answered for k in sent["search"]),
            "assistant": sum(k not in replies for k in sent["assistant"]),
            "feedback": max(0, sent["feedback"] - int(done["feedback-join"])),
            "sent": total}


def _summary(samples: list[Sample], sent: dict, lost: dict, minutes: float, rate: int,
             sample_s: float, products: int) -> dict:
    warm = [x for x in samples if x.t_s >= 60] or samples  # the first minute fills caches
    base = [x.rss_mb for x in warm[:6]]
    end = [x.rss_mb for x in samples[-6:]]
    growth = (sum(end) / len(end)) / (sum(base) / len(base)) - 1 if base and end else None
    p99s = [x.p99_ms for x in warm if x.p99_ms is not None]
    flat = (max(p99s[-3:]) / max(1e-9, max(p99s[:3]))) if len(p99s) >= 6 else None
    nothing_lost = not any(lost[k] for k in ("search", "assistant", "feedback"))
    return {
        "minutes": minutes, "rate_msgs_per_s": rate, "mix": MIX, "sample_s": sample_s,
        "products": products, "samples": [asdict(x) for x in samples],
        "sent": {"search": len(sent["search"]), "feedback": sent["feedback"],
                 "assistant": len(sent["assistant"])},
        "lost": {k: lost[k] for k in ("search", "assistant", "feedback")},
        "rss_growth": None if growth is None else round(growth, 4),
        "rss_start_mb": round(sum(base) / len(base), 1) if base else None,
        "rss_end_mb": round(sum(end) / len(end), 1) if end else None,
        "p99_first_ms": round(max(p99s[:3]), 2) if p99s else None,
        "p99_last_ms": round(max(p99s[-3:]), 2) if p99s else None,
        "p99_last_to_first": None if flat is None else round(flat, 3),
        "max_lag": max((x.lag for x in samples), default=None),
        "targets": {"rss_growth_below": RSS_GROWTH_TARGET, "p99_last_to_first_at_most":
                    P99_FLAT_TARGET, "minutes_at_least": 10},
        "target_met": bool(growth is not None and growth < RSS_GROWTH_TARGET
                           and flat is not None and flat <= P99_FLAT_TARGET and nothing_lost
                           and minutes >= 10),
        "nothing_lost": nothing_lost,
    }


def _verdict(p: dict) -> str:
    return (f"soak {p['minutes']:g} min at {p['rate_msgs_per_s']} msg/s: RSS "
            f"{p['rss_start_mb']} -> {p['rss_end_mb']} MB (growth {p['rss_growth']}; target < "
            f"{RSS_GROWTH_TARGET}), search p99 {p['p99_first_ms']} -> {p['p99_last_ms']} ms "
            f"(x{p['p99_last_to_first']}; target <= {P99_FLAT_TARGET}), max lag {p['max_lag']}, "
            f"lost {p['lost']} of {p['sent']}: target {'met' if p['target_met'] else 'missed'}")


def plot(samples: list[Sample], path: Path) -> Path:
    plt = figures.pyplot()

    path.parent.mkdir(parents=True, exist_ok=True)
    t = [x.t_s / 60 for x in samples]
    fig, axes = plt.subplots(3, 1, figsize=(8, 6.5), sharex=True)
    axes[0].plot(t, [x.rss_mb for x in samples])
    axes[0].set_ylabel("worker RSS (MB)")
    axes[1].plot(t, [x.lag for x in samples])
    axes[1].set_ylabel("consumer lag (msgs)")
    axes[2].plot(t, [x.p99_ms if x.p99_ms is not None else float("nan") for x in samples])
    axes[2].set_ylabel("search p99 (ms, window)")
    axes[2].set_xlabel("minutes under load")
    return figures.save(fig, path)


def _state(p: dict) -> str:
    ttl = p["state_ttl_s"]
    said = (f"Served results (for the feedback join) and assistant sessions expire after "
            f"{ttl['served']:g} / {ttl['assistant_sessions']:g} s")
    if max(ttl.values()) * 2 <= p["minutes"] * 60:
        return (f"{said}, well inside the run, so what they hold is full early and growth "
                "after it is not theirs (at the production TTLs, 1 h and 30 min, the same load "
                "keeps growing until they are reached).")
    return (f"{said}: longer than half the run, so RSS growth includes them filling, which "
            "stops at their TTL.")


def _markdown(p: dict) -> str:
    return "\n".join([
        "## Soak: a worker under a paced mixed load", "",
        f"{p['minutes']:g} minutes at {p['rate_msgs_per_s']} messages/s (search "
        f"{MIX['search']:.0%}, feedback {MIX['feedback']:.0%}, assistant turns "
        f"{MIX['assistant']:.0%}), {p['products']:,}-product store, one worker, sampled every "
        f"{p['sample_s']:g} s from /proc and the worker's /metrics. {_state(p)} "
        f"Sent: {p['sent']}; lost: "
        f"{p['lost']}. RSS growth is the last minute against the second (the first fills "
        "caches); p99 is each window's, from the latency histogram's bucket deltas (the upper "
        "bound of the bucket that holds it).", "",
        f"**{_verdict(p)}**.", "", f"![soak]({PLOT.relative_to('docs')})",
    ])
