"""The reference answers of Q1–Q13, computed in plain Python/numpy straight from the dataset files.

It is deliberately independent of every engine (no SQL, no graph library) so that `btb validate` has a
judge that shares no code path with what it judges. Structure is loaded once per dataset directory;
series are streamed from the day files, reading only the days of the window and the points asked for
(row-group statistics skip the rest, because day files are sorted by point_idx).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pyarrow.parquet as pq

from btb.dataset.answers import canonical_for
from btb.dataset.changes import Overlay
from btb.dataset.format import EDGES, NODES, SERIES_DIR, US_PER_DAY, Manifest, epoch_us
from btb.dataset.graph import Graph

KELVIN = 273.15
Structure = Graph  # the oracle's view of the structure is the shared graph (btb.dataset.graph)


@lru_cache(maxsize=8)
def load_structure(dataset_dir: str) -> Structure:
    d = Path(dataset_dir)
    m = Manifest.read(d)
    return Graph.from_tables(pq.read_table(d / NODES), pq.read_table(d / EDGES), start_us=epoch_us(m.start),
                             days=m.days)


@dataclass
class Samples:
    """Samples of some points, grouped per point_idx: {idx: (time_us int64[], value float64[])}."""

    by_point: dict[int, tuple[np.ndarray, np.ndarray]]

    def get(self, idx: int) -> tuple[np.ndarray, np.ndarray]:
        return self.by_point.get(idx, (np.empty(0, np.int64), np.empty(0, np.float64)))


def _day_file(d: Path, day: int) -> Path:
    return d / SERIES_DIR / f"day-{day:04d}.parquet"


def _read_day(d: Path, day: int, idxs: list[int], st: Structure | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Samples of `idxs` on one day: the day file's, plus those appended after the dataset (st.appended)."""
    f = _day_file(d, day)
    out = (np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.float64))
    if f.exists() and idxs:
        t = pq.read_table(f, filters=[("point_idx", "in", idxs)])
        out = (t.column("point_idx").to_numpy().astype(np.int32),
               t.column("time").cast("int64").to_numpy(), t.column("value").to_numpy().astype(np.float64))
    extra = st.appended.get(day) if st is not None else None
    if extra is None or not idxs:
        return out
    keep = np.isin(extra[0], idxs)
    return tuple(np.concatenate([a, b[keep]]) for a, b in zip(out, extra))  # type: ignore[return-value]


def load_samples(dataset_dir: str, st: Structure, idxs: Iterable[int], start_us: int, end_us: int) -> Samples:
    """Samples with start <= time < end of the given points, reading only the days that overlap."""
    idxs = sorted(set(int(i) for i in idxs))
    first = max(0, (start_us - st.start_us) // US_PER_DAY)
    last = min(st.days - 1, (end_us - 1 - st.start_us) // US_PER_DAY)
    parts = [_read_day(Path(dataset_dir), day, idxs, st) for day in range(first, last + 1)]
    if not parts:
        return Samples({})
    p = np.concatenate([x[0] for x in parts])
    t = np.concatenate([x[1] for x in parts])
    v = np.concatenate([x[2] for x in parts])
    keep = (t >= start_us) & (t < end_us)
    p, t, v = p[keep], t[keep], v[keep]
    order = np.lexsort((t, p))
    p, t, v = p[order], t[order], v[order]
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if len(p):
        cuts = np.flatnonzero(np.diff(p)) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(p)]):
            out[int(p[lo])] = (t[lo:hi], v[lo:hi])
    return Samples(out)


def _window(st: Structure, params: Mapping[str, Any]) -> tuple[int, int]:
    return epoch_us(params["start"]), epoch_us(params["end"])


# --- one function per query: (dataset_dir, structure, params) -> rows ------------------------------

