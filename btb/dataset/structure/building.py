"""One building: its floors and spaces, its plant (main and plant meters, chillers, boilers, elevators,
the weather station), then each floor's equipment, the tenants, and the main meter's unmetered share."""

from __future__ import annotations

import numpy as np

from btb.dataset.brick import BRICK
from btb.dataset.pointspecs import SHAPE_HVAC
from btb.dataset.structure.builder import Builder
from btb.dataset.structure.floor import add_floor
from btb.dataset.structure.tenants import add_tenants

MAIN_UNMETERED = 0.05  # the main meter's own (unmetered) load: 5 % of its children's nominal load
AREA_M2 = {
    "office": (12, 60), "meeting": (15, 45), "corridor": (40, 150), "lobby": (80, 300), "technical": (20, 120),
    "it_room": (10, 60), "storage": (6, 30), "restroom": (8, 25), "parking": (200, 800),
}
Floors = list[tuple[str, str, list[tuple[str, str]]]]  # (floor id, floor kind, [(space id, space type)])


def add_building(bld: Builder, b: int, site: str, carbon: float, tenant_no: int) -> int:
    """Building `b` of `site`; returns the last tenant number used (tenants are numbered across buildings)."""
    floors = _floors_and_spaces(bld, b, site, carbon)
    main, plant = _plant(bld, b, floors)
    bld.light_feed, bld.space_light, bld.floor_meter = {}, {}, {}
    for fid, fk, sp in floors:
        add_floor(bld, b, fid, fk, sp, main, plant)
    tenant_no = add_tenants(bld, b, floors, tenant_no)
    for lc, src in bld.light_feed.items():
        bld.edge(src, "FEEDS", lc)
    # the main meter's own load is the building's unmetered share (stated in docs/datasets.md)
    kids = [m for m, p in bld.s.meter_parent.items() if p == main]
    nominal = sum(_nominal(bld, m) for m in kids)
    _, pci = bld.s.meter_points[main]
    spec = bld.s.point_specs[pci]
    bld.s.point_scale[pci] = MAIN_UNMETERED * nominal / (spec.base + spec.amp)
    return tenant_no


