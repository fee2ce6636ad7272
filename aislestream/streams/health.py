"""Liveness and readiness a probe can check without a web server: the worker's event loop writes
a small JSON report every few seconds; `aisle health` reads it.

- live: the report is fresh (the loop that writes it is the loop that serves messages, so a
  wedged loop stops the writes) and the process that wrote it is still the one running;
- ready: live, the broker answered a TCP connect on this tick, and the consumer holds at least
  one partition (engines are built before the app starts, so a report implies they loaded).

One file per worker, named by app id: a container (or a pod) runs one worker, so the probe
finds it by settings alone. The probe must run where the worker's pids are visible (inside its
container, as exec probes and Docker's HEALTHCHECK do): the data dir of a pod is an emptyDir that
outlives a container restart, and the new worker is pid 1 again, so the report records the
writer's start time to tell its own report from its predecessor's.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aislestream.settings import Settings

if TYPE_CHECKING:  # the probe imports this module: it need not pay for importing faust
    import faust

INTERVAL_S = 5.0
MAX_AGE_S = 30.0  # a report older than this means the loop stopped answering


@dataclass(frozen=True)
class HealthReport:
    pid: int
    updated_at: float
    started_at: float
    broker_reachable: bool
    assigned: list[str] = field(default_factory=list)  # "topic:partition"
    proc_start: str | None = None  # the writer's start, clock ticks since boot (Linux): module doc
    metrics_url: str | None = None  # where its /metrics and HTTP probes are served

    @property
    def age_s(self) -> float:
        return max(0.0, time.time() - self.updated_at)

    def problems(self, ready: bool, max_age_s: float = MAX_AGE_S) -> list[str]:
        """Why the worker is not live (or, with ``ready``, not ready); empty when it is."""
        out = []
        if self.age_s > max_age_s:
            out.append(f"last report {self.age_s:.0f}s ago (> {max_age_s:.0f}s): "
                       "the event loop is not answering")
        if (gone := writer_problem(self)) is not None:
            out.append(gone)
        if ready and not self.broker_reachable:
            out.append("broker unreachable")
        if ready and not self.assigned:
            out.append("no partitions assigned")
        return out


def process_start(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a process from /proc; None where there is
    no /proc or no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name in (...) may hold spaces
    return (fields[0], fields[19]) if len(fields) > 19 else None


def writer_problem(report: HealthReport) -> str | None:
    """Why the process that wrote ``report`` is not the one serving now, or None."""
    try:
        os.kill(report.pid, 0)
    except ProcessLookupError:
        return f"worker pid {report.pid} is not running"
    except PermissionError:
        pass  # it exists, as another user
    now = process_start(report.pid)
    if now is not None and now[0] in ("Z", "X"):
        return f"worker pid {report.pid} has exited"
    if now is not None and report.proc_start is not None and now[1] != report.proc_start:
        return f"the report is from an earlier process with pid {report.pid}"
    return None


def health_path(settings: Settings) -> Path:
    return settings.artifacts.health / f"{settings.stream.app_id}.json"


def read_report(path: Path) -> HealthReport | None:
    """The report at ``path``; None when it is missing or unreadable."""
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
            with socket.create_connection((host.strip("[]") or "localhost", int(port)),
                                          timeout=timeout_s):
                return True
        except (OSError, ValueError):
            continue
    return False


class LatestReport:
    """The last report this process wrote, for its HTTP probes (streams/metrics.py)."""

    def __init__(self, max_age_s: float = MAX_AGE_S) -> None:
        self.report: HealthReport | None = None
        self.max_age_s = max_age_s

    def problems(self, ready: bool) -> list[str]:
        if self.report is None:
            return ["starting: no health report written yet"]
        return self.report.problems(ready, self.max_age_s)


def register_health(app: faust.App, settings: Settings, bootstrap: str,
                    interval_s: float = INTERVAL_S, metrics_url: str | None = None,
                    latest: LatestReport | None = None) -> Path:
    """A timer that writes the worker's report (and keeps it in ``latest``); returns where. A
    report left by an earlier worker is removed first, so nothing vouches for this one before
    its own loop does."""
    path = health_path(settings)
    path.unlink(missing_ok=True)
    started = time.time()
    me = process_start(os.getpid())

    @app.timer(interval=interval_s, name="health")
    async def report() -> None:
        loop = asyncio.get_running_loop()
        reachable = await loop.run_in_executor(None, broker_reachable, bootstrap)
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in app.consumer.assignment())
        written = HealthReport(os.getpid(), time.time(), started, reachable, assigned,
                               me[1] if me else None, metrics_url)
        write_report(path, written)
        if latest is not None:
            latest.report = written

    return path
