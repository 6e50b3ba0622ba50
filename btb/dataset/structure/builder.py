"""The builder every structure rule writes through: one seeded RNG, the Structure being filled, and the
primitives that add a node, an edge, an equipment with its (optional, drawn) points, or a meter.

The rules (building, floor, tenants, anomalies) call these in a fixed order: that order of RNG draws and
of appended nodes/edges is the dataset's content, so a rule must never reorder its calls.
"""

from __future__ import annotations

import numpy as np

from btb.dataset.pointspecs import EQUIPMENT_BRICK, METER_BRICK, POINTS, SHAPE_HVAC, SHAPE_OCC
from btb.dataset.profiles import Scale
from btb.dataset.structure.model import Structure

OCCUPIED = ("office", "meeting")
DOMAINS = {
    "AHU": "hvac", "VAV": "hvac", "FCU": "hvac", "Chiller": "hvac", "Boiler": "hvac", "Pump": "hvac",
    "Fan": "hvac", "Thermostat": "hvac", "Meter": "electrical", "ElectricalPanel": "electrical",
    "UPS": "electrical", "Server": "it", "NetworkSwitch": "it", "AccessController": "security", "Camera": "security",
    "Elevator": "transport", "LightingCircuit": "lighting", "WeatherStation": "hvac",
}


class Builder:
    """State shared by the rules while one structure is built."""

    def __init__(self, scale: Scale, seed: int):
        self.scale = scale
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5757]))
        self.s = Structure()
        self.equip_located: dict[str, str] = {}  # equipment id -> space id (for anomalies)
        self.orphan_candidates: list[int] = []  # creation indices of points that may lose HAS_POINT
        self.has_point_edge: dict[int, int] = {}  # creation idx -> edge index
        self.area: dict[str, float] = {}  # space id -> m²
        # per building (reset by add_building): lighting wiring and each floor's meter
        self.light_feed: dict[str, str] = {}  # lighting circuit -> electrical source (panel or tenant meter)
        self.space_light: dict[str, str] = {}  # space -> its lighting circuit
        self.floor_meter: dict[str, tuple[str, str]] = {}  # floor -> (floor meter, technical room)

    def node(self, **attrs) -> str:
        self.s.nodes.append(attrs)
        return attrs["id"]

    def edge(self, src: str, rel: str, dst: str) -> None:
        self.s.edges.append((src, rel, dst))

    def equipment(self, eid: str, etype: str, space: str | None, *, template: str | None = None,
                  shape: int | None = None, meter_role: str | None = None, name: str | None = None) -> str:
        """An equipment node, LOCATED_IN `space`, with the points of its template (optional ones drawn)."""
        brick = METER_BRICK[meter_role] if etype == "Meter" and meter_role else EQUIPMENT_BRICK[etype]
        self.node(id=eid, type="Equipment", name=name or eid.split(":", 1)[1], equipment_type=etype,
                  domain=DOMAINS[etype], meter_role=meter_role, brick_class=brick)
        if space is not None:
            self.edge(eid, "LOCATED_IN", space)
            self.equip_located[eid] = space
        s, key = self.s, eid.split(":", 1)[1]
        specs = [sp for sp in POINTS[template or etype] if sp.p >= 1.0 or self.rng.random() < sp.p]
        ids = [f"point:{key}:{sp.name}" for sp in specs]
        ci0, e0 = len(s.point_ids), len(s.edges)
        s.point_ids.extend(ids)
        s.point_specs.extend(specs)
        s.point_shape.extend([shape if shape is not None and sp.shape in (SHAPE_OCC, SHAPE_HVAC) else sp.shape
                              for sp in specs])
        s.point_scale.extend([1.0] * len(specs))
        s.edges.extend([(eid, "HAS_POINT", p) for p in ids])
        if etype == "Meter":
            names = [sp.name for sp in specs]
            s.meter_points[eid] = (ci0 + names.index("energy"), ci0 + names.index("power"))
        if etype == "Thermostat":  # the only points that may lose their HAS_POINT edge (anomalies)
            for j in range(len(ids)):
                self.orphan_candidates.append(ci0 + j)
                self.has_point_edge[ci0 + j] = e0 + j
        return eid

    def meter(self, eid: str, role: str, template: str, space: str, parent: str | None, *,
              shape: int | None = None, scale: float = 1.0) -> str:
        """A meter in the electrical tree: FEEDS edge from its parent, own load scaled by `scale`."""
        self.equipment(eid, "Meter", space, template=template, meter_role=role, shape=shape)
        if parent is not None:
            self.edge(parent, "FEEDS", eid)
            self.s.meter_parent[eid] = parent
        _, pci = self.s.meter_points[eid]
        self.s.point_scale[pci] = scale
        return eid