def space_mix(floor_kind: str, n: int) -> list[str]:
    """Space types of a floor of `floor_kind` with about n spaces."""
    if floor_kind == "basement":
        return ["corridor", "technical", "technical", "storage", "storage"] + ["parking"] * max(1, n // 5)
    if floor_kind == "roof":
        return ["technical", "technical"]
    fixed = ["corridor", "restroom", "restroom", "technical", "it_room", "storage"]
    if floor_kind == "ground":
        fixed = ["lobby", "corridor", "restroom", "restroom", "technical", "it_room", "storage", "meeting",
                 "meeting"]
        n = max(len(fixed) + 2, n // 2 + len(fixed))
    meetings = max(1, n // 7)
    offices = max(1, n - len(fixed) - meetings)
    return fixed + ["meeting"] * meetings + ["office"] * offices


def _floors_and_spaces(bld: Builder, b: int, site: str, carbon: float) -> Floors:
    """Floor and space nodes (the building node goes before them, its area their sum), CONTAINS edges."""
    sc, rng = bld.scale, bld.rng
    bid = f"bldg:{b}"
    upper = max(1, sc.upper_floors + int(round(sc.upper_floors * rng.uniform(-0.06, 0.06))))
    kinds = ["basement"] * sc.basements + ["ground"] + ["office"] * upper + ["roof"]
    floors: Floors = []
    total_area = 0.0
    for k, fkind in enumerate(kinds, start=1):
        fid = f"floor:{b}:{k}"
        level = k - 1 - sc.basements
        bld.node(id=fid, type="Floor", name=f"Building {b} level {level}", level=level, floor_type=fkind,
                 brick_class="Floor")
        bld.edge(bid, "CONTAINS", fid)
        n = max(4, int(round(sc.spaces_per_floor * rng.uniform(0.9, 1.1))))
        spaces = []
        for s, stype in enumerate(space_mix(fkind, n), start=1):
            sid = f"space:{b}:{k}:{s}"
            area = float(np.float64(rng.uniform(*AREA_M2[stype])).round(1))  # = np.round(x, 1), ~5x cheaper
            total_area += area
            bld.area[sid] = area
            bld.node(id=sid, type="Space", name=f"{stype} {b}.{level}.{s}", space_type=stype, area_m2=area,
                     brick_class=BRICK[("space", stype)].split(":", 1)[1])
            bld.edge(fid, "CONTAINS", sid)
            spaces.append((sid, stype))
        floors.append((fid, fkind, spaces))
    bld.s.nodes.insert(len(bld.s.nodes) - sum(1 + len(f[2]) for f in floors),
                       dict(id=bid, type="Building", name=f"Building {b}", area_m2=float(np.round(total_area, 1)),
                            carbon_kg_per_kwh=carbon, brick_class="Building"))
    bld.edge(site, "CONTAINS", bid)
    return floors


def _first(floors: Floors, kind: str, stype: str) -> str:
    """The first space of type `stype` on a floor of `kind`."""
    for _, fk, sp in floors:
        if fk == kind:
            for sid, st in sp:
                if st == stype:
                    return sid
    raise LookupError(stype)


def _plant(bld: Builder, b: int, floors: Floors) -> tuple[str, list[str]]:
    """Main meter, plant sub-meter + panel, chillers on the roof, boilers in the basement, elevators and
    the building's one outdoor sensor; returns (main meter, chillers and boilers)."""
    plant_room = _first(floors, "basement" if bld.scale.basements else "ground", "technical")
    roof_room = _first(floors, "roof", "technical")
    main = bld.meter(f"equip:{b}:meter:main", "main", "MainMeter", plant_room, None)
    psub = bld.meter(f"equip:{b}:meter:plant", "sub", "PlantMeter", plant_room, main, shape=SHAPE_HVAC)
    ppanel = bld.equipment(f"equip:{b}:panel:plant", "ElectricalPanel", plant_room, shape=SHAPE_HVAC)
    bld.edge(psub, "FEEDS", ppanel)
    for _, _, sp in floors:
        for sid, st in sp:
            if st == "technical":
                bld.edge(psub, "SERVES", sid)
    plant = []
    for i in range(1, 3):
        ch = bld.equipment(f"equip:{b}:chiller{i}", "Chiller", roof_room)
        pu = bld.equipment(f"equip:{b}:chiller{i}:pump", "Pump", roof_room)
        bld.edge(ch, "HAS_PART", pu)
        bo = bld.equipment(f"equip:{b}:boiler{i}", "Boiler", plant_room)
        pb = bld.equipment(f"equip:{b}:boiler{i}:pump", "Pump", plant_room)
        bld.edge(bo, "HAS_PART", pb)
        for e in (ch, bo):
            bld.edge(ppanel, "FEEDS", e)
        plant += [ch, bo]
    for pu in (f"equip:{b}:chiller{i}:pump" for i in (1, 2)):
        bld.edge(ppanel, "FEEDS", pu)
    lobby = _first(floors, "ground", "lobby")
    for i in range(1, 3):
        el = bld.equipment(f"equip:{b}:elevator{i}", "Elevator", lobby)
        bld.edge(ppanel, "FEEDS", el)
    bld.equipment(f"equip:{b}:weather", "WeatherStation", roof_room)  # the building's one outdoor sensor
    return main, plant


def _nominal(bld: Builder, meter: str) -> float:
    """Nominal (base + amp) load below a meter: its own plus its child meters'."""
    _, pci = bld.s.meter_points[meter]
    spec = bld.s.point_specs[pci]
    own = (spec.base + spec.amp) * bld.s.point_scale[pci]
    return own + sum(_nominal(bld, m) for m, p in bld.s.meter_parent.items() if p == meter)
