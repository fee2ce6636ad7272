"""`aisle experiments validate|publish|list|report` against a real broker."""

import uuid

import pytest
from click.testing import CliRunner

from aislestream.cli.main import cli

GOOD = """
id: cli-exp
layer: search.expansion
salt: cli
arms:
  - {name: control, share: 0.5, params: {expander: prf}}
  - {name: llm, share: 0.5, params: {expander: llm}}
"""

pytestmark = pytest.mark.integration


def test_validate_publish_list_and_report(broker, tmp_path, monkeypatch):
    monkeypatch.setenv("AISLE_BROKER__BOOTSTRAP_SERVERS", broker)
    monkeypatch.setenv("AISLE_STREAM__APP_ID", f"cli-{uuid.uuid4().hex[:6]}")
    good, bad, clash = tmp_path / "good.yaml", tmp_path / "bad.yaml", tmp_path / "clash.yaml"
    good.write_text(GOOD)
    bad.write_text(GOOD.replace("share: 0.5, params: {expander: llm}",
                                "share: 0.6, params: {expander: llm}"))
    clash.write_text(GOOD.replace("id: cli-exp", "id: other").replace("salt: cli", "salt: other"))
    runner = CliRunner()
    assert "ok cli-exp" in runner.invoke(cli, ["experiments", "validate", str(good)]).output
    rejected = runner.invoke(cli, ["experiments", "validate", str(bad)])
    assert rejected.exit_code == 2
    assert "arm shares sum to 1.1, they must sum to 1" in rejected.output
    assert runner.invoke(cli, ["experiments", "publish", str(good)]).exit_code == 0
    overlap = runner.invoke(cli, ["experiments", "publish", str(clash)])
    assert overlap.exit_code == 2
    assert "overlap in time on layer 'search.expansion'" in overlap.output
    listed = runner.invoke(cli, ["experiments", "list"])
    assert "cli-exp" in listed.output and "other" not in listed.output
    reports = tmp_path / "reports"
    report = runner.invoke(cli, ["experiments", "report", "cli-exp", "--out", str(reports)])
    assert report.exit_code == 0, report.output
    assert (reports / "cli-exp.html").exists() and (reports / "cli-exp.md").exists()
    missing = runner.invoke(cli, ["experiments", "report", "nope"])
    assert missing.exit_code == 2 and "no experiment 'nope'" in missing.output
