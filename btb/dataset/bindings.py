"""Query parameter bindings drawn from the dataset itself, so every query has a non-empty answer.

Candidates are filtered through the same relationships the queries walk (meters that FEED something,
floors whose located equipment has temperature points, zones whose door points have events in the
window, …); draws use a seeded RNG so every scenario gets identical bindings.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from btb.dataset.format import series_files
from btb.dataset.graph import Graph
from btb.dataset.windows import ROLES, START, window  # noqa: F401 - START: the generator imports it here

# Bump when the bindings a dataset draws change (windows, candidates, RNG order). Recorded in the manifest
# (generator.bindings_revision; absent = 1): btb.dataset.integrity refuses a dataset of another revision
# (its stored bindings would mix with answers and reports of this one), ensure_dataset regenerates it.
# 2: windows by role (btb.dataset.windows): dashboards on the recent hours, reports over weeks/months
BINDINGS_REVISION = 2
N_BINDINGS = 5
UNBOUND = "_unbound"  # bindings.json key: {qid: reason} for queries no binding can exist for in the model
NO_BINDING = "no binding in this model"


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Samples:
    """Samples of a set of points, read once: only row groups whose point_idx statistics overlap the
    set are read (day files are sorted by point_idx, so a contiguous group of points is 1–2 row groups)."""

    def __init__(self, directory: Path, idx: set[int], value: float | None = None):
        lo, hi = min(idx), max(idx)
        want = np.array(sorted(idx), dtype=np.int32)
        ps, ts = [], []
        for f in series_files(directory):
            pf = pq.ParquetFile(f)
            col = pf.schema_arrow.get_field_index("point_idx")
            for rg in range(pf.num_row_groups):
                st = pf.metadata.row_group(rg).column(col).statistics
                if st is not None and st.has_min_max and (st.max < lo or st.min > hi):
                    continue
                t = pf.read_row_group(rg, columns=["point_idx", "time", "value"])
                p = t.column("point_idx").to_numpy()
                m = np.isin(p, want)
                if value is not None:
                    m &= t.column("value").to_numpy() == value
                ps.append(p[m])
                ts.append(t.column("time").cast(pa.int64()).to_numpy()[m])
        self.p = np.concatenate(ps) if ps else np.empty(0, np.int32)
        self.t = np.concatenate(ts) if ts else np.empty(0, np.int64)

    @classmethod
    def from_arrays(cls, parts: list[tuple[np.ndarray, np.ndarray]]) -> "_Samples":
        self = cls.__new__(cls)
        self.p = np.concatenate([p for p, _ in parts]) if parts else np.empty(0, np.int32)
        self.t = np.concatenate([t for _, t in parts]) if parts else np.empty(0, np.int64)
        return self

    def any_in(self, idx: list[int], start: str, end: str) -> bool:
        s, e = (int(_parse(x).timestamp()) * 1_000_000 for x in (start, end))
        m = np.isin(self.p, idx) & (self.t >= s) & (self.t < e)
        return bool(m.any())


def _parse(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _pick_ids(rng: np.random.Generator, cands: list[str], n: int) -> list[str]:
    """n distinct candidates when possible; with fewer, every candidate before any repeats (so bindings
    spread over all buildings of a 3-building dataset; a 1-building dataset has 1 building)."""
    if not cands:
        raise ValueError("no candidate ids for a binding")
    cands = sorted(set(cands))
    if len(cands) >= n:
        return [cands[i] for i in rng.choice(len(cands), size=n, replace=False)]
    rounds = -(-n // len(cands))
    return [cands[i] for _ in range(rounds) for i in rng.permutation(len(cands))][:n]


class _Draw:
    """The graph, seeded RNG and options of one draw, and the picks every query's candidates go through.
    The query groups below use it in BindingDraw's fixed order: that order of RNG draws is the content."""

    def __init__(self, g: Graph, seed: int, days: int, n: int, allow_missing: bool, unbound: dict[str, str]):
        self.g, self.days, self.n, self.allow_missing, self.unbound = g, days, n, allow_missing, unbound
        self.rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0xB1D5])))
        self.equipment = sorted(g.of_type("Equipment"))
        self.buildings = sorted(g.of_type("Building"))

    def pick(self, cands: list[str], k: int, qid: str = "", why: str = "") -> list[str]:
        """_pick_ids, or (imported models) no binding and the reason when there is no candidate."""
        if not cands and self.allow_missing:
            self.unbound.setdefault(qid, f"{NO_BINDING}: {why}")
            return []
        return _pick_ids(self.rng, cands, k)

    def win(self, qid: str, **kw: bool) -> dict[str, str]:
        """A window for `qid`, of its role (ROLES: recent for dashboards, history for reports)."""
        return dict(zip(("start", "end"), map(iso, window(self.rng, self.days, ROLES[qid], **kw))))

    def etype(self, e: str) -> str | None:
        return self.g.get(e, "equipment_type")

    def has_zat(self, equips) -> bool:  # noqa: ANN001 - any iterable of equipment ids
        return any(self.g.zone_air_temp_points(e) for e in equips)


