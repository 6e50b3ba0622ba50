"""btb nodes of a model's entities: id, name, brick_class and the attributes each node type needs, from the
entity's class (the nearest class btb's workload distinguishes) unless the model gives them (btb: literals)."""

from __future__ import annotations

import re

from btb.dataset.brick import BRICK
from btb.dataset.brick_import.classes import Classes
from btb.dataset.brick_import.parse import ModelData
from btb.dataset.brick_import.roles import Roles
from btb.dataset.brick_import.summary import ImportSummary
from btb.dataset.pointspecs import EQUIPMENT_BRICK, METER_BRICK, POINTS

POINT_KINDS = [("Alarm", "alarm"), ("Status", "status"), ("Command", "command"), ("Setpoint", "setpoint"),
               ("Parameter", "setpoint"), ("Limit", "setpoint"), ("Sensor", "sensor")]
# equipment classes btb's workload distinguishes -> equipment_type
EQUIP_TYPE = {cls: et for et, cls in EQUIPMENT_BRICK.items() if cls != "Equipment"} | \
    {cls: "Meter" for cls in METER_BRICK.values()} | {"Meter": "Meter", "Server": "Server"}
POINT_CLASSES = sorted({sp.brick for specs in POINTS.values() for sp in specs} - {"Sensor", "Point"})
SPACE_TYPE = {v.split(":", 1)[1]: k for (c, k), v in BRICK.items() if c == "space"}
ZONE_KIND = {"HVAC_Zone": "hvac", "Lighting_Zone": "lighting", "Fire_Zone": "fire"}
DOMAINS = [("Electrical_Equipment", "electrical"), ("Meter", "electrical"), ("HVAC_Equipment", "hvac"),
           ("Lighting_Equipment", "lighting"), ("Security_Equipment", "security"), ("ICT_Equipment", "it"),
           ("Lighting", "lighting"), ("Water_Heater", "hvac")]
ATTRS = ("name", "area_m2", "carbon_kg_per_kwh", "level", "floor_type", "space_type", "zone_kind",
         "equipment_type", "domain", "meter_role", "point_kind", "quantity", "unit", "interval_s", "point_idx")
DEFAULT_CARBON = 0.3  # kg CO2/kWh for a building whose model gives none (Q9; stated in docs/brick-import.md)


def make_nodes(data: ModelData, r: Roles, ids: dict[str, str], cl: Classes, S: ImportSummary) -> dict[str, dict]:
    """Entity term -> its node dict (NODE_SCHEMA columns), for every entity that has a role."""
    node: dict[str, dict] = {}
    for t in r.terms:
        if t not in r.role:
            continue
        role, c = r.role[t], r.cls_of.get(t)
        attrs = data.btb_attrs.get(t, {})
        n: dict = {"id": ids[t], "type": role, "name": str(attrs.get("name") or data.labels.get(t) or ids[t])}
        for k in ATTRS[1:]:
            if k in attrs and attrs[k] is not None:
                n[k] = attrs[k]
        _fill(n, role, c, cl)
        node[t] = n
        S.map(c or "(untyped)", f"{role}:{n['brick_class']}")
    return node


def _fill(n: dict, r: str, c: str | None, cl: Classes) -> None:
    """brick_class and the btb attributes a node type needs, from the class (btb: literals win)."""
    anc = [a for a, _ in cl.h.ancestors(c)] if c else []
    if r == "Point":
        best = next((a for a in anc if a in POINT_CLASSES), None)
        n["brick_class"] = best or c or "Point"
        kind = next((k for root, k in POINT_KINDS if root in anc), None)
        if kind is None and c:
            kind = next((k for root, k in POINT_KINDS if c.endswith("_" + root)), "sensor")
        n.setdefault("point_kind", kind or "sensor")
    elif r == "Equipment":
        best = next((a for a in anc if a in EQUIP_TYPE), None)
        n["brick_class"] = best or c or "Equipment"
        n.setdefault("equipment_type", EQUIP_TYPE[best] if best else (c or "Equipment"))
        n.setdefault("domain", next((d for root, d in DOMAINS if root in anc), "other"))
        if n["equipment_type"] == "Meter":
            n.setdefault("meter_role", "main" if "Building_Meter" in anc or best == "Building_Electrical_Meter" else "sub")
    elif r == "Tenant":
        n["brick_class"] = "btb:Tenant"
    else:
        n["brick_class"] = c or r
        if r == "Space":
            st = next((SPACE_TYPE[a] for a in anc if a in SPACE_TYPE), None)
            n.setdefault("space_type", st or (c or "space").lower())
        elif r == "Zone":
            n.setdefault("zone_kind", next((ZONE_KIND[a] for a in anc if a in ZONE_KIND), "other"))
        elif r == "Floor":
            if "level" not in n:
                digits = re.findall(r"-?\d+", n["id"].rsplit("/", 1)[-1])
                n["level"] = int(digits[-1]) if digits else 0
            n.setdefault("floor_type", "office")
        elif r == "Building":
            n.setdefault("carbon_kg_per_kwh", DEFAULT_CARBON)
