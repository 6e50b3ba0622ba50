"""F2 and O2 answer like the oracle under each forced federation path (`btb validate --federation`), on the
generated tiny building and on an imported Brick model: both transfer paths are correct, not just fast.
(auto, the default, is validated with each family's scenarios; small-2d under each path: docs/federation.md.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from btb.cli.validate import validate_cmd
from btb.engines.series_sql import KEY_COLUMNS
from btb.validate import validate

pytestmark = pytest.mark.integration
HYBRIDS = ["F2", "O2"]


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    from btb.dataset.brick_import import import_model

    model = Path(__file__).resolve().parents[1] / "data" / "brick" / "messy.ttl"
    ds = tmp_path_factory.mktemp("imported") / "messy"
    import_model(model, ds, duration="1d", seed=3)
    return ds


def _check(report, path: str) -> None:
    assert report.ok, [(c.scenario, c.qid, c.status, c.message[:300]) for c in report.failures]
    assert not report.count_problems
    want = {f"Q{i}" for i in range(1, 14)} - set(report.unbound)
    for sid in HYBRIDS:
        assert {c.qid for c in report.checks if c.scenario == sid} == want
        series = [c for c in report.checks if c.scenario == sid and c.qid in KEY_COLUMNS]
        assert series and all(c.notes["federation"] == path for c in series), [(c.qid, c.notes) for c in series]
        assert report.ingests[sid].details["federation"]["mode"] == path


@pytest.mark.parametrize("path", ["any", "temp_table"])
def test_tiny_building_under_each_forced_path(tiny_dataset, provider, path):
    report = validate(tiny_dataset, HYBRIDS, provider=provider, timeout_s=30, federation=path)
    _check(report, path)
    assert not report.unbound and not report.empty_oracle


@pytest.mark.parametrize("path", ["any", "temp_table"])
def test_imported_model_under_each_forced_path(imported, provider, path):
    report = validate(imported, HYBRIDS, provider=provider, timeout_s=30, federation=path)
    _check(report, path)


def test_cli_takes_the_path_and_refuses_a_bad_one_in_one_line(tiny_dataset):
    app = typer.Typer()
    app.command()(validate_cmd)
    r = CliRunner().invoke(app, [str(tiny_dataset), "--scenarios", "F2", "--federation", "temp"],
                           terminal_width=200)
    assert r.exit_code == 2 and "--federation" in r.output and "temp_table" in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1, r.output
    r = CliRunner().invoke(app, [str(tiny_dataset), "--scenarios", "F2", "--federation", "any"], terminal_width=200)
    assert r.exit_code == 0, r.output
    assert "hybrids' federation path: any" in r.output and "all answers match the oracle" in r.output
