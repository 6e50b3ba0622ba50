"""`validate()` end to end on a scratch PostgreSQL it starts itself, and the CLI command's exit code."""

from __future__ import annotations

import json
import shutil

import pytest
import typer
from typer.testing import CliRunner

from btb.cli.validate import validate_cmd
from btb.validate import validate

from .conftest import free_port, traversable

pytestmark = pytest.mark.integration


def test_validate_tiny_all_match(tiny_dataset, tmp_path):
    report = validate(tiny_dataset, ["P1", "P2"], work_dir=traversable(tmp_path / "v"), port=free_port())
    assert report.ok, [(c.scenario, c.qid, c.status, c.message) for c in report.failures]
    assert not report.empty_oracle
    assert {c.qid for c in report.checks} == {f"Q{i}" for i in range(1, 14)}
    assert {c.scenario for c in report.checks} == {"P1", "P2"}
    assert set(report.ingests) == {"P1", "P2"}


def test_cli_exits_non_zero_and_prints_the_diff_on_a_mismatch(tiny_dataset, tmp_path):
    """A binding whose oracle answer cannot match (a tampered copy of bindings) must fail the gate."""
    ds = tmp_path / "ds"
    shutil.copytree(tiny_dataset, ds)
    b = json.loads((ds / "bindings.json").read_text())
    # Q3 of a space that does not exist: both sides empty -> flagged as empty oracle, exit 1
    b["Q3"] = [{"space": "space:does-not-exist"}]
    (ds / "bindings.json").write_text(json.dumps(b))
    app = typer.Typer()
    app.command()(validate_cmd)
    traversable(tmp_path)
    r = CliRunner().invoke(app, [str(ds), "--scenarios", "P1", "--work-dir", str(traversable(tmp_path / "w"))])
    assert r.exit_code == 1, r.output
    assert "empty oracle answer" in r.output and "Q3" in r.output
