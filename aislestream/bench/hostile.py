"""`aisle bench hostile`: a seeded hostile corpus through a real worker, every message accounted
for.

The worker runs as a child process under a small supervisor (as `aisle up` or Kubernetes would
run it): if it exits, the exit is counted and it is restarted, so one poison message shows up as
``worker_exits`` > 0 instead of ending the run. Per input topic the result says how many messages
went in, how many came back as results/replies and as dead letters, how many never came back
(``lost``) and how many came back more than once (``duplicates``: at-least-once after a crash),
and how many files appeared anywhere outside the worker's data directory.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aislestream.bench.hostile_corpus import OUTPUTS, Hostile
from aislestream.connectors.kafka_io import Received, collect, produce
from aislestream.settings import Settings
from aislestream.stack.runtime import WorkerProcess
from aislestream.streams import topics


@dataclass
class Supervised:
    """A worker restarted whenever it has exited; ``exits`` counts how often that happened.
    ``check`` runs inside the collector's loop, so a restart does not wait for the new worker
    (its readiness probe would need a loop of its own); the collector just keeps reading."""

    start: Callable[[], WorkerProcess]
    worker: WorkerProcess | None = None
    exits: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.worker = self.start()
        self.worker.wait_until_serving(timeout_s=180)

    def check(self, _: object = None) -> bool:
        assert self.worker is not None
        if not self.worker.alive():
            code = self.worker.process.returncode if self.worker.process else -1
            self.exits.append(int(code))
            self.worker = self.start()
        return False


def files_outside(root: Path, allowed: Sequence[Path]) -> list[Path]:
    """Files under ``root`` that lie under none of ``allowed`` (each resolved)."""
    keep = [a.resolve() for a in allowed]
    return [p for p in root.rglob("*") if p.is_file()
            and not any(p.resolve().is_relative_to(a) for a in keep)]


def lost_kinds(mine: Sequence[Hostile], got: Counter) -> Counter:
    """Which kinds of message the unanswered ones were (a key shared by several inputs is charged
    to the kinds that carry it, in corpus order)."""
    left, lost = Counter(got), Counter()
    for h in mine:
        if left[h.expected_key] > 0:
            left[h.expected_key] -= 1
        else:
            lost[h.kind] += 1
    return lost


def count_outcomes(corpus: Sequence[Hostile], received: Sequence[Received],
                   settings: Settings) -> dict[str, dict]:
    """Per input topic: messages, results, dead_letters, lost, duplicates (counted per output key
    against how many inputs carry that key)."""
    out: dict[str, dict] = {}
    for topic, outputs in OUTPUTS.items():
        mine = [h for h in corpus if h.topic == topic]
        if not mine:
            continue
        expected = Counter(h.expected_key for h in mine)
        names = {settings.topics.name(o): o for o in outputs}
        got = Counter(r.key for r in received if r.topic in names and r.key in expected)
        dead = sum(1 for r in received if r.topic in names and r.key in expected
                   and names[r.topic] in topics.DEAD_LETTERS)
        out[topic] = {
            "messages": len(mine),
            "results": sum(got.values()) - dead, "dead_letters": dead,
            "lost": sum(max(0, n - got[k]) for k, n in expected.items()),
            "duplicates": sum(max(0, got[k] - n) for k, n in expected.items()),
            "kinds": dict(sorted(Counter(h.kind for h in mine).items())),
            "lost_kinds": dict(sorted(lost_kinds(mine, got).items())),
        }
    return out


def data_dirs(settings: Settings) -> list[Path]:
    """Where a worker of ``settings`` may write: its data dir and the stores configured outside
    it."""
    return [settings.data_dir,
            *(p for p in (settings.ads.store_path, settings.store.path) if p is not None)]


def run_hostile(settings: Settings, corpus: Sequence[Hostile], scan_root: Path, timeout_s: float,
                on_progress: Callable[[int, int], None] | None = None) -> dict:
    """Send ``corpus`` through a supervised worker of ``settings``; every file under ``scan_root``
    outside the worker's data directories counts as written outside them."""
    bootstrap = settings.broker.bootstrap_servers or ""
    logs = settings.artifacts.logs
    started = 0

    settings.metrics.port = 0  # any free port: a worker of another run may hold the configured one

    def start() -> WorkerProcess:
        nonlocal started
        worker = WorkerProcess(settings, logs / f"hostile-worker-{started}.log").start()
        started += 1
        return worker

    supervised = Supervised(start)
    try:
        for topic in OUTPUTS:
            batch = [(h.key, h.value) for h in corpus if h.topic == topic]
            if batch:
                produce(bootstrap, settings.topics.name(topic), batch)
        wanted = Counter(h.expected_key for h in corpus)
        out_topics = sorted({settings.topics.name(o) for t in OUTPUTS for o in OUTPUTS[t]
                             if any(h.topic == t for h in corpus)})
        began = time.monotonic()

        def done(received: list[Received]) -> bool:
            supervised.check()
            have = Counter(r.key for r in received if r.key in wanted)
            answered = sum(min(n, have[k]) for k, n in wanted.items())
            if on_progress is not None:
                on_progress(answered, len(corpus))
            return answered >= len(corpus) and time.monotonic() - began > 2.0

        received = collect(bootstrap, out_topics, 10**9, timeout_s, stop=done)
        time.sleep(2.0)  # late duplicates still count
        received = collect(bootstrap, out_topics, len(received), 60)
    finally:
        if supervised.worker is not None:
            supervised.worker.stop()
    per_topic = count_outcomes(corpus, received, settings)
    outside = files_outside(scan_root, data_dirs(settings))
    totals = {k: sum(t[k] for t in per_topic.values())
              for k in ("messages", "results", "dead_letters", "lost", "duplicates")}
    return {**totals, "worker_exits": len(supervised.exits), "exit_codes": supervised.exits,
            "files_outside_data_dir": len(outside), "files_outside": [str(p) for p in outside[:20]],
            "per_topic": per_topic}


