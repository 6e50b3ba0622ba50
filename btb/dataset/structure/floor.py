"""One floor: its sub-meter and panel, its security/lighting/fire zones, an AHU on occupied floors, then
each space's equipment (HVAC zone and terminal units or a thermostat, lighting, cameras, the IT room's
UPS, servers and switches, access controllers), so that every security zone has an access point."""

from __future__ import annotations

from btb.dataset.pointspecs import SHAPE_HVAC, SHAPE_OCC
from btb.dataset.structure.builder import OCCUPIED, Builder

ZONE_BRICK = {"hvac": "HVAC_Zone", "security": "Zone", "lighting": "Lighting_Zone", "fire": "Fire_Zone"}
FLOOR_ZONES = ("security", "lighting", "fire")


def add_floor(bld: Builder, b: int, fid: str, fk: str, spaces: list[tuple[str, str]], main: str,
              plant: list[str]) -> None:
    """Floor `fid` (kind `fk`) of building `b`, metered from `main`, its AHU fed by `plant`."""
    k = fid.rsplit(":", 1)[1]
    tech = next((sid for sid, st in spaces if st == "technical"), spaces[0][0])
    sub = bld.meter(f"equip:{b}:{k}:submeter", "sub", "FloorMeter", tech, main)
    bld.floor_meter[fid] = (sub, tech)
    panel = bld.equipment(f"equip:{b}:{k}:panel", "ElectricalPanel", tech)
    bld.edge(sub, "FEEDS", panel)
    zones = {}
    for zk in FLOOR_ZONES:
        zid = f"zone:{b}:{k}:{zk}"
        bld.node(id=zid, type="Zone", name=f"{zk} zone {b}.{k}", zone_kind=zk, brick_class=ZONE_BRICK[zk])
        zones[zk] = zid
    ahu = None
    if fk in ("ground", "office"):
        ahu = bld.equipment(f"equip:{b}:{k}:ahu", "AHU", tech)
        for part in ("supply_fan", "return_fan"):
            fan = bld.equipment(f"equip:{b}:{k}:ahu:{part}", "Fan", tech)
            bld.edge(ahu, "HAS_PART", fan)
        for p in plant:
            bld.edge(p, "FEEDS", ahu)
        bld.edge(panel, "FEEDS", ahu)  # electrical supply of the fans
    doors = 0
    for sid, st in spaces:
        bld.edge(sub, "SERVES", sid)
        for zk in FLOOR_ZONES:
            bld.edge(sid, "IN_ZONE", zones[zk])
        doors += _space_equipment(bld, f"equip:{b}:{k}:{sid.rsplit(':', 1)[1]}", fk, sid, st, panel, ahu)
    if doors == 0:  # every security zone gets at least one access point
        sid = next((sid for sid, st in spaces if st == "corridor"), spaces[0][0])
        ac = bld.equipment(f"equip:{b}:{k}:{sid.rsplit(':', 1)[1]}:access", "AccessController", sid)
        bld.edge(panel, "FEEDS", ac)


def _space_equipment(bld: Builder, prefix: str, fk: str, sid: str, st: str, panel: str, ahu: str | None) -> int:
    """The equipment of space `sid` (type `st`), ids starting with `prefix`; returns its access points (0/1)."""
    if ahu is not None and st in ("lobby", *OCCUPIED):
        _hvac_zone(bld, prefix, sid, st, ahu)
    elif st in ("corridor", "restroom", "storage", "technical", "it_room"):
        bld.equipment(f"{prefix}:tstat", "Thermostat", sid)
    if st not in ("technical", "storage"):
        lc = bld.equipment(f"{prefix}:light", "LightingCircuit", sid, shape=SHAPE_OCC if st != "parking" else SHAPE_HVAC)
        bld.light_feed[lc] = panel
        bld.space_light[sid] = lc
        bld.edge(lc, "SERVES", sid)
    if st in ("corridor", "lobby", "parking"):
        bld.equipment(f"{prefix}:cam", "Camera", sid)
    if st == "it_room":
        _it_room(bld, prefix, fk, sid, panel)
    if st in ("lobby", "it_room") or (st == "office" and bld.rng.random() < 0.15):
        ac = bld.equipment(f"{prefix}:access", "AccessController", sid)
        bld.edge(panel, "FEEDS", ac)
        return 1
    return 0


def _hvac_zone(bld: Builder, prefix: str, sid: str, st: str, ahu: str) -> None:
    """One HVAC zone per space, served by its group of terminal units (2 VAVs above 35 m², a lobby 2 FCUs)."""
    b, k, s = sid.split(":")[1:]
    zid = f"zone:{b}:{k}:hvac:{s}"
    bld.node(id=zid, type="Zone", name=f"hvac zone {b}.{k}.{s}", zone_kind="hvac", brick_class="HVAC_Zone")
    bld.edge(sid, "IN_ZONE", zid)
    if st == "lobby":
        units = [("FCU", f"fcu{i}") for i in (1, 2)]
    else:
        units = [("VAV", "vav" if i == 1 else f"vav{i}") for i in range(1, 1 + (2 if bld.area[sid] > 35 else 1))]
    occ_shape = SHAPE_OCC if st in OCCUPIED else SHAPE_HVAC
    for etype, suffix in units:
        u = bld.equipment(f"{prefix}:{suffix}", etype, sid, shape=occ_shape if etype == "VAV" else None)
        bld.edge(ahu, "FEEDS", u)
        bld.edge(u, "SERVES", sid)


def _it_room(bld: Builder, prefix: str, fk: str, sid: str, panel: str) -> None:
    """A UPS fed by the floor panel, feeding the room's servers (8 on ground/basement, else 1–3) and switches."""
    ups = bld.equipment(f"{prefix}:ups", "UPS", sid)
    bld.edge(panel, "FEEDS", ups)
    n_srv = 8 if fk in ("ground", "basement") else int(bld.rng.integers(1, 4))
    for i in range(1, n_srv + 1):
        srv = bld.equipment(f"{prefix}:server{i}", "Server", sid)
        bld.edge(ups, "FEEDS", srv)
    for i in range(1, 3 if n_srv > 3 else 2):
        sw = bld.equipment(f"{prefix}:switch{i}", "NetworkSwitch", sid)
        bld.edge(ups, "FEEDS", sw)
