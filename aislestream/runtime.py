"""Run pieces of the stack as child processes, configured through the same settings.

Settings travel to a child as AISLE_* environment variables, exactly the way an operator
configures a worker in production, so the demo and tests exercise the real path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from aislestream.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    env: dict[str, str] = {}
    for section, value in settings.model_dump(mode="json").items():
        if isinstance(value, dict):
            for field, inner in value.items():
                if inner is not None:
                    env[f"AISLE_{section.upper()}__{field.upper()}"] = str(inner)
        elif value is not None:
            env[f"AISLE_{section.upper()}"] = str(value)
    return env


class WorkerProcess:
    """``aisle worker`` in a child process; killable to test recovery."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "WorkerProcess":
        env = {k: v for k, v in os.environ.items() if not k.startswith("AISLE_")}
        env.update(settings_env(self.settings))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "aislestream.cli.main", "worker"],
                env=env, stdout=log_file, stderr=subprocess.STDOUT,
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

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

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
