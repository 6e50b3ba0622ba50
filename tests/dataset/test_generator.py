"""Generated datasets: determinism, fingerprint, file contract and series invariants (tiny profiles)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from btb.dataset.format import (BINDINGS, EDGES, FORMAT_VERSION, NODES, SERIES_SCHEMA, Manifest, series_files)
from btb.dataset.fingerprint import fingerprint
from btb.dataset.generator import generate


def _series(d: Path) -> pa.Table:
    """All days, sorted by (point_idx, time) across day boundaries."""
    t = pa.concat_tables(pq.read_table(f) for f in series_files(d))
    return t.sort_by([("point_idx", "ascending"), ("time", "ascending")])


def _points(d: Path) -> dict[int, dict]:
    n = pq.read_table(d / NODES)
    n = n.filter(pc.equal(n["type"], "Point")).to_pylist()
    return {p["point_idx"]: p for p in n}


def test_manifest_and_files(tiny2d: Path) -> None:
    m = Manifest.read(tiny2d)
    assert m.format_version == FORMAT_VERSION and m.profile == "tiny-2d" and m.seed == 7 and m.days == 2
    assert (m.start, m.end) == ("2024-01-08T00:00:00Z", "2024-01-10T00:00:00Z")
    assert [f.name for f in series_files(tiny2d)] == ["day-0000.parquet", "day-0001.parquet"]
    s = _series(tiny2d)
    assert s.schema.equals(SERIES_SCHEMA)
    assert m.counts["samples"] == s.num_rows > 0
    nodes, edges = pq.read_table(tiny2d / NODES), pq.read_table(tiny2d / EDGES)
    assert m.counts["nodes"] == nodes.num_rows and m.counts["edges"] == edges.num_rows
    assert m.counts["points"] == len(_points(tiny2d))
    assert m.bytes == sum(f.stat().st_size for f in tiny2d.rglob("*") if f.is_file() and f.name != "manifest.json")
    assert fingerprint(tiny2d) == m.fingerprint


def test_series_sorted_and_within_day_files(tiny2d: Path) -> None:
    for day, f in enumerate(series_files(tiny2d)):
        t = pq.read_table(f)
        p = t["point_idx"].to_numpy().astype(np.int64)
        tm = t["time"].cast(pa.int64()).to_numpy()
        key = p * 10**13 + (tm // 1000)  # ms resolution: day files never need more
        assert np.all(np.diff(key) > 0), "sorted by (point_idx, time), no duplicates"
        day0 = (1_704_672_000 + day * 86_400) * 10**6
        assert tm.min() >= day0 and tm.max() < day0 + 86_400 * 10**6


def test_every_point_respects_its_interval(tiny2d: Path) -> None:
    pts = _points(tiny2d)
    s = _series(tiny2d)
    p = s["point_idx"].to_numpy()
    tm = s["time"].cast(pa.int64()).to_numpy() // 10**6
    starts = np.searchsorted(p, np.arange(len(pts) + 1))
    regular = events = 0
    for i, pt in pts.items():
        t = tm[starts[i]: starts[i + 1]]
        gaps = np.diff(t)
        if pt["point_kind"] in ("status", "alarm"):
            events += 1
            assert np.all(gaps >= pt["interval_s"]), pt["id"]
        else:
            regular += 1
            assert len(t) == 2 * 86_400 // pt["interval_s"], pt["id"]
            assert np.all(gaps == pt["interval_s"]), pt["id"]
            assert t[0] % pt["interval_s"] == 0
    assert regular > 100 and events > 50


def test_values_are_plausible(tiny2d: Path) -> None:
    pts = _points(tiny2d)
    s = _series(tiny2d)
    p, v = s["point_idx"].to_numpy(), s["value"].to_numpy()
    tm = s["time"].cast(pa.int64()).to_numpy()
    assert np.all(np.isfinite(v))
    qty = np.array([pts[i]["quantity"] for i in range(len(pts))], dtype=object)[p]
    kind = np.array([pts[i]["point_kind"] for i in range(len(pts))], dtype=object)[p]
    meters = (kind == "meter")
    mp, mv = p[meters], v[meters]
    same = mp[1:] == mp[:-1]
    assert meters.sum() > 0 and np.all(np.diff(mv)[same] >= 0), "meters never decrease (across days too)"
    assert np.all(v[qty == "power"] > 0), "power is positive"
    assert set(np.unique(v[np.isin(qty, ["door", "status", "alarm"])])) <= {0.0, 1.0}
    assert np.any(v[qty == "door"] == 1.0)
    # zone temperatures of offices in working hours: realistic, and a mix inside/outside [20, 24]
    zone = np.array([pts[i]["name"] == "zone_temp" for i in range(len(pts))])[p]
    hour = (tm // 3_600_000_000) % 24
    work = zone & (hour >= 9) & (hour < 17)
    zt = v[work]
    assert 18 < zt.mean() < 27 and zt.min() > 10 and zt.max() < 35
    inside = ((zt >= 20) & (zt <= 24)).mean()
    assert 0.3 < inside < 0.98
    # occupancy shape: offices warmer and more CO2 at 10:00 than at 03:00
    co2 = qty == "co2"
    assert v[co2 & (hour == 10)].mean() > v[co2 & (hour == 3)].mean() + 100


def test_same_seed_same_fingerprint_any_threads_or_chunks(tiny2d: Path, tmp_path: Path) -> None:
    ref = Manifest.read(tiny2d).fingerprint
    a = generate("tiny-2d", 7, tmp_path / "a", threads=1, chunk_points=64)
    b = generate("tiny-2d", 7, tmp_path / "b", threads=3, chunk_points=1000)
    assert a.fingerprint == b.fingerprint == ref
    assert fingerprint(tmp_path / "a") == ref
    # deterministic bytes too (same settings, same library versions)
    for f in series_files(tiny2d):
        assert f.read_bytes() == (tmp_path / "b" / "series" / f.name).read_bytes()


def test_different_seed_different_fingerprint(tiny2d: Path, tmp_path: Path) -> None:
    assert generate("tiny-2d", 8, tmp_path / "c").fingerprint != Manifest.read(tiny2d).fingerprint


def test_fingerprint_ignores_parquet_layout(tiny2d: Path, tmp_path: Path) -> None:
    import shutil

    d = tmp_path / "copy"
    shutil.copytree(tiny2d, d)
    f = series_files(d)[0]
    pq.write_table(pq.read_table(f), f, row_group_size=1000, compression="zstd")
    assert fingerprint(d) == Manifest.read(tiny2d).fingerprint
    t = pq.read_table(f)
    v = t["value"].to_numpy().copy()
    v[5] += 1.0
    pq.write_table(t.set_column(2, "value", pa.array(v)), f)
    assert fingerprint(d) != Manifest.read(tiny2d).fingerprint


def test_bindings_reference_the_dataset(tiny2d: Path) -> None:
    b = json.loads((tiny2d / BINDINGS).read_text())
    assert list(b) == [f"Q{i}" for i in range(1, 14)] or set(b) == {f"Q{i}" for i in range(1, 14)}
    nodes = pq.read_table(tiny2d / NODES).to_pydict()
    types = dict(zip(nodes["id"], nodes["type"]))
    expected = {"Q1": {"meter"}, "Q2": {"equipment"}, "Q3": {"space"}, "Q4": {"floor"}, "Q5": set(),
                "Q6": {"point", "start", "end"}, "Q7": {"building", "start", "end"},
                "Q8": {"tenant", "start", "end"}, "Q9": {"start", "end"}, "Q10": {"zone", "start", "end"},
                "Q11": {"building", "end"}, "Q12": {"building", "start", "end"},
                "Q13": {"space_type", "start", "end"}}
    kind = {"meter": "Equipment", "equipment": "Equipment", "space": "Space", "floor": "Floor", "point": "Point",
            "building": "Building", "tenant": "Tenant", "zone": "Zone"}
    m = Manifest.read(tiny2d)
    for q, params in expected.items():
        assert len(b[q]) >= (1 if q == "Q5" else 3), q
        for binding in b[q]:
            assert set(binding) == params, (q, binding)
            for k, v in binding.items():
                if k in kind:
                    assert types.get(v) == kind[k], (q, k, v)
            if "start" in binding:
                assert binding["start"].endswith("Z") and binding["end"].endswith("Z")
                assert m.start <= binding["start"] < binding["end"] <= m.end
    spaces = set(nodes["space_type"]) - {None}
    assert all(x["space_type"] in spaces for x in b["Q13"])


def test_deadband_thins_sensor_series(tmp_path: Path) -> None:
    plain = generate("tiny-1d", 3, tmp_path / "p")
    thin = generate("tiny-1d", 3, tmp_path / "t", deadband=1.0)
    assert thin.counts["samples"] < plain.counts["samples"]
    assert thin.fingerprint != plain.fingerprint and thin.generator["deadband"] == 1.0
    s = _series(tmp_path / "t")
    pts = _points(tmp_path / "t")
    p, tm = s["point_idx"].to_numpy(), s["time"].cast(pa.int64()).to_numpy() // 10**6
    same = p[1:] == p[:-1]
    gaps = np.diff(tm)[same]
    ivl = np.array([pts[i]["interval_s"] for i in range(len(pts))])[p[1:][same]]
    assert np.all(gaps >= ivl)


def test_bindings_reproducible_from_the_files(tiny2d: Path) -> None:
    """The generator checks Q10 with door openings it kept while writing; reading them back agrees."""
    from btb.dataset.bindings import draw_bindings

    nodes, edges = pq.read_table(tiny2d / NODES), pq.read_table(tiny2d / EDGES)
    stored = json.loads((tiny2d / BINDINGS).read_text())
    assert draw_bindings(nodes, edges, tiny2d, 7, 2) == stored
    assert draw_bindings(nodes, edges, tiny2d, 7, 2, regular=False) == stored


def test_failure_mid_series_raises_and_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    from btb.dataset import series_writer

    real = series_writer.generate_task

    def boom(task, day, *a, **kw):
        if day == 1 and task.start > 100:
            raise OSError("disk full (simulated)")
        return real(task, day, *a, **kw)

    monkeypatch.setattr(series_writer, "generate_task", boom)
    with pytest.raises(OSError, match="simulated"):
        generate("tiny-2d", 1, tmp_path / "broken", chunk_points=64)
    assert list(tmp_path.iterdir()) == []


def test_structure_files_in_a_child_or_here_are_the_same(tmp_path: Path, monkeypatch) -> None:
    """The generator writes nodes/edges and draws bindings in a forked child when it can (no GIL shared
    with the series threads), else in this process; a child that fails is replaced by the work done
    here. Same files, digests and draw each way."""
    import threading

    from btb.dataset import generator as gen_mod
    from btb.dataset.profiles import parse_profile
    from btb.dataset.structure import build_structure

    s = build_structure(parse_profile("tiny-2d").scale, 7)

    def run(name: str) -> tuple:
        d = tmp_path / name
        d.mkdir()
        job = gen_mod._StructureFiles(s, d, 7, 2).start()
        forked = bool(job.pid)
        parts, draw = job.result()
        assert job.pid == 0
        return forked, parts, draw.__dict__, (d / NODES).read_bytes(), (d / EDGES).read_bytes()

    forked, *ref = run("child")
    assert forked == (threading.active_count() == 1)

    def fail(*a, **kw):
        raise RuntimeError("the child fails (simulated)")

    monkeypatch.setattr(gen_mod.pickle, "dump", fail)  # in the child: it exits 1 without sending
    assert run("failed-child")[1:] == tuple(ref)
    monkeypatch.setattr(gen_mod.threading, "active_count", lambda: 2)  # another thread: no fork
    forked, *here = run("here")
    assert not forked and here == ref
