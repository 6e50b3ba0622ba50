"""Query parameter bindings drawn from the dataset itself, so every query has a non-empty answer.

Candidates are filtered through the same relationships the queries walk (meters that FEED something,
floors whose located equipment has temperature points, zones whose door points have events in the
window, …); draws use a seeded RNG so every scenario gets identical bindings.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from btb.dataset.format import series_files
from btb.dataset.graph import Graph
from btb.dataset.series import START_S, working_day

N_BINDINGS = 5
UNBOUND = "_unbound"  # bindings.json key: {qid: reason} for queries no binding can exist for in the model
NO_BINDING = "no binding in this model"
START = datetime.fromtimestamp(START_S, tz=timezone.utc)


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


def _window(rng: np.random.Generator, days: int, *, office_hours: bool = False) -> tuple[datetime, datetime]:
    """A window inside the span: 6 h–1 day for 1-day data, growing with the span (≤ ~1/4 of it)."""
    span_h = days * 24
    if days <= 1:
        length_h = int(rng.integers(6, 25))
    else:
        length_h = int(rng.integers(12, max(13, min(span_h // 4, 31 * 24)) + 1))
    if office_hours:  # start 06:00–08:00 on a weekday, long enough to cover 08–19
        weekdays = [d for d in range(days) if working_day(d)] or [d for d in range(days) if d % 7 < 5] or [0]
        d = int(rng.choice(weekdays))
        start = START + timedelta(days=d, hours=int(rng.integers(6, 9)))
        length_h = max(length_h, 14)
    else:
        start = START + timedelta(hours=int(rng.integers(0, max(1, span_h - length_h) + 1)))
    end = min(start + timedelta(hours=length_h), START + timedelta(days=days))
    return start, end


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
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0xB1D5])))

        def _pick(rng_, cands, k, qid: str = "", why: str = ""):  # noqa: ANN001 - shadows the module helper
            if not cands and allow_missing:
                self.unbound.setdefault(qid, f"{NO_BINDING}: {why}")
                return []
            return _pick_ids(rng_, cands, k)

        win = lambda **kw: dict(zip(("start", "end"), map(iso, _window(rng, days, **kw))))  # noqa: E731
        out: dict[str, list[dict]] = {}
        equipment = sorted(g.of_type("Equipment"))
        etype = lambda e: g.get(e, "equipment_type")  # noqa: E731

        meters = [e for e in equipment if etype(e) == "Meter" and g.downstream(e, electrical=True)]
        out["Q1"] = [{"meter": m} for m in _pick(rng, meters, n, "Q1", "no meter feeds any equipment")]

        serving = {e for e in equipment if g.succ("SERVES", e)}
        upstream = [e for e in equipment if e not in serving and set(g.downstream(e)) & serving]
        out["Q2"] = [{"equipment": e} for e in (_pick(rng, upstream, (n + 1) // 2, "Q2", "no equipment feeds equipment that serves a space")
                                                 if upstream or not allow_missing else []) + _pick(rng, sorted(serving), n // 2, "Q2", "no equipment serves a space")]

        spaces = [s for s in g.of_type("Space") if g.pred("LOCATED_IN", s) or g.pred("SERVES", s)]
        out["Q3"] = [{"space": s} for s in _pick(rng, spaces, n, "Q3", "no space has equipment located in or serving it")]

        def has_zat(equips) -> bool:
            return any(g.zone_air_temp_points(e) for e in equips)

        floors = [f for f in g.of_type("Floor") if has_zat(g.floor_equipment(f))]
        out["Q4"] = [{"floor": f} for f in _pick(rng, floors, n, "Q4", "no floor has a zone air temperature sensor on located equipment")]
        out["Q5"] = [{}]
        if allow_missing and not any(not g.succ("LOCATED_IN", e) for e in equipment) \
                and not any(not g.pred("HAS_POINT", p) for p in g.of_type("Point")):
            out["Q5"] = []  # a clean model: Q5 could only be checked on an empty answer
            self.unbound["Q5"] = f"{NO_BINDING}: no equipment without location and no point without equipment"

        regular = [p for p in g.of_type("Point") if g.get(p, "point_kind") == "sensor" and g.get(p, "interval_s") <= 300]
        self.q6 = [{"point": p, **win()} for p in _pick(rng, regular, 4 * n, "Q6", "no sensor sampled every 300 s or faster")]
        self.q6_idx = {p: g.idx(p) for p in (b["point"] for b in self.q6)}

        bldgs = sorted(g.of_type("Building"))
        out["Q7"] = [{"building": b, **win()} for b in _pick(rng, [b for b in bldgs if has_zat(g.building_equipment(b))], n, "Q7",
                                                               "no building has a zone air temperature sensor on located equipment")]

        tenants = [t for t in g.of_type("Tenant") if g.tenant_meter_points(t)]
        out["Q8"] = [{"tenant": t, **win()} for t in _pick(rng, tenants, n, "Q8", "no tenant with a tenant sub-meter")]
        out["Q9"] = [win() for _ in range(n)] if tenants or not allow_missing else []
        if not out["Q9"]:
            self.unbound["Q9"] = f"{NO_BINDING}: no tenant with a tenant sub-meter"

        self.zone_doors: dict[str, list[int]] = {}
        for z in sorted(g.of_type("Zone")):
            if g.get(z, "zone_kind") == "security":
                doors = [g.idx(p) for s in g.pred("IN_ZONE", z) for e in g.pred("LOCATED_IN", s)
                         if etype(e) == "AccessController" for p in g.points_of(e, quantity="door")]
                if doors:
                    self.zone_doors[z] = doors
        zones = list(self.zone_doors)  # every zone once (shuffled), then more tries with repeats
        tries = _pick(rng, zones, len(zones), "Q10", "no security zone with a door point") + _pick(rng, zones, 20 * n, "Q10", "no security zone with a door point")
        self.q10 = [{"zone": z, **win(office_hours=True)} for z in tries]

        def ups_ok(b: str) -> bool:
            return any(etype(d) in ("Server", "NetworkSwitch") and g.points_of(d, quantity="power")
                       for e in g.building_equipment(b) if etype(e) == "UPS" for d in g.downstream(e))

        out["Q11"] = [{"building": b, "end": win()["end"]} for b in _pick(rng, [b for b in bldgs if ups_ok(b)], n, "Q11",
                                                                            "no UPS feeding IT equipment with a power point")]
        q12 = [b for b in bldgs if g.building_equipment(b)] if allow_missing else bldgs  # generated: all have some
        out["Q12"] = [{"building": b, **win()} for b in _pick(rng, q12, n, "Q12", "no building with equipment located in its spaces")]

        stypes = sorted({g.get(s, "space_type") for s in g.of_type("Space") if has_zat(g.pred("LOCATED_IN", s))})
        preferred = [t for t in ("office", "meeting", "it_room", "corridor", "lobby") if t in stypes]
        out["Q13"] = [{"space_type": t, **win(office_hours=True)} for t in (preferred + _pick(rng, stypes, n, "Q13", "no space type with a zone air temperature sensor on located equipment"))[:n]]
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


