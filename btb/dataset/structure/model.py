"""The built structure (btb.dataset.structure builds it): nodes, edges and per-point series parameters,
and the nodes/edges tables the dataset files are written from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from btb.dataset.format import EDGE_SCHEMA, NODE_SCHEMA
from btb.dataset.pointspecs import PointSpec

NODE_COLUMNS = [f.name for f in NODE_SCHEMA]


@dataclass
class Structure:
    """Nodes, edges and per-point series parameters, indexed by point_idx."""

    nodes: list[dict] = field(default_factory=list)  # non-point nodes (sparse attribute dicts)
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    point_ids: list[str] = field(default_factory=list)  # creation order (before point_idx sort)
    point_specs: list[PointSpec] = field(default_factory=list)
    point_shape: list[int] = field(default_factory=list)
    point_scale: list[float] = field(default_factory=list)  # multiplies the template's base/amp (meters)
    meter_parent: dict[str, str] = field(default_factory=dict)  # meter equipment -> parent meter (electrical)
    meter_points: dict[str, tuple[int, int]] = field(default_factory=dict)  # meter -> (energy ci, power ci)
    order: np.ndarray | None = None  # order[point_idx] = creation index
    params: dict[str, np.ndarray] = field(default_factory=dict)  # per point_idx arrays for the series

    @property
    def n_points(self) -> int:
        return len(self.point_ids)

    def counts(self) -> dict[str, int]:
        """Counts per node type and relation, plus totals (the manifest's `counts`)."""
        out: dict[str, int] = {}
        for n in self.nodes:
            out[n["type"]] = out.get(n["type"], 0) + 1
        out["Point"] = self.n_points
        for _, rel, _ in self.edges:
            out[rel] = out.get(rel, 0) + 1
        out["nodes"] = len(self.nodes) + self.n_points
        out["edges"] = len(self.edges)
        out["points"] = self.n_points
        return out

    def nodes_table(self) -> pa.Table:
        cols: dict[str, list] = {c: [None] * (len(self.nodes) + self.n_points) for c in NODE_COLUMNS}
        for i, n in enumerate(self.nodes):
            for k, v in n.items():
                cols[k][i] = v
        base = len(self.nodes)
        assert self.order is not None
        for idx, ci in enumerate(self.order.tolist()):
            spec, pid = self.point_specs[ci], self.point_ids[ci]
            r = base + idx
            cols["id"][r] = pid
            cols["type"][r] = "Point"
            cols["name"][r] = spec.name
            cols["point_kind"][r] = spec.kind
            cols["brick_class"][r] = spec.brick
            cols["quantity"][r] = spec.quantity
            cols["unit"][r] = spec.unit
            cols["interval_s"][r] = spec.interval_s
            cols["point_idx"][r] = idx
        return pa.table({c: pa.array(cols[c], type=NODE_SCHEMA.field(c).type) for c in NODE_COLUMNS},
                        schema=NODE_SCHEMA)

    def edges_table(self) -> pa.Table:
        src, rel, dst = zip(*self.edges) if self.edges else ((), (), ())
        return pa.table([pa.array(src, pa.string()), pa.array(rel, pa.string()), pa.array(dst, pa.string())],
                        schema=EDGE_SCHEMA)
