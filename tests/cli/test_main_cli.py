"""The group: every command is listed, and bad input is one clear line with exit status 2,
never a traceback."""

import pytest
from click.testing import CliRunner

from aislestream.cli.main import cli


@pytest.fixture
def runner():
    return CliRunner()


def test_help_lists_the_commands(runner):
    out = runner.invoke(cli, ["--help"])
    assert out.exit_code == 0
    for command in ("demo", "worker", "index", "up", "bench", "world", "replay", "chat", "train",
                    "eval", "export", "prune", "experiments", "health"):
        assert command in out.output


def test_bad_setting_names_the_field(runner, monkeypatch):
    monkeypatch.setenv("AISLE_STREAM__BATCH_SIZE", "-3")
    out = runner.invoke(cli, ["worker"])
    assert out.exit_code == 2 and "stream.batch_size" in out.output
