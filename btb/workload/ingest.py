"""The ingest workload: a building that keeps reporting after its dataset ends.

Every point goes on sampling at its own `interval_s`, continuing from its last stored sample, on a
simulated clock that runs `speedup` times faster than the wall clock. Points report through gateways (one
per floor, as BACnet/IP routers or IoT gateways usually are, or one per equipment): every gateway sends
what its points sampled since its last batch every `batch_interval_s` wall seconds, gateways staggered over
the interval so batches arrive evenly. A stated share of the operations are structure changes (a point
renamed or re-homed to another equipment, an equipment moved to another space, a new equipment with a zone
temperature sensor that reports from then on). Everything is drawn from one seeded generator, so a
(dataset, spec) pair gives the same operations on every run and machine.

Values follow the point's kind: cumulative energy registers only grow, event series (status, alarm, door)
toggle rarely and only report changes, other sensors revert to the level they ended the dataset at with
seeded noise; values are float32 numbers, as the dataset's are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal, Union

import numpy as np
import pyarrow.parquet as pq

from btb.dataset.changes import AddEquipment, Change, MoveEquipment, MovePoint, RenamePoint, SampleBatch, apply_change
from btb.dataset.format import EDGES, NODES, US_PER_DAY, Manifest, epoch_us, series_files
from btb.dataset.graph import Graph

EVENT_KINDS = ("status", "alarm")
CHANGE_KINDS = ("rename_point", "move_point", "move_equipment", "add_equipment")
CHANGE_WEIGHTS = (0.4, 0.2, 0.2, 0.2)
TOGGLE_P = 0.05  # chance an event point changes state in one interval


@dataclass(frozen=True)
class IngestSpec:
    """How the building reports: the rate (its own sampling × `speedup`), batching and changes."""

    speedup: float = 60.0  # simulated seconds per wall second
    batch_interval_s: float = 1.0  # wall seconds between two batches of one gateway
    gateway: Literal["floor", "equipment"] = "floor"
    metadata_share: float = 0.02  # share of operations that are structure changes, in [0, 1)
    duration_s: float = 10.0  # wall seconds of operations
    seed: int = 1

    def __post_init__(self) -> None:
        checks = {"speedup": self.speedup > 0, "batch_interval_s": self.batch_interval_s > 0,
                  "duration_s": self.duration_s > 0, "metadata_share": 0 <= self.metadata_share < 1}
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"ingest spec: {', '.join(bad)} out of range (speedup, batch_interval_s, duration_s > 0; "
                             "0 <= metadata_share < 1)")


@dataclass(frozen=True)
class IngestOp:
    """One operation and its intended start (seconds from the workload's start, open loop)."""

    at_s: float
    op: Union[SampleBatch, Change]


@dataclass
class _Point:
    idx: int
    kind: str  # "meter", "event", "level"
    interval_us: int
    next_us: int
    value: float
    level: float


@dataclass
class _Gateway:
    name: str
    points: list[_Point] = field(default_factory=list)


def _last_samples(dataset_dir: Path) -> dict[int, tuple[int, float]]:
    """idx -> (time_us, value) of each point's last stored sample (latest day files first)."""
    out: dict[int, tuple[int, float]] = {}
    for f in reversed(series_files(dataset_dir)):
        t = pq.read_table(f, columns=["point_idx", "time", "value"])
        p = t.column("point_idx").to_numpy()
        ts = t.column("time").cast("int64").to_numpy()
        vs = t.column("value").to_numpy()
        last = np.flatnonzero(np.r_[np.diff(p) != 0, True])  # sorted by (point_idx, time): each point's last row
        for i in last:
            out.setdefault(int(p[i]), (int(ts[i]), float(vs[i])))
    return out


def _kind(attrs: dict) -> str:
    if attrs.get("quantity") == "energy" or attrs.get("point_kind") == "meter":
        return "meter"
    if attrs.get("point_kind") in EVENT_KINDS or attrs.get("quantity") == "door":
        return "event"
    return "level"


class IngestGenerator:
    """The operations of one ingest workload over one dataset (`ops()`), and the ids behind its indexes."""

    def __init__(self, dataset_dir: Path | str, spec: IngestSpec):
        self.dataset_dir = Path(dataset_dir)
        self.spec = spec
        m = Manifest.read(self.dataset_dir)
        self.end_us = epoch_us(m.start) + m.days * US_PER_DAY
        self.graph = Graph.from_tables(pq.read_table(self.dataset_dir / NODES), pq.read_table(self.dataset_dir / EDGES),
                                       start_us=epoch_us(m.start), days=m.days)
        self.rng = np.random.default_rng(spec.seed)
        self.id_of: dict[int, str] = {self.graph.idx(p): p for p in self.graph.of_type("Point")}
        self._next_idx = max(self.id_of, default=-1) + 1
        self._added = 0
        self.gateways = self._gateways(_last_samples(self.dataset_dir))

    # --- set-up -------------------------------------------------------------------------------------
    def _gateway_of(self, point: str) -> str:
        eq = self.graph.pred("HAS_POINT", point)
        if self.spec.gateway == "equipment":
            return f"gw:{eq[0]}" if eq else "gw:unassigned"
        for e in eq:
            for s in self.graph.succ("LOCATED_IN", e):
                floors = self.graph.pred("CONTAINS", s, "Floor")
                if floors:
                    return f"gw:{floors[0]}"
        return "gw:unplaced"

    def _point(self, point: str, last: tuple[int, float] | None) -> _Point:
        a = self.graph.attrs[point]
        iv = int(a.get("interval_s") or 300) * 1_000_000
        t, v = last if last is not None else (self.end_us - iv, 0.0)
        # the next sample after the stored ones, and no earlier than the dataset's end (an event series whose
        # last event was hours ago does not replay the hours in between)
        return _Point(self.graph.idx(point), _kind(a), iv, max(t + iv, self.end_us), v, v)

    def _gateways(self, last: dict[int, tuple[int, float]]) -> list[_Gateway]:
        by: dict[str, _Gateway] = {}
        for p in sorted(self.graph.of_type("Point"), key=self.graph.idx):
            name = self._gateway_of(p)
            by.setdefault(name, _Gateway(name)).points.append(self._point(p, last.get(self.graph.idx(p))))
        return [by[k] for k in sorted(by)]

    # --- samples ------------------------------------------------------------------------------------
    def _sample(self, pt: _Point, until_us: int) -> tuple[list[int], list[float]]:
        times: list[int] = []
        values: list[float] = []
        while pt.next_us <= until_us:
            t = pt.next_us
            pt.next_us += pt.interval_us
            if pt.kind == "event":
                if self.rng.random() >= TOGGLE_P:
                    continue
                pt.value = 0.0 if pt.value else 1.0
            elif pt.kind == "meter":
                pt.value = float(np.float32(pt.value + self.rng.gamma(2.0, 0.05) * pt.interval_us / 3.6e9))
            else:
                scale = max(0.02 * abs(pt.level), 0.05)
                pt.value = float(np.float32(pt.value + 0.2 * (pt.level - pt.value) + self.rng.normal(0, scale)))
            times.append(t)
            values.append(pt.value)
        return times, values

    def _batch(self, gw: _Gateway, until_us: int) -> SampleBatch:
        idx: list[int] = []
        ts: list[int] = []
        vs: list[float] = []
        for pt in gw.points:
            t, v = self._sample(pt, until_us)
            idx += [pt.idx] * len(t)
            ts += t
            vs += v
        return SampleBatch(gw.name, np.asarray(idx, np.int32), np.asarray(ts, np.int64), np.asarray(vs, np.float64))

    # --- structure changes --------------------------------------------------------------------------
    def _pick(self, typ: str) -> str:
        nodes = sorted(self.graph.of_type(typ))
        return nodes[int(self.rng.integers(len(nodes)))]

    def _change(self) -> Change:
        kind = CHANGE_KINDS[int(self.rng.choice(len(CHANGE_KINDS), p=CHANGE_WEIGHTS))]
        if kind == "rename_point":
            p = self._pick("Point")
            return RenamePoint(p, f"{self.graph.attrs[p].get('name')}~{int(self.rng.integers(1_000_000))}")
        if kind == "move_point":
            return MovePoint(self._pick("Point"), self._pick("Equipment"))
        if kind == "move_equipment":
            return MoveEquipment(self._pick("Equipment"), self._pick("Space"))
        return self._new_equipment()

    def _new_equipment(self) -> AddEquipment:
        self._added += 1
        eid = f"equip:live:{self.spec.seed}:{self._added}"
        point = {"id": f"point:live:{self.spec.seed}:{self._added}:zone_temp", "name": "zone_temp",
                 "point_kind": "sensor", "quantity": "temperature", "unit": "degC", "interval_s": 300,
                 "point_idx": self._next_idx, "brick_class": "Zone_Air_Temperature_Sensor"}
        self._next_idx += 1
        return AddEquipment({"id": eid, "name": eid.removeprefix("equip:"), "equipment_type": "VAV", "domain": "hvac",
                             "meter_role": None, "brick_class": "VAV"}, self._pick("Space"), (point,))

    def _adopt(self, change: Change, now_us: int) -> None:
        """The generator's own view follows its changes; a new point reports from now on."""
        apply_change(self.graph, change)
        if isinstance(change, AddEquipment):
            for p in change.points:
                self.id_of[int(p["point_idx"])] = p["id"]
                pt = _Point(int(p["point_idx"]), "level", 300_000_000, now_us, 21.5, 21.5)
                name = self._gateway_of(p["id"])
                gw = next((g for g in self.gateways if g.name == name), None)
                if gw is None:
                    gw = _Gateway(name)
                    self.gateways.append(gw)
                gw.points.append(pt)

    # --- the operations -----------------------------------------------------------------------------
    def sim_us(self, at_s: float) -> int:
        """The building's clock at a wall offset: the dataset's end plus `speedup` × the offset."""
        return self.end_us + int(round(at_s * self.spec.speedup * 1_000_000))

    def ops(self) -> Iterator[IngestOp]:
        """Batches in order of intended start; after a batch, a structure change with the chance that makes
        `metadata_share` of all operations changes."""
        s = self.spec
        q = s.metadata_share / (1 - s.metadata_share)
        rounds = math.ceil(s.duration_s / s.batch_interval_s)
        for j in range(rounds):
            gws = list(self.gateways)
            for k, gw in enumerate(gws):
                at = (j + k / len(gws)) * s.batch_interval_s
                if at >= s.duration_s:
                    return
                now = self.sim_us(at)
                yield IngestOp(at, self._batch(gw, now))
                if q and self.rng.random() < q:
                    change = self._change()
                    self._adopt(change, now)
                    yield IngestOp(at, change)

    def offered_samples_per_s(self) -> float:
        """Samples per wall second the building offers: Σ over points of speedup / interval (events: × TOGGLE_P)."""
        total = 0.0
        for gw in self.gateways:
            for pt in gw.points:
                rate = self.spec.speedup * 1_000_000 / pt.interval_us
                total += rate * (TOGGLE_P if pt.kind == "event" else 1.0)
        return total
