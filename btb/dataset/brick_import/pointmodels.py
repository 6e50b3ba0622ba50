"""The series model of each imported point: the generator's template (btb.dataset.pointspecs) whose Brick
class is closest to the point's class in the Brick hierarchy, so a real model's points get the same kind
of signal as the generator's points of that class.

Closest = the template class sharing the lowest common ancestor with the point's class (ties: the
template nearer that ancestor, then the generator's template order). A point whose closest common ancestor is `Point` or above
(e.g. an unknown-class point) falls back to a generic template per point kind. Energy registers of a meter
are paired with its power point (the generator's meter model: register = integral of power); a register
without a power point integrates its own synthetic load.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from btb.dataset.brick_import.hierarchy import Hierarchy
from btb.dataset.pointspecs import ALARM, POINTS, SHAPE_FLAT, SHAPE_HVAC, STATUS, PointSpec

TEMPLATES: dict[str, PointSpec] = {}
for _specs in POINTS.values():
    for _sp in _specs:
        TEMPLATES.setdefault(_sp.brick, _sp)
METER_ENERGY, METER_POWER = POINTS["FloorMeter"]
TOO_GENERIC = {"Point", "Entity", "Class", "Geometry", "Information", "Sensor", "Setpoint", "Command", "Status",
               "Alarm", "Parameter"}
FALLBACK: dict[str, PointSpec] = {
    "sensor": PointSpec("sensor", "sensor", "value", "", 300, "ou", 50.0, 10.0, 5.0, 0.0, 1e6, SHAPE_HVAC, 5.0, "Sensor"),
    "setpoint": PointSpec("setpoint", "setpoint", "value", "", 900, "ou", 50.0, 0.0, 0.05, 0.0, 1e6, SHAPE_FLAT, 5.0,
                          "Setpoint"),
    "command": PointSpec("command", "command", "position", "%", 300, "ou", 10.0, 40.0, 8.0, 0.0, 100.0, SHAPE_HVAC,
                         5.0, "Command"),
    "status": STATUS,
    "alarm": ALARM,
}


@lru_cache(maxsize=4096)
def _closest(h: Hierarchy, cls: str) -> str | None:
    mine = {c: d for c, d in h.ancestors(cls)}
    best: tuple[int, int, int, str] | None = None
    for order, t in enumerate(TEMPLATES):  # ties: the generator's template order (VAV's points first)
        for c, dt in h.ancestors(t):
            if c in mine:
                if c not in TOO_GENERIC:
                    key = (mine[c], dt, order, t)
                    best = key if best is None or key < best else best
                break
    return best[3] if best else None


def template_for(h: Hierarchy, cls: str, kind: str) -> PointSpec:
    """The generator's point template for a point of Brick class `cls` and btb point kind `kind`."""
    if cls in TEMPLATES:
        return TEMPLATES[cls]
    t = _closest(h, cls) if h.known(cls) else None
    return TEMPLATES[t] if t else FALLBACK.get(kind, FALLBACK["sensor"])


def spec_for(template: PointSpec, node: dict) -> PointSpec:
    """The template with the node's own identity (name, class, kind), so nodes_table rows show the model."""
    return replace(template, name=node["name"], brick=node["brick_class"], kind=node.get("point_kind") or template.kind,
                   quantity=node.get("quantity") or template.quantity, unit=node.get("unit") or template.unit,
                   interval_s=int(node.get("interval_s") or template.interval_s))


def meter_specs(energy: dict, power: dict | None) -> tuple[PointSpec, PointSpec | None]:
    """(energy spec, power spec) on the generator's meter model; without a power point, the register
    integrates its own load (the power template's parameters under the energy point's identity)."""
    if power is not None:
        e = replace(METER_ENERGY, name=energy["name"], brick=energy["brick_class"])
        p = replace(METER_POWER, name=power["name"], brick=power["brick_class"])
        return e, p
    e = replace(METER_POWER, name=energy["name"], brick=energy["brick_class"], kind="meter", quantity="energy",
                unit="kWh")
    return e, None
