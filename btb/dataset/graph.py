"""The one in-memory graph of a dataset's structure, shared by the oracle, the binding draw and the shape
report (so the sets a query walks are defined once: "equipment of a building", "electrical downstream", …).

Plain dictionaries, no graph library: the oracle must share no code path with the engines it judges.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

MAX_HOPS = 10
UNIQUE_COLUMNS = ("id", "name")  # string columns whose values are (mostly) distinct
BATCH_ROWS = 65_536  # rows turned into Python objects at a time while the graph is built
# Equipment whose FEEDS edges are electrical supply (Q1 walks only these): meters, panels, UPSs
ELECTRICAL = "electrical"
ZONE_AIR_TEMP = "Zone_Air_Temperature_Sensor"


class Attrs(dict):
    """A node's attributes: only those it has are stored; an absent one reads as None (as a null column did)."""

    __slots__ = ()

    def __missing__(self, key: str) -> None:
        return None


@dataclass
class Graph:
    """Attributes per node id, out/in adjacency per relation (in edge-file order)."""

    attrs: dict[str, dict[str, Any]]  # node id -> Attrs (or a plain dict for nodes added later)
    out: dict[str, dict[str, list[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    inc: dict[str, dict[str, list[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    start_us: int = 0
    days: int = 0
    # samples appended after the dataset was generated (btb.dataset.changes.Overlay), per dataset day:
    # (point_idx, time_us, value); the oracle reads them beside the day files
    appended: dict[int, tuple[Any, Any, Any]] = field(default_factory=dict)

    _by_type: dict[str, list[str]] | None = None

    @classmethod
    def from_tables(cls, nodes: pa.Table, edges: pa.Table, *, start_us: int = 0, days: int = 0) -> "Graph":
        """Bounded by the structure, not by Python's per-row overhead: a node keeps only its set attributes
        (`Attrs` answers None for the others), and every repeated string — attribute values, and the ids in
        the edge list — is one object (xlarge, 520k nodes and 893k edges: 1.14 GB → see docs/scale.md)."""
        attrs: dict[str, Attrs] = {}
        for batch in nodes.to_batches(max_chunksize=BATCH_ROWS):
            cols = []
            for name, col in zip(batch.schema.names, batch.columns):
                values = col.to_pylist()
                if name not in UNIQUE_COLUMNS and pa.types.is_string(col.type):
                    one = {v: v for v in set(values)}  # one object per distinct value (types, units, classes)
                    values = [one[v] for v in values]
                cols.append((name, values))
            for i in range(batch.num_rows):
                a = Attrs([(k, vs[i]) for k, vs in cols if vs[i] is not None])
                attrs[a["id"]] = a
        ids = {k: k for k in attrs}
        g = cls(attrs=attrs, start_us=start_us, days=days)
        for batch in edges.select(["src", "rel", "dst"]).to_batches(max_chunksize=BATCH_ROWS):
            for s, r, t in zip(*(c.to_pylist() for c in batch.columns)):
                s, t = ids.get(s, s), ids.get(t, t)  # the node's own id object, not a copy per edge
                g.out[r][s].append(t)
                g.inc[r][t].append(s)
        return g

    # --- primitives --------------------------------------------------------------------------------
    def typ(self, node: str) -> str | None:
        a = self.attrs.get(node)
        return a["type"] if a else None

    def get(self, node: str, key: str) -> Any:
        a = self.attrs.get(node)
        return a.get(key) if a else None

    def succ(self, rel: str, node: str, typ: str | None = None) -> list[str]:
        return [d for d in self.out[rel].get(node, ()) if typ is None or self.typ(d) == typ]

    def pred(self, rel: str, node: str, typ: str | None = None) -> list[str]:
        return [s for s in self.inc[rel].get(node, ()) if typ is None or self.typ(s) == typ]

    def of_type(self, typ: str) -> list[str]:
        if self._by_type is None:
            by: dict[str, list[str]] = defaultdict(list)
            for n, a in self.attrs.items():
                by[a["type"]].append(n)
            self._by_type = dict(by)
        return list(self._by_type.get(typ, ()))

    def idx(self, point: str) -> int:
        return int(self.attrs[point]["point_idx"])

    # --- derived sets named in queries/README.md -----------------------------------------------------
    def building_spaces(self, building: str) -> set[str]:
        return {s for f in self.succ("CONTAINS", building, "Floor") for s in self.succ("CONTAINS", f, "Space")}

    def building_equipment(self, building: str) -> set[str]:
        return {e for s in self.building_spaces(building) for e in self.pred("LOCATED_IN", s, "Equipment")}

    def floor_equipment(self, floor: str) -> set[str]:
        return {e for s in self.succ("CONTAINS", floor, "Space") for e in self.pred("LOCATED_IN", s, "Equipment")}

    def buildings_of_space(self, space: str) -> set[str]:
        return {b for f in self.pred("CONTAINS", space, "Floor") for b in self.pred("CONTAINS", f, "Building")}

    def points_of(self, equipment: str, **where: Any) -> set[str]:
        pts = self.succ("HAS_POINT", equipment, "Point")
        return {p for p in pts if all(self.attrs[p].get(k) == v for k, v in where.items())}

    def downstream(self, start: str, min_hops: int = 1, *, electrical: bool = False) -> dict[str, int]:
        """Minimum FEEDS walk length (min_hops..10) to every reachable node: BFS by level.

        electrical=True follows only the electrical tree: beyond the start, a node's FEEDS edges are walked
        only if the node is electrical equipment (domain 'electrical': meters, panels, UPSs) — a chiller is reached, but
        not the AHU its chilled water feeds."""
        depth: dict[str, int] = {start: 0} if min_hops == 0 else {}
        frontier, seen = {start}, {start}
        for d in range(1, MAX_HOPS + 1):
            if electrical and d > 1:  # the start is walked whatever it is
                frontier = {f for f in frontier if self.get(f, "domain") == ELECTRICAL}
            nxt = {n for f in frontier for n in self.out["FEEDS"].get(f, ())} - seen
            for n in nxt:
                depth[n] = d
            seen |= nxt
            frontier = nxt
            if not frontier:
                break
        return depth

    def tenant_meters(self, tenant: str) -> set[str]:
        """Tenant sub-meters (Meter, meter_role 'tenant') that SERVE a space the tenant OCCUPIES."""
        return {e for s in self.succ("OCCUPIES", tenant, "Space") for e in self.pred("SERVES", s, "Equipment")
                if self.attrs[e].get("equipment_type") == "Meter" and self.attrs[e].get("meter_role") == "tenant"}

    def tenant_meter_points(self, tenant: str) -> dict[str, set[str]]:
        """Q8/Q9: energy register point -> buildings of the tenant's spaces its tenant meter serves."""
        out: dict[str, set[str]] = defaultdict(set)
        spaces = set(self.succ("OCCUPIES", tenant, "Space"))
        for e in self.tenant_meters(tenant):
            bldgs = {b for s in self.succ("SERVES", e, "Space") if s in spaces for b in self.buildings_of_space(s)}
            for p in self.points_of(e, brick_class="Electric_Energy_Sensor"):
                out[p] |= bldgs
        return out

    def zone_air_temp_points(self, equipment: str) -> set[str]:
        return self.points_of(equipment, brick_class=ZONE_AIR_TEMP)