def hostile_markdown(report: dict, n_per_topic: int, seed: int) -> str:
    rows = ["| topic | messages | results | dead letters | lost | duplicates |",
            "|---|---|---|---|---|---|"]
    for topic, t in report["per_topic"].items():
        rows.append(f"| `{topic}` | {t['messages']:,} | {t['results']:,} | {t['dead_letters']:,} | "
                    f"{t['lost']} | {t['duplicates']} |")
    kinds = ", ".join(next(iter(report["per_topic"].values()))["kinds"])
    return (f"### Hostile input (`aisle bench hostile`)\n\n{n_per_topic:,} messages per input "
            f"topic (seed {seed}), kinds cycled: {kinds}.\n\n" + "\n".join(rows) +
            f"\n\nWorker exits: **{report['worker_exits']}**; files written outside the data "
            f"directories: **{report['files_outside_data_dir']}**; lost: **{report['lost']}** of "
            f"{report['messages']:,}.")


def run_hostile_bench(settings: Settings, n_per_topic: int, seed: int, write: bool,
                      console) -> dict:
    """The corpus through a real worker on the configured (or an embedded) broker. The worker writes
    under a fresh directory outside the project's data dir, so any file it writes elsewhere is
    seen."""
    import shutil
    import tempfile
    import uuid

    from aislestream.bench.hostile_corpus import hostile_corpus
    from aislestream.connectors.broker import broker_session, ensure_topics
    from aislestream.evaluation.results import write_results
    from aislestream.models.ads.presets import STAGES, get_ads_preset
    from aislestream.models.ads.run import train_ads
    from aislestream.models.world import build_world
    from aislestream.stack.indexing import ensure_indexed
    from aislestream.streams.topics import topic_specs

    preset = get_ads_preset("micro")
    if not (settings.artifacts.ads(preset.name) / "generator" / "model_index.json").exists():
        with console.status("training the micro ad generator and reward models (once)"):
            train_ads(settings, preset, STAGES, log=lambda _: None)
    with console.status("building the world and the store"):
        ensure_indexed(settings, build_world(settings.world))
    root = Path(tempfile.mkdtemp(prefix="aisle-hostile-"))
    run = uuid.uuid4().hex[:8]
    with broker_session(settings.broker.bootstrap_servers, settings.broker.connect_timeout_s,
                        settings.artifacts.logs) as bootstrap:
        worker = settings.model_copy(deep=True)
        worker.data_dir = root / "data"
        worker.data_dir.mkdir()
        (worker.data_dir / "ads").symlink_to(settings.data_dir.resolve() / "ads")
        worker.broker.bootstrap_servers = bootstrap
        worker.topics.prefix = f"hostile-{run}."
        worker.stream.app_id = f"hostile-{run}"
        worker.store.path = settings.store_path().resolve()
        (worker.ads.enabled, worker.ads.preset,
         worker.ads.candidates, worker.ads.max_attempts) = True, "micro", 1, 1
        # "../../../x" from its images lands in root
        worker.ads.store_path = root / "a" / "b" / "adstore"
        worker.assistant.engine = "rules"
        ensure_topics(bootstrap, topic_specs(worker.topics))
        corpus = hostile_corpus(n_per_topic, seed, root / "escape", run)
        from rich.progress import Progress

        with Progress(console=console) as progress:
            task = progress.add_task(f"{len(corpus):,} hostile messages", total=len(corpus))
            report = run_hostile(
                worker, corpus, root, timeout_s=max(300.0, len(corpus) / 5),
                on_progress=lambda done, total: progress.update(task, completed=done))
    shutil.rmtree(root, ignore_errors=True)
    report = {"messages_per_topic": n_per_topic, "seed": seed, **report}
    console.print(hostile_markdown(report, n_per_topic, seed))
    if write:
        write_results("hostile", report, hostile_markdown(report, n_per_topic, seed),
                      f"aisle bench hostile -n {n_per_topic} --seed {seed}")
    return report
