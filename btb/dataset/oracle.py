"""The reference answers of Q1–Q13, computed in plain Python/numpy straight from the dataset files.

It is deliberately independent of every engine (no SQL, no graph library) so that `btb validate` has a
judge that shares no code path with what it judges. Structure is loaded once per dataset directory;
series are streamed from the day files, reading only the days of the window and the points asked for
(row-group statistics skip the rest, because day files are sorted by point_idx), one batch at a time into
per-point accumulators (btb.dataset.oracle_scan): memory is bounded by the points a query asks about,
never by the samples, whatever the dataset's size.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pyarrow.parquet as pq

from btb.dataset.answers import canonical_for
from btb.dataset.changes import Overlay
from btb.dataset.format import EDGES, NODES, Manifest, epoch_us
from btb.dataset.graph import Graph
from btb.dataset.oracle_scan import ExactSum, Moments, last_before, moments_per_point, runs, scan

KELVIN = 273.15
Structure = Graph  # the oracle's view of the structure is the shared graph (btb.dataset.graph)


@lru_cache(maxsize=8)
def load_structure(dataset_dir: str) -> Structure:
    d = Path(dataset_dir)
    m = Manifest.read(d)
    return Graph.from_tables(pq.read_table(d / NODES), pq.read_table(d / EDGES), start_us=epoch_us(m.start),
                             days=m.days)


def _scan(ds: str, st: Structure, idxs: Iterable[int], lo: int, hi: int):
    """The samples of some points in [lo, hi), batch by batch (btb.dataset.oracle_scan): never all at once;
    with the samples appended after the dataset (an overlay's `st.appended`) after each day's file."""
    return scan(ds, st.start_us, st.days, idxs, lo, hi, appended=st.appended)


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
    hours: dict[int, Moments] = {}
    for _, t, v in _scan(ds, st, [st.idx(p["point"])], lo, hi):
        h = t // 3_600_000_000
        for hour, a, b in runs(h):
            hours.setdefault(hour, Moments()).add(v[a:b])
    return [(h * 3600, m.exact_mean(), m.lo, m.hi, m.n) for h, m in hours.items()]


def q7(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    lo, hi = _window(st, p)
    pts = {pt for e in st.building_equipment(p["building"]) for pt in st.zone_air_temp_points(e)}
    mom = moments_per_point(_scan(ds, st, [st.idx(x) for x in pts], lo, hi))
    rows = []
    for pt in pts:
        m = mom.get(st.idx(pt))
        if m is not None and m.n >= 2:
            rows.append((pt, m.stddev() / (m.exact_mean() + KELVIN)))
    rows.sort(key=lambda r: (-r[1], r[0]))
    return rows[:20]


def _deltas(ds: str, st: Structure, points: Iterable[str], lo: int, hi: int) -> dict[str, float]:
    points = list(points)
    mom = moments_per_point(_scan(ds, st, [st.idx(x) for x in points], lo, hi))
    out = {}
    for pt in points:
        m = mom.get(st.idx(pt))
        out[pt] = m.hi - m.lo if m is not None and m.n else 0.0
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
    opens: Counter[int] = Counter()
    for pi, _, v in _scan(ds, st, [st.idx(pt) for _, pt in pairs], lo, hi):
        for i, a, b in runs(pi):
            opens[i] += int(np.count_nonzero(v[a:b] == 1))
    return [(e, pt, opens[st.idx(pt)]) for e, pt in pairs]


def q11(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    ups = [e for e in st.building_equipment(p["building"]) if st.attrs[e].get("equipment_type") == "UPS"]
    pairs = {(u, e) for u in ups for e in st.downstream(u)}
    power = {e: st.points_of(e, quantity="power") for _, e in pairs}
    wanted = {pt for pts in power.values() for pt in pts}
    by_idx = last_before(ds, st.start_us, st.days, [st.idx(pt) for pt in wanted], epoch_us(p["end"]),
                         appended=st.appended)
    last = {pt: by_idx[st.idx(pt)] for pt in wanted if st.idx(pt) in by_idx}
    rows = []
    for u, e in pairs:
        cands = [last[pt] for pt in power[e] if pt in last]
        val = max(cands)[1] if cands else None
        rows.append((u, e, st.attrs[e].get("equipment_type"), val))
    return rows


def q12(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    """Counts per equipment type; per domain, the mean of every sample of its power points, summed exactly
    (math.fsum per run, runs combined in Shewchuk partials), domain by domain: not the per-group array means
    the engines compute, so a slip in that reduction cannot agree with itself here."""
    lo, hi = _window(st, p)
    eq = st.building_equipment(p["building"])
    rows: list[tuple] = [("count", typ, n) for typ, n in Counter(st.attrs[e].get("equipment_type") for e in eq).items()]
    domains_of: dict[int, set[str | None]] = {}
    for e in eq:
        for pt in st.points_of(e, quantity="power"):
            domains_of.setdefault(st.idx(pt), set()).add(st.attrs[e].get("domain"))
    sums: dict[str | None, ExactSum] = {}
    counts: Counter[str | None] = Counter()
    for pi, _, v in _scan(ds, st, domains_of, lo, hi):
        for i, a, b in runs(pi):
            run_sum = math.fsum(v[a:b].tolist())
            for dom in domains_of[i]:
                sums.setdefault(dom, ExactSum()).add(run_sum)
                counts[dom] += b - a
    for dom in sorted(sums, key=str):
        rows.append(("mean_power", dom, sums[dom].value() / counts[dom]))
    return rows


def q13(ds: str, st: Structure, p: Mapping[str, Any]) -> list[tuple]:
    lo, hi = _window(st, p)
    spaces = [s for s in st.of_type("Space") if st.attrs[s].get("space_type") == p["space_type"]]
    spaces_of: dict[int, set[str]] = {}
    for s in spaces:
        for pt in {pt for e in st.pred("LOCATED_IN", s, "Equipment") for pt in st.zone_air_temp_points(e)}:
            spaces_of.setdefault(st.idx(pt), set()).add(s)
    n: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    for pi, t, v in _scan(ds, st, spaces_of, lo, hi):
        secs = t // 1_000_000
        dow = (secs // 86_400 + 3) % 7  # 1970-01-01 was a Thursday: Monday = 0
        hour = (secs % 86_400) // 3600
        office = (dow < 5) & (hour >= 8) & (hour < 19)
        ok = office & (v >= 20.0) & (v <= 24.0)
        for i, a, b in runs(pi):
            for s in spaces_of[i]:
                n[s] += int(np.count_nonzero(office[a:b]))
                inside[s] += int(np.count_nonzero(ok[a:b]))
    return [(s, inside[s] / n[s], n[s]) for s in spaces if n[s]]


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
