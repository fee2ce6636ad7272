"""`aisle bench hostile`: a seeded hostile corpus through a real worker, every message accounted for.

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
from aislestream.runtime import WorkerProcess
from aislestream.settings import Settings


@dataclass
class Supervised:
    """A worker restarted whenever it has exited; ``exits`` counts how often that happened."""

    start: Callable[[], WorkerProcess]
    worker: WorkerProcess | None = None
    exits: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.worker = self.start()

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


def count_outcomes(corpus: Sequence[Hostile], received: Sequence[Received], settings: Settings) -> dict[str, dict]:
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
        dead = sum(1 for r in received if r.topic in names and r.key in expected and names[r.topic].endswith(".dlq"))
        out[topic] = {
            "messages": len(mine),
            "results": sum(got.values()) - dead, "dead_letters": dead,
            "lost": sum(max(0, n - got[k]) for k, n in expected.items()),
            "duplicates": sum(max(0, got[k] - n) for k, n in expected.items()),
            "kinds": dict(sorted(Counter(h.kind for h in mine).items())),
        }
    return out


def run_hostile(settings: Settings, corpus: Sequence[Hostile], scan_root: Path, timeout_s: float,
                on_progress: Callable[[int, int], None] | None = None) -> dict:
    """Send ``corpus`` through a supervised worker of ``settings``; every file under ``scan_root``
    outside ``settings.data_dir`` counts as written outside the data directory."""
    bootstrap = settings.broker.bootstrap_servers or ""
    logs = settings.data_dir / "logs"
    started = 0

    def start() -> WorkerProcess:
        nonlocal started
        worker = WorkerProcess(settings, logs / f"hostile-worker-{started}.log").start()
        started += 1
        worker.wait_until_serving(timeout_s=180)
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
    outside = files_outside(scan_root, [settings.data_dir])
    totals = {k: sum(t[k] for t in per_topic.values())
              for k in ("messages", "results", "dead_letters", "lost", "duplicates")}
    return {**totals, "worker_exits": len(supervised.exits), "exit_codes": supervised.exits,
            "files_outside_data_dir": len(outside), "files_outside": [str(p) for p in outside[:20]],
            "per_topic": per_topic}
