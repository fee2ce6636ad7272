"""`aisle up` as an operator runs it, with real children: a SIGKILLed worker comes back, a
SIGKILLed embedded broker ends `aisle up` with status 2 and says what was lost."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aislestream.settings import load_settings
from aislestream.stack.runtime import WorkerProcess


def flat_output(path: Path) -> str:
    """The output so far, whitespace collapsed: rich wraps long lines at 80 columns in a pipe."""
    return " ".join(path.read_text(errors="replace").split())


def wait_for(path: Path, pattern: str, process: subprocess.Popen, timeout_s: float) -> re.Match:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if match := re.search(pattern, flat_output(path)):
            return match
        assert process.poll() is None, (f"`aisle up` exited {process.returncode}:\n"
                                        f"{path.read_text()}")
        time.sleep(0.3)
    raise AssertionError(f"no {pattern!r} within {timeout_s:.0f}s; output:\n{path.read_text()}")


def child_pid(parent: int, word: str, timeout_s: float = 5.0) -> int:
    """The child of ``parent`` whose command line contains ``word`` (read from /proc, so the test
    does not depend on what `aisle up` chooses to print). Retried: a child just forked shows its
    parent's command line until it has exec'd (and faust retitles the worker once it runs)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (stat.parent / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue  # exited while we looked
            if ppid == parent and word.encode() in cmdline:
                return int(stat.parent.name)
        time.sleep(0.1)
    raise AssertionError(f"no child of {parent} runs {word!r}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def aisle_up(tmp_path):
    """`aisle up` in a child process on a small world, its output (stdout and stderr) in a file."""
    out = tmp_path / "up.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AISLE_")}
    env.update(PYTHONUNBUFFERED="1", AISLE_WORLD__N_PRODUCTS="300", AISLE_WORLD__N_USERS="20",
               AISLE_WORLD__N_QUERIES="20", AISLE_STREAM__SESSION_TIMEOUT_S="6")
    with out.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "aislestream.cli.main", "--data-dir", str(tmp_path / "data"),
             "up", "--expander", "identity"], env=env, stdout=sink, stderr=subprocess.STDOUT)
    yield process, out
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.integration
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the children in /proc")
def test_up_restarts_a_killed_worker_and_exits_2_when_the_broker_dies(aisle_up):
    process, out = aisle_up
    wait_for(out, r"Ctrl-C stops everything", process, 240)
    broker_pid, worker_pid = child_pid(process.pid, "tansu"), child_pid(process.pid, "aislestream")

    os.kill(worker_pid, signal.SIGKILL)
    wait_for(out, r"worker exited with code -9", process, 10)
    restarted = int(wait_for(out, r"worker restarted \(pid (\d+)\)", process, 10)[1])
    assert restarted == child_pid(process.pid, "aislestream") != worker_pid
    assert process.poll() is None and pid_alive(broker_pid)  # the broker and its data stayed up

    os.kill(broker_pid, signal.SIGKILL)
    assert process.wait(timeout=60) == 2
    text = flat_output(out)
    errors = re.findall(r"error: the embedded broker exited \(code -9\); everything it held in "
                        r"memory went with it: topics, committed offsets, assistant sessions and "
                        r"experiments", text)
    assert len(errors) == 1, text
    assert "Traceback" not in text
    assert not pid_alive(restarted)  # stopped, not left reconnecting to nothing
    assert f"embedded broker pid {broker_pid}" in text  # what an operator would kill or watch
    assert f"worker serving (identity), pid {worker_pid}" in text


def test_worker_log_tail_reads_only_the_end_of_a_long_log(tmp_path):
    """A worker reconnecting in a loop writes megabytes; the tail after a crash must stay cheap
    and must be the latest run's last lines."""
    log = tmp_path / "worker.log"
    log.write_text("".join(f"reconnect attempt {i}\n" for i in range(200_000)) + "exit: poison\n")
    worker = WorkerProcess(load_settings(data_dir=tmp_path), log)
    tail = worker.log_tail(lines=3).splitlines()
    assert tail == ["reconnect attempt 199998", "reconnect attempt 199999", "exit: poison"]
    assert worker.pid is None and worker.exit_code is None  # never started
