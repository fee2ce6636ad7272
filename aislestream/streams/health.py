"""Liveness and readiness a probe can check without a web server: the worker's event loop writes
a small JSON report every few seconds; `aisle health` reads it.

- live: the report is fresh (the loop that writes it is the loop that serves messages, so a
  wedged loop stops the writes);
- ready: live, the broker answered a TCP connect on this tick, and the consumer holds at least
  one partition (engines are built before the app starts, so a report implies they loaded).

One file per worker, named by app id: a container (or a pod) runs one worker, so the probe
finds it by settings alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faust

from aislestream.settings import Settings

INTERVAL_S = 5.0
MAX_AGE_S = 30.0  # a report older than this means the loop stopped answering


@dataclass(frozen=True)
class HealthReport:
    pid: int
    updated_at: float
    started_at: float
    broker_reachable: bool
    assigned: list[str] = field(default_factory=list)  # "topic:partition"

    @property
    def age_s(self) -> float:
        return max(0.0, time.time() - self.updated_at)

    def problems(self, ready: bool, max_age_s: float = MAX_AGE_S) -> list[str]:
        """Why the worker is not live (or, with ``ready``, not ready); empty when it is."""
        out = []
        if self.age_s > max_age_s:
            out.append(f"last report {self.age_s:.0f}s ago (> {max_age_s:.0f}s): the event loop is not answering")
        if ready and not self.broker_reachable:
            out.append("broker unreachable")
        if ready and not self.assigned:
            out.append("no partitions assigned")
        return out


def health_path(settings: Settings) -> Path:
    return settings.data_dir / "health" / f"{settings.stream.app_id}.json"


def read_report(path: Path) -> HealthReport | None:
    try:
        return HealthReport(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def write_report(path: Path, report: HealthReport) -> None:
    """Atomically (a probe never reads half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{report.pid}.tmp")
    tmp.write_text(json.dumps(asdict(report)))
    os.replace(tmp, path)


def broker_reachable(bootstrap: str, timeout_s: float = 2.0) -> bool:
    """True when any bootstrap server accepts a TCP connection."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "localhost", int(port)), timeout=timeout_s):
                return True
        except (OSError, ValueError):
            continue
    return False


def register_health(app: faust.App, settings: Settings, bootstrap: str,
                    interval_s: float = INTERVAL_S) -> Path:
    """A timer that writes the worker's report; returns where."""
    path = health_path(settings)
    started = time.time()

    @app.timer(interval=interval_s, name="health")
    async def report() -> None:
        reachable = await asyncio.get_running_loop().run_in_executor(None, broker_reachable, bootstrap)
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in app.consumer.assignment())
        write_report(path, HealthReport(os.getpid(), time.time(), started, reachable, assigned))

    return path
