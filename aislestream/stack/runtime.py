"""Run pieces of the stack as child processes, configured through the same settings.

Settings travel to a child as AISLE_* environment variables, exactly the way an operator
configures a worker in production, so the demo and tests exercise the real path.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from aislestream.connectors.kafka_io import Received, collect, produce
from aislestream.errors import AisleError
from aislestream.settings import REVEAL_SECRETS, Settings
from aislestream.streams import topics


def settings_env(settings: Settings) -> dict[str, str]:
    env: dict[str, str] = {}
    for section, value in settings.model_dump(mode="json", context={REVEAL_SECRETS: True}).items():
        if isinstance(value, dict):
            for field, inner in value.items():
                if inner is not None:  # nested values as JSON, which pydantic-settings parses
                    env[f"AISLE_{section.upper()}__{field.upper()}"] = (
                        json.dumps(inner) if isinstance(inner, dict | list) else str(inner))
        elif value is not None:
            env[f"AISLE_{section.upper()}"] = str(value)
    return env


READY_LINE = "[^Worker]: Ready"  # faust logs it once the worker has joined and recovered


class WorkerProcess:
    """``aisle worker`` in a child process; killable to test recovery."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log_start = 0

    def start(self) -> "WorkerProcess":
        env = {k: v for k, v in os.environ.items() if not k.startswith("AISLE_")}
        env.update(settings_env(self.settings))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            self._log_start = log_file.tell()  # the log may hold earlier runs' lines
            self.process = subprocess.Popen(
                [sys.executable, "-m", "aislestream.cli.main", "--log-level", "info", "worker"],
                env=env, stdout=log_file, stderr=subprocess.STDOUT,
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def exit_code(self) -> int | None:
        """None while running (or never started); negative N when killed by signal N."""
        return self.process.poll() if self.process is not None else None

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no final commit — the crash case."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def check_alive(self, _: object = None) -> bool:
        """A ``stop`` callback for collectors: fail fast, with the log, if the worker died."""
        if not self.alive():
            raise AisleError(f"worker exited early; its log ends with:\n{self.log_tail()}")
        return False

    def is_probe(self, record: Received) -> bool:
        return record.key is not None and record.key.startswith(b"probe-")

    def wait_until_serving(self, timeout_s: float = 120.0) -> None:
        """Wait until this worker has joined its group (its own log says faust is ready), then
        until the group answers a probe query. The probe alone is not enough: with another worker
        in the group, that one may answer before this one has even joined."""
        deadline = time.monotonic() + timeout_s
        while READY_LINE not in self._log_since_start():
            self.check_alive()
            if time.monotonic() > deadline:
                raise AisleError(f"the worker did not join its group within {timeout_s:.0f}s; "
                                 f"log: {self.log_path}")
            time.sleep(0.2)
        bootstrap = self.settings.broker.bootstrap_servers or ""
        key = f"probe-{uuid.uuid4().hex[:8]}".encode()
        produce(bootstrap, self.settings.topics.name(topics.SEARCH_QUERIES),
                [(key, json.dumps({"request_id": key.decode(), "query": "probe"}).encode())])

        def answered(received: list[Received]) -> bool:
            return any(r.key == key for r in received) or self.check_alive()

        got = collect(bootstrap, [self.settings.topics.name(topics.SEARCH_RESULTS)], 10**9,
                      timeout_s, stop=answered)
        if not any(r.key == key for r in got):
            raise AisleError(f"the worker did not answer a probe query within {timeout_s:.0f}s; "
                             f"log: {self.log_path}")

    def _log_since_start(self) -> str:
        with self.log_path.open("rb") as f:
            f.seek(self._log_start)
            return f.read().decode(errors="replace")

    def log_tail(self, lines: int = 30, max_bytes: int = 64 * 1024) -> str:
        """The last ``lines`` of the log, read from its end: a worker reconnecting in a loop
        writes megabytes, and a restart appends to the same file."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - max_bytes))
            text = f.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])
