"""`aisle world` and `aisle index`: export the world, index an external catalog, reject one
missing columns."""

import json

import pytest
from click.testing import CliRunner

from aislestream.cli.main import cli


@pytest.fixture
def runner():
    return CliRunner()


def test_catalog_with_missing_columns(runner, tmp_path):
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("id,description\n1,A kettle\n")  # titles are required, descriptions not
    out = runner.invoke(cli, ["--data-dir", str(tmp_path), "index", "--catalog", str(catalog)])
    assert out.exit_code == 2
    assert "error:" in out.output and "missing required column(s): title" in out.output
    assert "Traceback" not in out.output


def test_index_and_world_export(runner, tmp_path):
    out = runner.invoke(cli, ["--data-dir", str(tmp_path), "world", "--products", "300",
                              "--queries", "20", "--out", str(tmp_path / "export")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "export" / "catalog.jsonl").exists()
    first = json.loads((tmp_path / "export" / "catalog.jsonl").read_text().splitlines()[0])
    assert {"id", "title", "description"} <= set(first)
    catalog = tmp_path / "export" / "catalog.jsonl"
    args = ["--data-dir", str(tmp_path), "index", "--catalog", str(catalog)]
    first_run = runner.invoke(cli, args)
    flat = lambda result: " ".join(result.output.split())  # noqa: E731 - rich wraps long lines
    assert first_run.exit_code == 0
    assert "300 documents" in flat(first_run) and "(indexed)" in flat(first_run)
    second_run = runner.invoke(cli, args)
    assert "already up to date" in flat(second_run)