def q1(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    return [(e, d) for e, d in st.downstream(p["meter"], electrical=True).items()]


def q2(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    rows = set()
    for e in st.downstream(p["equipment"], min_hops=0):
        for s in st.succ("SERVES", e):
            floors = st.pred("CONTAINS", s, "Floor") or [None]
            rows |= {(s, f) for f in floors}
    return list(rows)


def q3(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    s = p["space"]
    return list({(e, "located_in") for e in st.pred("LOCATED_IN", s)} | {(e, "serves") for e in st.pred("SERVES", s)})


def q4(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    rows = set()
    for s in st.succ("CONTAINS", p["floor"], "Space"):
        for e in st.pred("LOCATED_IN", s, "Equipment"):
            rows |= {(pt, e, s) for pt in st.zone_air_temp_points(e)}
    return list(rows)


def q5(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    rows = [("equipment_without_location", e) for e in st.of_type("Equipment") if not st.out["LOCATED_IN"].get(e)]
    rows += [("point_without_equipment", pt) for pt in st.of_type("Point") if not st.inc["HAS_POINT"].get(pt)]
    return rows


def q6(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    lo, hi = _window(st, p)
    t, v = load_samples(ds, st, [st.idx(p["point"])], lo, hi).get(st.idx(p["point"]))
    hours = t // 3_600_000_000
    rows = []
    for h in np.unique(hours):
        x = v[hours == h]
        rows.append((int(h) * 3600, float(x.mean()), float(x.min()), float(x.max()), len(x)))
    return rows


def q7(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    lo, hi = _window(st, p)
    pts = {pt for e in st.building_equipment(p["building"]) for pt in st.zone_air_temp_points(e)}
    smp = load_samples(ds, st, [st.idx(x) for x in pts], lo, hi)
    rows = []
    for pt in pts:
        v = smp.get(st.idx(pt))[1]
        if len(v) >= 2:
            rows.append((pt, float(v.std(ddof=1) / (v.mean() + KELVIN))))
    rows.sort(key=lambda r: (-r[1], r[0]))
    return rows[:20]


def _deltas(ds: str, st: Structure, points: Iterable[str], lo: int, hi: int) -> dict[str, float]:
    points = list(points)
    smp = load_samples(ds, st, [st.idx(x) for x in points], lo, hi)
    out = {}
    for pt in points:
        v = smp.get(st.idx(pt))[1]
        out[pt] = float(v.max()) - float(v.min()) if len(v) else 0.0
    return out


def q8(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    lo, hi = _window(st, p)
    pts = st.tenant_meter_points(p["tenant"])
    d = _deltas(ds, st, pts, lo, hi)
    return [(p["tenant"], len(pts), math.fsum(d.values()))]


def q9(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    lo, hi = _window(st, p)
    per_tenant = {t: st.tenant_meter_points(t) for t in st.of_type("Tenant")}
    d = _deltas(ds, st, {pt for m in per_tenant.values() for pt in m}, lo, hi)
    rows = []
    for t, m in per_tenant.items():
        energy = math.fsum(d[pt] for pt in m)
        co2 = math.fsum(d[pt] * st.attrs[b]["carbon_kg_per_kwh"] for pt, bs in m.items() for b in bs)
        rows.append((t, energy, co2))
    rows.sort(key=lambda r: (-r[2], r[0]))
    return rows


def q10(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    lo, hi = _window(st, p)
    if st.get(p["zone"], "zone_kind") != "security":
        return []
    pairs = {(e, pt) for s in st.pred("IN_ZONE", p["zone"], "Space") for e in st.pred("LOCATED_IN", s, "Equipment")
             if st.attrs[e].get("equipment_type") == "AccessController" for pt in st.points_of(e, quantity="door")}
    smp = load_samples(ds, st, [st.idx(pt) for _, pt in pairs], lo, hi)
    return [(e, pt, int(np.count_nonzero(smp.get(st.idx(pt))[1] == 1))) for e, pt in pairs]


def _last_values(ds: str, st: Structure, points: set[str], end_us: int) -> dict[str, tuple[int, float]]:
    """Latest (time, value) before end_us per point: read day files backwards until all are found."""
    found: dict[str, tuple[int, float]] = {}
    todo = {st.idx(pt): pt for pt in points}
    last_day = min(st.days - 1, (end_us - 1 - st.start_us) // US_PER_DAY)
    for day in range(last_day, -1, -1):
        if not todo:
            break
        pidx, t, v = _read_day(Path(ds), day, sorted(todo), st)
        before = t < end_us
        pidx, t, v = pidx[before], t[before], v[before]
        for i in np.unique(pidx):
            sel = pidx == i
            k = int(np.argmax(t[sel]))
            ts, vs = t[sel], v[sel]
            best = ts[k]
            found[todo.pop(int(i))] = (int(best), float(vs[ts == best].max()))
    return found


def q11(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    ups = [e for e in st.building_equipment(p["building"]) if st.attrs[e].get("equipment_type") == "UPS"]
    pairs = {(u, e) for u in ups for e in st.downstream(u)}
    power = {e: st.points_of(e, quantity="power") for _, e in pairs}
    last = _last_values(ds, st, {pt for pts in power.values() for pt in pts}, epoch_us(p["end"]))
    rows = []
    for u, e in pairs:
        cands = [last[pt] for pt in power[e] if pt in last]
        val = max(cands)[1] if cands else None
        rows.append((u, e, st.attrs[e].get("equipment_type"), val))
    return rows


def q12(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    """Counts per equipment type; per domain, the mean of every sample of its power points, summed exactly
    (math.fsum) sample by sample, domain by domain: not the per-group array means the engines compute, so a
    slip in that reduction cannot agree with itself here."""
    lo, hi = _window(st, p)
    eq = st.building_equipment(p["building"])
    rows: list[tuple] = [("count", typ, n) for typ, n in Counter(st.attrs[e].get("equipment_type") for e in eq).items()]
    power_points: dict[str | None, set[str]] = {}
    for e in eq:
        power_points.setdefault(st.attrs[e].get("domain"), set()).update(st.points_of(e, quantity="power"))
    smp = load_samples(ds, st, {st.idx(pt) for pts in power_points.values() for pt in pts}, lo, hi)
    for dom in sorted(power_points, key=str):
        values = [x for pt in sorted(power_points[dom]) for x in smp.get(st.idx(pt))[1].tolist()]
        if values:
            rows.append(("mean_power", dom, math.fsum(values) / len(values)))
    return rows


def q13(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    lo, hi = _window(st, p)
    spaces = [s for s in st.of_type("Space") if st.attrs[s].get("space_type") == p["space_type"]]
    sp_pts = {s: {pt for e in st.pred("LOCATED_IN", s, "Equipment") for pt in st.zone_air_temp_points(e)}
              for s in spaces}
    smp = load_samples(ds, st, [st.idx(pt) for pts in sp_pts.values() for pt in pts], lo, hi)
    rows = []
    for s, pts in sp_pts.items():
        n = inside = 0
        for pt in pts:
            t, v = smp.get(st.idx(pt))
            secs = t // 1_000_000
            dow = (secs // 86_400 + 3) % 7  # 1970-01-01 was a Thursday: Monday = 0
            hour = (secs % 86_400) // 3600
            office = (dow < 5) & (hour >= 8) & (hour < 19)
            x = v[office]
            n += len(x)
            inside += int(np.count_nonzero((x >= 20.0) & (x <= 24.0)))
        if n:
            rows.append((s, inside / n, n))
    return rows


QUERIES: dict[str, Callable[[str, Structure, Mapping[str, Any]], list[tuple]]] = {
    "Q1": q1, "Q2": q2, "Q3": q3, "Q4": q4, "Q5": q5, "Q6": q6, "Q7": q7,
    "Q8": q8, "Q9": q9, "Q10": q10, "Q11": q11, "Q12": q12, "Q13": q13,
}


def answer(dataset_dir: Path | str, qid: str, params: Mapping[str, Any], overlay: Overlay | None = None,
           structure: Structure | None = None) -> list[tuple]:
    """Canonical answer of one query × binding (queries/README.md); with `overlay`, of the dataset after the
    appends and changes it holds (`structure`: its graph, `overlay.graph(...)`, when the caller has it)."""
    ds = str(Path(dataset_dir).resolve())
    st = structure if structure is not None else load_structure(ds)
    if overlay is not None and structure is None:
        st = overlay.graph(st)
    return canonical_for(qid, QUERIES[qid](ds, st, params))
