"""The worker's health report and the `aisle health` probe that reads it: what counts as live and
ready, that a probe never reads a half-written report, and the exit codes a kubelet acts on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import faust
import pytest
from click.testing import CliRunner

from aislestream.cli.health import health
from aislestream.settings import load_settings
from aislestream.streams.health import (
    HealthReport,
    health_path,
    process_start,
    read_report,
    register_health,
    write_report,
)

APP_ID = "health-test"


def report(age_s: float = 0.0, reachable: bool = True, assigned=("q:0", "q:1"),
           pid: int | None = None, proc_start: str | None = None) -> HealthReport:
    now = time.time()
    return HealthReport(pid or os.getpid(), now - age_s, now - 60, reachable, list(assigned),
                        proc_start)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_fresh_report_of_a_running_process_is_live_and_ready():
    assert report().problems(ready=False) == []
    assert report().problems(ready=True) == []


def test_readiness_needs_the_broker_and_a_partition_but_liveness_does_not():
    cut_off = report(reachable=False, assigned=())
    assert cut_off.problems(ready=False) == []
    assert cut_off.problems(ready=True) == ["broker unreachable", "no partitions assigned"]


def test_a_stale_report_is_not_live():
    stale = report(age_s=45)
    assert "the event loop is not answering" in " ".join(stale.problems(ready=False))
    assert stale.problems(ready=False, max_age_s=60) == []  # a slower engine can allow more


def test_a_report_whose_writer_exited_is_not_live():
    problems = report(pid=dead_pid()).problems(ready=False)
    assert problems and "is not running" in problems[0]


@pytest.mark.skipif(process_start(os.getpid()) is None, reason="needs /proc")
def test_a_report_left_by_an_earlier_process_with_the_same_pid_is_not_live():
    # a restarted container's worker is pid 1 again; its predecessor's report must not vouch for it
    mine = process_start(os.getpid())[1]
    assert report(proc_start=mine).problems(ready=False) == []
    assert "earlier process" in report(proc_start=f"{mine}0").problems(ready=False)[0]


def test_reports_round_trip_and_replace_each_other_whole(tmp_path):
    path = tmp_path / "health" / "w.json"
    first, second = report(assigned=("q:0",)), report(assigned=("q:0", "q:3"))
    write_report(path, first)
    assert read_report(path) == first
    write_report(path, second)
    assert read_report(path) == second
    assert [p.name for p in path.parent.iterdir()] == ["w.json"]  # the temporary file was renamed


def test_a_missing_or_mangled_report_reads_as_none(tmp_path):
    path = tmp_path / "w.json"
    assert read_report(path) is None
    path.write_text('{"pid": 1, "updated_')
    assert read_report(path) is None
    path.write_text(json.dumps({"pid": 1}))
    assert read_report(path) is None


def test_registering_removes_an_earlier_workers_report(tmp_path):
    settings = load_settings(data_dir=tmp_path, stream={"app_id": APP_ID})
    write_report(health_path(settings), report())
    app = faust.App(APP_ID, broker="kafka://127.0.0.1:9", datadir=str(tmp_path / "faust"))
    assert register_health(app, settings, "127.0.0.1:9") == health_path(settings)
    assert not health_path(settings).exists()


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """Runs `aisle health ARGS` against a data dir of its own; returns (exit code, output)."""
    for name in [n for n in os.environ if n.startswith("AISLE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AISLE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AISLE_STREAM__APP_ID", APP_ID)

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(health, list(args))
        return result.exit_code, result.output

    return run


def report_path(tmp_path: Path) -> Path:
    return tmp_path / "health" / f"{APP_ID}.json"


def test_probe_without_a_report_says_the_worker_may_not_run(probe, tmp_path):
    code, out = probe()
    assert code == 1
    assert out.strip() == (f"error: no health report at {report_path(tmp_path)}: "
                           "is the worker running?")


def test_probe_passes_live_and_ready(probe, tmp_path):
    write_report(report_path(tmp_path), report())
    assert probe()[0] == 0
    code, out = probe("--ready")
    assert code == 0 and out.startswith("ready: ")


def test_probe_of_readiness_fails_until_partitions_are_assigned(probe, tmp_path):
    write_report(report_path(tmp_path), report(assigned=()))
    assert probe()[0] == 0
    assert probe("--ready") == (1, "unhealthy: no partitions assigned\n")


def test_probe_of_a_stale_report_fails_unless_allowed_more_time(probe, tmp_path):
    write_report(report_path(tmp_path), report(age_s=45))
    code, out = probe()
    assert code == 1 and out.startswith("unhealthy: last report 45s ago")
    assert probe("--max-age", "60")[0] == 0


def test_probe_of_a_mangled_report_fails(probe, tmp_path):
    report_path(tmp_path).parent.mkdir(parents=True)
    report_path(tmp_path).write_text("{")
    assert probe() == (1, f"error: unreadable health report at {report_path(tmp_path)}\n")


def test_probe_with_bad_settings_fails_with_one_line(probe, monkeypatch):
    monkeypatch.setenv("AISLE_STREAM__BATCH_SIZE", "-3")
    code, out = probe()
    assert code == 1 and out.startswith("error: invalid settings") and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1


def test_the_probe_imports_no_ml_module():
    code = ("import sys; import aislestream.cli.health; "
            "print(sorted({'torch', 'transformers', 'diffusers', 'onnxruntime', 'faust'} "
            "& set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
