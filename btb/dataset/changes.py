"""What a live building sends after the dataset ends: new samples and structure changes, and the overlay
that keeps the oracle's answers true once they are written.

The records are plain dataclasses shared by the ingest workload (which makes them), every scenario's write
path (which stores them) and the oracle (which judges the answers after them), so all three read one
meaning. The overlay holds what was *committed*, in memory, beside the dataset: the dataset's Parquet files
and their fingerprint stay as generated.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from btb.dataset.format import US_PER_DAY
from btb.dataset.graph import Graph

EQUIPMENT_KEYS = ("id", "name", "equipment_type", "domain", "meter_role", "brick_class")
POINT_KEYS = ("id", "name", "point_kind", "quantity", "unit", "interval_s", "point_idx", "brick_class")


@dataclass(frozen=True)
class SampleBatch:
    """Samples one gateway reports at once: parallel arrays, each point's samples in time order."""

    gateway: str
    point_idx: np.ndarray  # int32
    time_us: np.ndarray  # int64, UTC microseconds
    value: np.ndarray  # float64

    def __post_init__(self) -> None:
        n = len(self.point_idx)
        if len(self.time_us) != n or len(self.value) != n:
            raise ValueError(f"batch of {self.gateway}: point_idx, time_us and value differ in length "
                             f"({n}, {len(self.time_us)}, {len(self.value)})")

    def __len__(self) -> int:
        return len(self.point_idx)


@dataclass(frozen=True)
class RenamePoint:
    """A point's display name changes (an engineer relabels it); its id and series stay."""

    point: str
    name: str


@dataclass(frozen=True)
class MovePoint:
    """A point is re-homed to another equipment: its HAS_POINT edge is replaced."""

    point: str
    equipment: str


@dataclass(frozen=True)
class MoveEquipment:
    """An equipment is relocated to another space: its LOCATED_IN edge is replaced."""

    equipment: str
    space: str


@dataclass(frozen=True)
class AddEquipment:
    """A new equipment (attributes: EQUIPMENT_KEYS) located in a space, with new points (POINT_KEYS, each
    with a fresh `point_idx`) that report samples from then on."""

    equipment: dict[str, Any]
    space: str
    points: tuple[dict[str, Any], ...] = ()


Change = Union[RenamePoint, MovePoint, MoveEquipment, AddEquipment]


def apply_change(g: Graph, change: Change) -> None:
    """Apply one change to an in-memory graph (the oracle's, or the generator's own view)."""
    if isinstance(change, RenamePoint):
        g.attrs[change.point]["name"] = change.name
    elif isinstance(change, MovePoint):
        _replace_edge(g, "HAS_POINT", change.point, change.equipment, incoming=True)
    elif isinstance(change, MoveEquipment):
        _replace_edge(g, "LOCATED_IN", change.equipment, change.space, incoming=False)
    elif isinstance(change, AddEquipment):
        e = change.equipment["id"]
        if e in g.attrs:
            raise ValueError(f"AddEquipment: {e} exists already")
        g.attrs[e] = {"type": "Equipment", **change.equipment}
        g.out["LOCATED_IN"][e].append(change.space)
        g.inc["LOCATED_IN"][change.space].append(e)
        for p in change.points:
            g.attrs[p["id"]] = {"type": "Point", **p}
            g.out["HAS_POINT"][e].append(p["id"])
            g.inc["HAS_POINT"][p["id"]].append(e)
        g._by_type = None
    else:
        raise TypeError(f"not a structure change: {type(change).__name__}")


def _replace_edge(g: Graph, rel: str, node: str, other: str, *, incoming: bool) -> None:
    """Drop every `rel` edge into (incoming) or out of `node`, then add one from/to `other`."""
    here, there = (g.inc, g.out) if incoming else (g.out, g.inc)
    for o in here[rel].pop(node, []):
        there[rel][o] = [x for x in there[rel][o] if x != node]
    here[rel][node].append(other)
    there[rel][other].append(node)


@dataclass
class Overlay:
    """Committed appends and changes on top of one dataset: the oracle reads the dataset plus this."""

    changes: list[Change] = field(default_factory=list)
    _parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    _days: dict[int, dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]] = field(default_factory=dict)

    def add_batch(self, batch: SampleBatch) -> None:
        self._parts.append((batch.point_idx.astype(np.int32), batch.time_us.astype(np.int64),
                            batch.value.astype(np.float64)))
        self._days = {}

    def add_change(self, change: Change) -> None:
        self.changes.append(change)

    @property
    def samples(self) -> int:
        return sum(len(p[0]) for p in self._parts)

    def last_time_us(self) -> int | None:
        """The latest appended sample's time (None before any append)."""
        return max((int(p[1].max()) for p in self._parts if len(p[1])), default=None)

    def by_day(self, start_us: int) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Appended samples per dataset day (0-based from `start_us`): (point_idx, time_us, value)."""
        if start_us not in self._days:
            days: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
            if self._parts:
                p, t, v = (np.concatenate([x[i] for x in self._parts]) for i in range(3))
                day = (t - start_us) // US_PER_DAY
                days = {int(d): (p[day == d], t[day == d], v[day == d]) for d in np.unique(day)}
            self._days = {start_us: days}
        return self._days[start_us]

    def graph(self, base: Graph) -> Graph:
        """A copy of the dataset's graph with the changes applied and its span stretched over the appends."""
        g = copy.deepcopy(base)
        g._by_type = None
        for c in self.changes:
            apply_change(g, c)
        g.appended = self.by_day(base.start_us)
        if g.appended:
            g.days = max(g.days, max(g.appended) + 1)
        return g
