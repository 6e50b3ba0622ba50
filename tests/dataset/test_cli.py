"""`btb dataset generate|info` through typer's runner (the CLI is a thin shell over the library)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from btb.cli.dataset import app
from btb.dataset.format import Manifest


def test_generate_and_info(tmp_path: Path) -> None:
    r = CliRunner()
    out = tmp_path / "d"
    res = r.invoke(app, ["generate", "tiny-1d", "--seed", "4", "--out", str(out), "--threads", "1"])
    assert res.exit_code == 0, res.output
    fp = Manifest.read(out).fingerprint
    assert fp in res.output.replace("\n", "")
    res = r.invoke(app, ["info", str(out)])
    assert res.exit_code == 0, res.output
    assert "tiny-1d" in res.output and fp in res.output and "samples" in res.output
    assert "2024-01-08T00:00:00Z" in res.output


def test_bad_profile_names_allowed_values(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["generate", "tiny-9d", "--seed", "1", "--out", str(tmp_path / "x")])
    assert res.exit_code != 0
    assert "9d" in res.output and "1w" in res.output
    assert not (tmp_path / "x").exists()


def test_shape_measures_the_building(tiny2d: Path) -> None:
    import json

    res = CliRunner().invoke(app, ["shape", str(tiny2d), "--json"], terminal_width=400)
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["outdoor-air temperature points per building"] == [1]
    assert d["children / parent energy, max"] <= 1 and d["register vs ∫power, max relative error"] < 1e-9
    assert 3 <= d["points per VAV mean / min / max"][0] <= 6
    table = CliRunner().invoke(app, ["shape", str(tiny2d), "--no-series"], terminal_width=200)
    assert table.exit_code == 0 and "HVAC zones per VAV" in table.output


def test_info_refuses_a_broken_manifest_in_one_line(tmp_path: Path) -> None:
    d = tmp_path / "broken"
    d.mkdir()
    (d / "manifest.json").write_text("{")
    res = CliRunner().invoke(app, ["info", str(d)], terminal_width=400)
    assert res.exit_code == 2 and "manifest.json" in res.output and "Traceback" not in res.output


def test_list_and_names_resolve_in_the_datasets_dir(tmp_path: Path, monkeypatch, request) -> None:
    """`btb dataset list` shows what the datasets dir holds; info/verify take a name from it."""
    from btb.config import get_settings

    monkeypatch.setenv("BTB_STATE_DIR", str(tmp_path))
    get_settings.cache_clear()
    request.addfinalizer(get_settings.cache_clear)  # later tests read their own settings again
    r = CliRunner()
    root = tmp_path / "datasets"
    res = r.invoke(app, ["list", "--root", str(root)])
    assert res.exit_code == 0 and "no datasets" in res.output
    res = r.invoke(app, ["generate", "tiny-1d", "--seed", "3", "--out", str(root / "tiny-1d-s3"), "--threads", "1"])
    assert res.exit_code == 0, res.output
    (root / "junk").mkdir()  # a directory without a manifest is listed as unreadable, not a traceback
    res = r.invoke(app, ["list", "--root", str(root)], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "tiny-1d-s3" in res.output and "unreadable" in res.output
    fp = Manifest.read(root / "tiny-1d-s3").fingerprint
    res = r.invoke(app, ["info", "tiny-1d-s3"], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert fp in res.output
    res = r.invoke(app, ["verify", "nosuch"], terminal_width=200)
    assert res.exit_code != 0 and "btb dataset list" in res.output


def test_import_prints_the_mapping_summary_and_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    models = Path(__file__).resolve().parents[1] / "data" / "brick"
    r = CliRunner()
    res = r.invoke(app, ["import", str(models / "messy.ttl"), "--duration", "1d", "--seed", "1",
                         "--out", str(tmp_path / "m")], terminal_width=200)
    assert res.exit_code == 0, res.output
    for needle in ("mapped (model class", "Variable_Air_Volume_Box_With_Reheat -> Equipment:VAV: 1", "inferred:",
                   "dropped:", "FEEDS edge closing a cycle: 1", "Q8: no binding in this model"):
        assert needle in res.output, needle
    assert Manifest.read(tmp_path / "m").generator["kind"] == "brick-import"
    res = r.invoke(app, ["import", str(models / "syntax_error.ttl"), "--out", str(tmp_path / "x")], terminal_width=200)
    assert res.exit_code == 2 and "syntax_error.ttl:7: Turtle syntax error" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "x").exists()