def _structure_queries(d: _Draw) -> dict[str, list[dict]]:
    """Q1–Q5: meters that feed, equipment upstream of or serving a space, served spaces, floors with
    zone air temperature points, and Q5's one empty binding (none for a clean imported model)."""
    g, n, out = d.g, d.n, {}
    meters = [e for e in d.equipment if d.etype(e) == "Meter" and g.downstream(e, electrical=True)]
    out["Q1"] = [{"meter": m} for m in d.pick(meters, n, "Q1", "no meter feeds any equipment")]
    serving = {e for e in d.equipment if g.succ("SERVES", e)}
    upstream = [e for e in d.equipment if e not in serving and set(g.downstream(e)) & serving]
    q2 = d.pick(upstream, (n + 1) // 2, "Q2", "no equipment feeds equipment that serves a space") \
        if upstream or not d.allow_missing else []
    out["Q2"] = [{"equipment": e} for e in q2 + d.pick(sorted(serving), n // 2, "Q2", "no equipment serves a space")]
    spaces = [s for s in g.of_type("Space") if g.pred("LOCATED_IN", s) or g.pred("SERVES", s)]
    out["Q3"] = [{"space": s} for s in d.pick(spaces, n, "Q3", "no space has equipment located in or serving it")]
    floors = [f for f in g.of_type("Floor") if d.has_zat(g.floor_equipment(f))]
    out["Q4"] = [{"floor": f} for f in d.pick(floors, n, "Q4",
                                              "no floor has a zone air temperature sensor on located equipment")]
    out["Q5"] = [{}]
    if d.allow_missing and not any(not g.succ("LOCATED_IN", e) for e in d.equipment) \
            and not any(not g.pred("HAS_POINT", p) for p in g.of_type("Point")):
        out["Q5"] = []  # a clean model: Q5 could only be checked on an empty answer
        d.unbound["Q5"] = f"{NO_BINDING}: no equipment without location and no point without equipment"
    return out


def _q6_candidates(d: _Draw) -> list[dict]:
    """4n sensors sampled every 300 s or faster, each with a window (finalize keeps n with samples)."""
    regular = [p for p in d.g.of_type("Point")
               if d.g.get(p, "point_kind") == "sensor" and d.g.get(p, "interval_s") <= 300]
    return [{"point": p, **d.win("Q6")} for p in d.pick(regular, 4 * d.n, "Q6", "no sensor sampled every 300 s or faster")]


def _building_queries(d: _Draw) -> dict[str, list[dict]]:
    """Q7–Q9: buildings with zone air temperature points, tenants with a sub-meter, Q9's windows."""
    g, n, out = d.g, d.n, {}
    zat_bldgs = [b for b in d.buildings if d.has_zat(g.building_equipment(b))]
    out["Q7"] = [{"building": b, **d.win("Q7")} for b in d.pick(
        zat_bldgs, n, "Q7", "no building has a zone air temperature sensor on located equipment")]
    tenants = [t for t in g.of_type("Tenant") if g.tenant_meter_points(t)]
    out["Q8"] = [{"tenant": t, **d.win("Q8")} for t in d.pick(tenants, n, "Q8", "no tenant with a tenant sub-meter")]
    out["Q9"] = [d.win("Q9") for _ in range(n)] if tenants or not d.allow_missing else []
    if not out["Q9"]:
        d.unbound["Q9"] = f"{NO_BINDING}: no tenant with a tenant sub-meter"
    return out


def _door_zones(d: _Draw) -> dict[str, list[int]]:
    """Security zone -> point_idx of the door points of its access controllers (zones with some)."""
    g, zone_doors = d.g, {}
    for z in sorted(g.of_type("Zone")):
        if g.get(z, "zone_kind") == "security":
            doors = [g.idx(p) for s in g.pred("IN_ZONE", z) for e in g.pred("LOCATED_IN", s)
                     if d.etype(e) == "AccessController" for p in g.points_of(e, quantity="door")]
            if doors:
                zone_doors[z] = doors
    return zone_doors


def _q10_candidates(d: _Draw, zones: list[str]) -> list[dict]:
    """Every zone once (shuffled), then more tries with repeats, each with an office-hours window."""
    why = "no security zone with a door point"
    tries = d.pick(zones, len(zones), "Q10", why) + d.pick(zones, 20 * d.n, "Q10", why)
    return [{"zone": z, **d.win("Q10", office_hours=True)} for z in tries]


def _it_and_space_queries(d: _Draw) -> dict[str, list[dict]]:
    """Q11–Q13: buildings whose UPS feeds IT equipment with a power point, buildings with equipment,
    space types with zone air temperature points (the usual ones first)."""
    g, n, out = d.g, d.n, {}

    def ups_ok(b: str) -> bool:
        return any(d.etype(x) in ("Server", "NetworkSwitch") and g.points_of(x, quantity="power")
                   for e in g.building_equipment(b) if d.etype(e) == "UPS" for x in g.downstream(e))

    out["Q11"] = [{"building": b, "end": d.win("Q11")["end"]} for b in d.pick(
        [b for b in d.buildings if ups_ok(b)], n, "Q11", "no UPS feeding IT equipment with a power point")]
    q12 = [b for b in d.buildings if g.building_equipment(b)] if d.allow_missing else d.buildings  # generated: all
    out["Q12"] = [{"building": b, **d.win("Q12")} for b in d.pick(q12, n, "Q12", "no building with equipment located in its spaces")]
    stypes = sorted({g.get(s, "space_type") for s in g.of_type("Space") if d.has_zat(g.pred("LOCATED_IN", s))})
    preferred = [t for t in ("office", "meeting", "it_room", "corridor", "lobby") if t in stypes]
    drawn = d.pick(stypes, n, "Q13", "no space type with a zone air temperature sensor on located equipment")
    out["Q13"] = [{"space_type": t, **d.win("Q13", office_hours=True)} for t in (preferred + drawn)[:n]]
    return out


class BindingDraw:
    """Two phases so the graph work can overlap series generation: __init__ draws every candidate
    (all RNG use happens here, in a fixed order); finalize() keeps the ones the series confirm.

    `allow_missing` (imported models): a query with no candidate gets no binding and a reason in
    `unbound` ("no binding in this model: …") instead of an error; generated datasets keep it False, so
    their RNG use and bytes do not change."""

    def __init__(self, nodes: pa.Table, edges: pa.Table, seed: int, days: int, n: int = N_BINDINGS,
                 allow_missing: bool = False):
        g = Graph.from_tables(nodes, edges)
        self.n = n
        self.allow_missing = allow_missing
        self.unbound: dict[str, str] = {}
        d = _Draw(g, seed, days, n, allow_missing, self.unbound)
        out = _structure_queries(d)
        self.q6 = _q6_candidates(d)
        self.q6_idx = {p: g.idx(p) for p in (b["point"] for b in self.q6)}
        out |= _building_queries(d)
        self.zone_doors = _door_zones(d)
        self.q10 = _q10_candidates(d, list(self.zone_doors))
        out |= _it_and_space_queries(d)
        self.out = out

    def finalize(self, directory: Path, *, regular: bool = True,
                 door_opens: list[tuple[np.ndarray, np.ndarray]] | None = None) -> dict[str, list[dict]]:
        """Keep the first n Q6/Q10 candidates whose windows hold samples (Q10: door openings).

        `regular=True` (no deadband) means every sensor point has a sample every interval, so Q6's
        windows (≥ 6 h) cannot be empty and reading the series to prove it is skipped. `door_opens`:
        the (point_idx, time) of every door sample with value 1, when the caller has them (the generator
        collects them while writing), instead of reading them back.
        """
        out = dict(self.out)
        out.setdefault("Q6", [])
        if regular:
            out["Q6"] = self.q6[: self.n]
        elif self.q6_idx:
            s6 = _Samples(directory, set(self.q6_idx.values()))
            out["Q6"] = [b for b in self.q6 if s6.any_in([self.q6_idx[b["point"]]], b["start"], b["end"])][: self.n]
        doors = {i for d in self.zone_doors.values() for i in d}
        s10 = (_Samples.from_arrays(door_opens) if door_opens is not None or not doors
               else _Samples(directory, doors, value=1.0))
        ok = [b for b in self.q10 if s10.any_in(self.zone_doors[b["zone"]], b["start"], b["end"])]
        seen: set[str] = set()
        distinct = [b for b in ok if not (b["zone"] in seen or seen.add(b["zone"]))]  # first hit per zone
        out["Q10"] = (distinct + [b for b in ok if b not in distinct])[: self.n]
        for q in ("Q6", "Q10"):
            if len(out[q]) < 3 and not (self.allow_missing and (q in self.unbound or out[q])):
                if self.allow_missing:
                    self.unbound[q] = f"{NO_BINDING}: no {'sensor' if q == 'Q6' else 'door'} samples in any drawn window"
                    continue
                raise ValueError(f"could not find {q} bindings with samples in their windows")
        res = {q: out[q] for q in (f"Q{i}" for i in range(1, 14))}
        for q in self.unbound:
            res[q] = []
        if self.unbound:  # only imported models have this key: generated datasets keep their bytes
            res[UNBOUND] = dict(sorted(self.unbound.items()))
        return res


def draw_bindings(nodes: pa.Table, edges: pa.Table, directory: Path, seed: int, days: int,
                  n: int = N_BINDINGS, *, regular: bool = True) -> dict[str, list[dict]]:
    """Bindings for Q1–Q13 (Q5: one empty binding), checked against the series where it matters."""
    return BindingDraw(nodes, edges, seed, days, n).finalize(directory, regular=regular)


