"""ensure_dataset: reuse, regeneration on format change or damage, and concurrent callers."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

from btb.dataset.format import MANIFEST, Manifest
from btb.dataset.generator import ensure_dataset


def test_generates_then_reuses(tmp_path: Path) -> None:
    d = ensure_dataset("tiny-1d", 11, tmp_path)
    assert d == tmp_path / "tiny-1d-s11"
    mtime = (d / MANIFEST).stat().st_mtime_ns
    assert ensure_dataset("tiny-1d", 11, tmp_path) == d
    assert (d / MANIFEST).stat().st_mtime_ns == mtime, "reused, not regenerated"
    assert ensure_dataset("tiny-1d", 11, tmp_path, deep=True) == d


def test_regenerates_stale_or_damaged(tmp_path: Path) -> None:
    d = ensure_dataset("tiny-1d", 12, tmp_path)
    fp = Manifest.read(d).fingerprint
    m = json.loads((d / MANIFEST).read_text())
    m["format_version"] = -1
    (d / MANIFEST).write_text(json.dumps(m))
    ensure_dataset("tiny-1d", 12, tmp_path)
    assert Manifest.read(d).format_version != -1 and Manifest.read(d).fingerprint == fp
    (d / "nodes.parquet").write_bytes(b"garbage")
    ensure_dataset("tiny-1d", 12, tmp_path)
    assert Manifest.read(d).fingerprint == fp and (d / "nodes.parquet").read_bytes()[:4] == b"PAR1"


def _worker(root: str, q) -> None:  # module level: picklable for spawn
    q.put(str(ensure_dataset("tiny-1d", 13, Path(root))))


def test_concurrent_callers_get_one_complete_dataset(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), q)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    paths = {q.get(timeout=5) for _ in procs}
    assert paths == {str(tmp_path / "tiny-1d-s13")}
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["tiny-1d-s13"]
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    assert Manifest.read(tmp_path / "tiny-1d-s13").counts["samples"] > 0
