"""On the slim image (no ``ml`` extra) the stream commands start, and a model command says which
extra to install: torch, transformers, diffusers and onnxruntime are made absent the way a
missing package is (``find_spec`` answers None, an import fails), then ``aisle`` runs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.integration.test_torch_free_worker import BLOCKED, BLOCKER

# None in sys.modules is what an uninstalled package looks like to find_spec; the blocking
# finder of the worker test stays behind it for anything that slips past
SLIM = f"import sys\nsys.modules.update(dict.fromkeys({BLOCKED!r}))\n{BLOCKER}"


def aisle(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SLIM, *args], capture_output=True, text=True,
                          timeout=120, env=env)


def slim_env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AISLE_")}
    return {**env, "AISLE_DATA_DIR": str(tmp_path), **extra}


def test_train_lm_names_the_extra_to_install(tmp_path):
    done = aisle("train", "lm", "--preset", "micro", env=slim_env(tmp_path))
    assert done.returncode == 2, done.stderr
    assert "error: aisle train lm needs the 'ml' extra" in done.stderr
    assert "pip install 'aislestream[ml]'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [
    ["eval", "expansion"], ["train", "ads"], ["train", "assistant"], ["bench", "ads"],
    ["prune", "analyze", "--model", "lm"], ["demo", "--expander", "llm"],
])
def test_every_model_command_names_the_extra(command, tmp_path):
    done = aisle(*command, env=slim_env(tmp_path))
    assert done.returncode == 2 and "needs the 'ml' extra" in done.stderr, done.stderr


def test_every_help_page_starts_without_the_ml_stack(tmp_path):
    """Importing every command module is what --help does; each group's page is shown."""
    for group in ("bench", "eval", "train", "export", "prune", "experiments"):
        done = aisle(group, "--help", env=slim_env(tmp_path))
        assert done.returncode == 0 and "Commands:" in done.stdout, done.stderr


def test_stream_commands_get_past_their_imports(tmp_path):
    """Each runs its body up to the first missing dependency that is not a model: a broker."""
    env = slim_env(tmp_path, AISLE_BROKER__BOOTSTRAP_SERVERS="")
    replay = aisle("replay", "-n", "1", env=env)
    assert replay.returncode == 2 and "set AISLE_BROKER__BOOTSTRAP_SERVERS" in replay.stderr
    experiment = tmp_path / "exp.yaml"
    experiment.write_text("id: slim\nlayer: search.expansion\nsalt: s\narms:\n"
                          "  - {name: a, share: 0.5, params: {expander: prf}}\n"
                          "  - {name: b, share: 0.5, params: {expander: identity}}\n")
    validated = aisle("experiments", "validate", str(experiment), env=env)
    assert validated.returncode == 0 and "ok slim" in validated.stdout, validated.stderr
    listed = aisle("experiments", "list", env=env)
    assert listed.returncode == 2 and "no broker configured" in listed.stderr
    health = aisle("health", env=env)
    assert health.returncode == 1 and "Traceback" not in health.stderr + health.stdout
    unreachable = slim_env(tmp_path, AISLE_BROKER__BOOTSTRAP_SERVERS="127.0.0.1:1",
                           AISLE_BROKER__CONNECT_TIMEOUT_S="1")
    up = aisle("up", "--no-worker", env=unreachable)
    assert up.returncode == 2 and "no Kafka broker answered" in up.stderr, up.stderr
