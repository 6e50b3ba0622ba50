"""What a generated building looks like, measured from its files: the shape table of docs/datasets.md
(`btb dataset shape DIR`) and the metering invariants the tests hold every scale to.

Structure metrics come from the graph alone; energy and alarm metrics read the meter and alarm series.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from btb.dataset.format import EDGES, NODES, Manifest
from btb.dataset.graph import Graph

OUTDOOR = "Outside_Air_Temperature_Sensor"


def _longest_chain(g: Graph, nodes: list[str], *, electrical: bool = False) -> int:
    """Longest FEEDS path (edges) starting anywhere among `nodes` (FEEDS is acyclic)."""
    memo: dict[str, int] = {}

    def depth(n: str) -> int:
        if n not in memo:
            if electrical and g.get(n, "domain") != "electrical":
                memo[n] = 0
            else:
                memo[n] = max((1 + depth(d) for d in g.out["FEEDS"].get(n, ())), default=0)
        return memo[n]

    return max((depth(n) for n in nodes), default=0)


def structure_shape(g: Graph) -> dict[str, object]:
    """Counts and distributions of the structure (one value per metric, documented in docs/datasets.md)."""
    equip = g.of_type("Equipment")
    etype = {e: g.get(e, "equipment_type") for e in equip}
    npts = {e: len(g.out["HAS_POINT"].get(e, ())) for e in equip}
    per_type: dict[str, list[int]] = defaultdict(list)
    for e in equip:
        per_type[etype[e]].append(npts[e])
    vav = per_type.get("VAV", [0])
    all_pts = list(npts.values())
    meters = [e for e in equip if etype[e] == "Meter"]
    buildings = g.of_type("Building")
    outdoor = Counter(b for b in buildings for e in g.building_equipment(b) for p in g.points_of(e, brick_class=OUTDOOR))
    ahus = [e for e in equip if etype[e] == "AHU"]
    vavs = [e for e in equip if etype[e] == "VAV"]
    hvac_zones = [z for z in g.of_type("Zone") if g.get(z, "zone_kind") == "hvac"]
    feeds = sum(len(v) for v in g.out["FEEDS"].values())
    roots = [e for e in meters if g.get(e, "meter_role") == "main"]
    return {
        "buildings": len(buildings),
        "floors": len(g.of_type("Floor")),
        "spaces": len(g.of_type("Space")),
        "equipment": len(equip),
        "points": len(g.of_type("Point")),
        "points per equipment mean / median / max": (round(statistics.mean(all_pts), 2),
                                                     statistics.median(all_pts), max(all_pts)),
        "points per VAV mean / min / max": (round(statistics.mean(vav), 2), min(vav), max(vav)),
        "points per equipment type (mean)": {k: round(statistics.mean(v), 2) for k, v in sorted(per_type.items())},
        "equipment per type": {k: len(v) for k, v in sorted(per_type.items())},
        "FEEDS edges per equipment": round(feeds / max(1, len(equip)), 2),
        "longest FEEDS chain (all domains)": _longest_chain(g, equip),
        "electrical tree depth (main meter to load)": _longest_chain(g, roots, electrical=True),
        "VAV per AHU": round(len(vavs) / max(1, len(ahus)), 2),
        "HVAC zones per VAV": round(len(hvac_zones) / max(1, len(vavs)), 2),
        "outdoor-air temperature points per building": sorted(set(outdoor[b] for b in buildings)),
        "meters per role": dict(sorted(Counter(g.get(m, "meter_role") for m in meters).items())),
        "tenants": len(g.of_type("Tenant")),
    }


def load_graph(directory: Path | str) -> Graph:
    d = Path(directory)
    return Graph.from_tables(pq.read_table(d / NODES), pq.read_table(d / EDGES))


def _series_of(directory: Path, idx: set[int]) -> dict[int, np.ndarray]:
    """Values of some points over the whole dataset, time-ordered, per point_idx."""
    from btb.dataset.format import series_files

    want = np.array(sorted(idx), dtype=np.int32)
    parts_p, parts_t, parts_v = [], [], []
    for f in series_files(directory):
        t = pq.read_table(f, columns=["point_idx", "time", "value"], filters=[("point_idx", "in", want.tolist())])
        parts_p.append(t.column("point_idx").to_numpy())
        parts_t.append(t.column("time").cast(pa.int64()).to_numpy())
        parts_v.append(t.column("value").to_numpy())
    if not parts_p:
        return {}
    p, tm, v = np.concatenate(parts_p), np.concatenate(parts_t), np.concatenate(parts_v)
    o = np.lexsort((tm, p))
    p, v = p[o], v[o]
    cuts = np.flatnonzero(np.diff(p)) + 1
    return {int(p[a]): v[a:b] for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(p)])}


def energy_balance(directory: Path | str, g: Graph | None = None) -> dict[str, object]:
    """Metering invariants over the whole span of a dataset.

    - per meter: energy = last − first register; children = Σ energy of its child meters (FEEDS)
    - register vs its power point: (last − first) vs Σ power × interval over the samples after the first
    - tenant meters: Σ over every tenant vs the main meters
    """
    d = Path(directory)
    g = g or load_graph(d)
    interval_h = 900 / 3600.0
    meters = [e for e in g.of_type("Equipment") if g.get(e, "equipment_type") == "Meter"]
    reg = {m: next(iter(g.points_of(m, brick_class="Electric_Energy_Sensor")), None) for m in meters}
    pwr = {m: next(iter(g.points_of(m, brick_class="Electric_Power_Sensor")), None) for m in meters}
    idx = {g.idx(p) for p in [*reg.values(), *pwr.values()] if p}
    series = _series_of(d, idx)
    energy, integral = {}, {}
    for m in meters:
        r = series.get(g.idx(reg[m])) if reg[m] else None
        pw = series.get(g.idx(pwr[m])) if pwr[m] else None
        if r is not None and len(r) >= 2:
            energy[m] = float(r[-1] - r[0])
        if pw is not None and len(pw) >= 2:
            integral[m] = float(np.sum(pw[1:], dtype=np.float64) * interval_h)
    child_ratio, slack = {}, {}
    for m in meters:
        kids = [k for k in g.out["FEEDS"].get(m, ()) if k in energy]
        if kids and m in energy:
            s = sum(energy[k] for k in kids)
            child_ratio[m] = s / energy[m]
            slack[m] = energy[m] - s
    reg_err = {m: abs(energy[m] - integral[m]) / integral[m] for m in energy if m in integral and integral[m] > 0}
    main = sum(energy[m] for m in meters if g.get(m, "meter_role") == "main" and m in energy)
    tenant = sum(energy[m] for m in meters if g.get(m, "meter_role") == "tenant" and m in energy)
    # resolution: the smallest register step a float64 keeps at the largest register value
    top = max((float(series[g.idx(reg[m])].max()) for m in meters if reg[m] and g.idx(reg[m]) in series), default=0)
    return {
        "meters": len(meters),
        "children / parent energy, max": max(child_ratio.values(), default=0.0),
        "children / parent energy, min": min(child_ratio.values(), default=0.0),
        "parent − children, min kWh": min(slack.values(), default=0.0),
        "main unmetered share": 1 - child_ratio.get(next((m for m in meters if g.get(m, "meter_role") == "main"),
                                                         ""), 1.0),
        "register vs ∫power, max relative error": max(reg_err.values(), default=0.0),
        "tenant meters Σ / main meters": tenant / main if main else 0.0,
        "largest register kWh": top,
        "register resolution at largest value kWh": float(np.spacing(np.float64(top))) if top else 0.0,
        "_energy": energy,
        "_child_ratio": child_ratio,
        "_reg_err": reg_err,
    }


def alarm_activity(directory: Path | str, g: Graph | None = None) -> dict[str, object]:
    """Share of alarm points that fire at least once, and events per alarm point per day."""
    d = Path(directory)
    g = g or load_graph(d)
    alarms = [p for p in g.of_type("Point") if g.get(p, "point_kind") == "alarm"]
    series = _series_of(d, {g.idx(p) for p in alarms})
    days = max(1, Manifest.read(d).days)
    fired = [int(np.count_nonzero(series.get(g.idx(p), np.empty(0)) == 1)) for p in alarms]
    return {"alarm points": len(alarms),
            "alarm points that fire": round(sum(1 for f in fired if f) / max(1, len(alarms)), 3),
            "alarm events per point per day": round(sum(fired) / max(1, len(alarms)) / days, 3)}
