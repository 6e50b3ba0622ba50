"""A dataset is used only if its content matches its fingerprint; every refusal is one line naming the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from btb.dataset.format import BINDINGS, MANIFEST, NODES, Manifest, load_bindings, series_files
from btb.dataset.generator import ensure_dataset
from btb.dataset.integrity import DatasetError, verify


@pytest.fixture()
def ds(tiny2d: Path, tmp_path: Path) -> Path:
    d = tmp_path / "tiny-2d-s7"
    shutil.copytree(tiny2d, d)
    return d


def corrupt_4k(f: Path, where: float = 0.5) -> None:
    """Overwrite 4 KiB inside the file with other bytes; the size stays the same."""
    data = bytearray(f.read_bytes())
    size = len(data)
    at = int(size * where) // 4096 * 4096
    data[at: at + 4096] = bytes((b ^ 0x5A) for b in data[at: at + 4096])
    f.write_bytes(bytes(data))
    assert f.stat().st_size == size


def _refused(d: Path, name: str) -> str:
    with pytest.raises(DatasetError) as e:
        verify(d)
    msg = str(e.value)
    assert "\n" not in msg and name in msg, msg
    return msg


def test_intact_dataset_verifies(ds: Path) -> None:
    assert verify(ds).fingerprint == Manifest.read(ds).fingerprint


def test_4k_corrupted_in_a_series_file_same_size_is_refused_by_name(ds: Path) -> None:
    f = series_files(ds)[1]
    corrupt_4k(f)
    _refused(ds, f"series/{f.name}")


def test_unreadable_parquet_names_the_file(ds: Path) -> None:
    (ds / NODES).write_bytes(b"garbage")
    assert "unreadable Parquet" in _refused(ds, NODES)


@pytest.mark.parametrize("damage", ["manifest", "bindings", "missing_day"])
def test_each_kind_of_damage(ds: Path, damage: str) -> None:
    if damage == "manifest":
        (ds / MANIFEST).write_text("{not json")
        assert "broken manifest" in _refused(ds, MANIFEST)
    elif damage == "bindings":
        (ds / BINDINGS).write_text("[1, 2")
        _refused(ds, BINDINGS)
        with pytest.raises(DatasetError, match=BINDINGS):
            load_bindings(ds)
    else:
        f = series_files(ds)[-1]
        f.unlink()
        _refused(ds, f.name)


def test_edited_bindings_do_not_match_the_fingerprint(ds: Path) -> None:
    b = json.loads((ds / BINDINGS).read_text())
    b["Q3"] = [{"space": "space:1:1:1"}]
    (ds / BINDINGS).write_text(json.dumps(b))
    assert "fingerprint" in _refused(ds, BINDINGS)


def test_ensure_dataset_compares_content_not_sizes(tmp_path: Path) -> None:
    d = ensure_dataset("tiny-1d", 21, tmp_path)
    fp = Manifest.read(d).fingerprint
    f = series_files(d)[0]
    corrupt_4k(f)
    with pytest.raises(DatasetError, match=f"series/{f.name}"):
        ensure_dataset("tiny-1d", 21, tmp_path, repair=False)
    assert ensure_dataset("tiny-1d", 21, tmp_path) == d  # default: regenerated, not reused
    assert verify(d).fingerprint == fp


def test_load_bindings(tiny2d: Path) -> None:
    b = load_bindings(tiny2d)
    assert list(b) == [f"Q{i}" for i in range(1, 14)] and b["Q5"] == [{}]
    assert load_bindings(tiny2d / BINDINGS, "Q6", 2) == b["Q6"][:2]
    with pytest.raises(KeyError):
        load_bindings(tiny2d, "Q99")


def test_cli_verify_prints_one_line_and_exits_2(ds: Path) -> None:
    from btb.cli.dataset import app

    ok = CliRunner().invoke(app, ["verify", str(ds)])
    assert ok.exit_code == 0 and "ok" in ok.output
    f = series_files(ds)[0]
    corrupt_4k(f, 0.3)
    r = CliRunner().invoke(app, ["verify", str(ds)], terminal_width=400)
    assert r.exit_code == 2, r.output
    assert f.name in r.output and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
