"""`aisle worker`, `aisle demo` and `aisle replay` without a usable broker or with bad options:
one `error:` line and exit status 2."""

import pytest
from click.testing import CliRunner

from aislestream.cli.main import cli


@pytest.fixture
def runner():
    return CliRunner()


def test_worker_without_a_broker_says_how_to_get_one(runner, monkeypatch):
    monkeypatch.delenv("AISLE_BROKER__BOOTSTRAP_SERVERS", raising=False)
    out = runner.invoke(cli, ["worker"])
    assert out.exit_code == 2 and "AISLE_BROKER__BOOTSTRAP_SERVERS" in out.output


def test_worker_with_an_unreachable_broker(runner, monkeypatch):
    monkeypatch.setenv("AISLE_BROKER__BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("AISLE_BROKER__CONNECT_TIMEOUT_S", "1")
    out = runner.invoke(cli, ["worker"])
    assert out.exit_code == 2 and "no Kafka broker answered at 127.0.0.1:1" in out.output


def test_demo_rejects_a_bad_fraction(runner):
    out = runner.invoke(cli, ["demo", "--malformed", "1.5"])
    assert out.exit_code == 2 and "--malformed" in out.output


def test_replay_to_a_broker_that_went_away_is_one_error_line(runner, monkeypatch, tmp_path):
    """The broker answered the readiness probe, then vanished: the sends must not end in a
    kafka-python traceback, nor report messages as sent."""
    import aislestream.connectors.broker as broker_module
    from aislestream.connectors.broker import free_port

    monkeypatch.setattr(broker_module, "wait_for_broker", lambda *_: None)  # it answered, then died
    monkeypatch.setenv("AISLE_BROKER__BOOTSTRAP_SERVERS", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("AISLE_BROKER__CONNECT_TIMEOUT_S", "1")
    out = runner.invoke(cli, ["--data-dir", str(tmp_path), "replay", "-n", "20"],
                        env={"AISLE_WORLD__N_PRODUCTS": "300", "AISLE_WORLD__N_QUERIES": "20"})
    assert out.exit_code == 2, out.output
    errors = [line for line in out.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "did not take the messages" in errors[0]
    assert "Traceback" not in out.output and "sent 20 messages" not in out.output
