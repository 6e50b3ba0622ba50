"""The building model: nodes and edges generated from a scale's rules with a seeded RNG.

Topology follows practice. Electrical: main meter → plant meter and one meter per floor → panels → loads
(plant, AHU, lighting, UPS → IT equipment); a floor meter also feeds one sub-meter per tenant on the floor,
which feeds the lighting of that tenant's spaces and SERVES only them. Air/water: chillers/boilers → AHUs →
VAVs/FCUs → spaces they serve. Each occupied space is one HVAC zone served by its group of 1–2 VAVs.
One weather station per building carries its only outside-air temperature. Every equipment and point
has a Brick class. The structure is cheap (pure Python, no series), so tests can check every scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from btb.dataset.brick import BRICK
from btb.dataset.format import EDGE_SCHEMA, NODE_SCHEMA
from btb.dataset.pointspecs import EQUIPMENT_BRICK, METER_BRICK, MODELS, POINTS, SHAPE_HVAC, SHAPE_OCC, PointSpec
from btb.dataset.profiles import Scale

OCCUPIED = ("office", "meeting")
DOMAINS = {
    "AHU": "hvac", "VAV": "hvac", "FCU": "hvac", "Chiller": "hvac", "Boiler": "hvac", "Pump": "hvac",
    "Fan": "hvac", "Thermostat": "hvac", "Meter": "electrical", "ElectricalPanel": "electrical",
    "UPS": "electrical", "Server": "it", "NetworkSwitch": "it", "AccessController": "security", "Camera": "security",
    "Elevator": "transport", "LightingCircuit": "lighting", "WeatherStation": "hvac",
}
MAIN_UNMETERED = 0.05  # the main meter's own (unmetered) load: 5 % of its children's nominal load
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


class _Builder:
    def __init__(self, scale: Scale, seed: int):
        self.scale = scale
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5757]))
        self.s = Structure()
        self.equip_located: dict[str, str] = {}  # equipment id -> space id (for anomalies)
        self.orphan_candidates: list[int] = []  # creation indices of points that may lose HAS_POINT
        self.has_point_edge: dict[int, int] = {}  # creation idx -> edge index
        self.area: dict[str, float] = {}  # space id -> m²

    # -- primitives -------------------------------------------------------------------------
    def node(self, **attrs) -> str:
        self.s.nodes.append(attrs)
        return attrs["id"]

    def edge(self, src: str, rel: str, dst: str) -> None:
        self.s.edges.append((src, rel, dst))

    def equipment(self, eid: str, etype: str, space: str | None, *, template: str | None = None,
                  shape: int | None = None, meter_role: str | None = None, name: str | None = None) -> str:
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

    # -- building blocks --------------------------------------------------------------------
    def space_mix(self, floor_kind: str, n: int) -> list[str]:
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

    def build(self) -> Structure:
        sc, rng = self.scale, self.rng
        n_sites = (sc.buildings + 2) // 3
        site_carbon = {}
        for si in range(1, n_sites + 1):
            self.node(id=f"site:{si}", type="Site", name=f"Site {si}", brick_class="Site")
            site_carbon[si] = float(np.round(rng.uniform(0.05, 0.45), 3))
        tenant_no = 0
        for b in range(1, sc.buildings + 1):
            site = (b - 1) // 3 + 1
            tenant_no = self.building(b, f"site:{site}", site_carbon[site], tenant_no)
        self.anomalies()
        self.finish()
        return self.s

    def building(self, b: int, site: str, carbon: float, tenant_no: int) -> int:
        sc, rng = self.scale, self.rng
        bid = f"bldg:{b}"
        upper = max(1, sc.upper_floors + int(round(sc.upper_floors * rng.uniform(-0.06, 0.06))))
        kinds = ["basement"] * sc.basements + ["ground"] + ["office"] * upper + ["roof"]
        floors: list[tuple[str, str, list[tuple[str, str]]]] = []  # (floor id, kind, [(space id, type)])
        total_area = 0.0
        for k, fkind in enumerate(kinds, start=1):
            fid = f"floor:{b}:{k}"
            level = k - 1 - sc.basements
            self.node(id=fid, type="Floor", name=f"Building {b} level {level}", level=level, floor_type=fkind,
                      brick_class="Floor")
            self.edge(bid, "CONTAINS", fid)
            n = max(4, int(round(sc.spaces_per_floor * rng.uniform(0.9, 1.1))))
            spaces = []
            for s, stype in enumerate(self.space_mix(fkind, n), start=1):
                sid = f"space:{b}:{k}:{s}"
                area = float(np.float64(rng.uniform(*_AREA[stype])).round(1))  # = np.round(x, 1), ~5x cheaper
                total_area += area
                self.area[sid] = area
                self.node(id=sid, type="Space", name=f"{stype} {b}.{level}.{s}", space_type=stype, area_m2=area,
                          brick_class=BRICK[("space", stype)].split(":", 1)[1])
                self.edge(fid, "CONTAINS", sid)
                spaces.append((sid, stype))
            floors.append((fid, fkind, spaces))
        self.s.nodes.insert(len(self.s.nodes) - sum(1 + len(f[2]) for f in floors),
                            dict(id=bid, type="Building", name=f"Building {b}", area_m2=float(np.round(total_area, 1)),
                                 carbon_kg_per_kwh=carbon, brick_class="Building"))
        self.edge(site, "CONTAINS", bid)

        def first(kind_: str, stype: str) -> tuple[str, str]:
            for fid, fk, sp in floors:
                if fk == kind_:
                    for sid, st in sp:
                        if st == stype:
                            return fid, sid
            raise LookupError(stype)

        # plant: main meter, plant sub-meter + panel, chillers on the roof, boilers in the basement
        bk = "basement" if sc.basements else "ground"
        _, plant_room = first(bk, "technical")
        _, roof_room = first("roof", "technical")
        main = self.meter(f"equip:{b}:meter:main", "main", "MainMeter", plant_room, None)
        psub = self.meter(f"equip:{b}:meter:plant", "sub", "PlantMeter", plant_room, main, shape=SHAPE_HVAC)
        ppanel = self.equipment(f"equip:{b}:panel:plant", "ElectricalPanel", plant_room, shape=SHAPE_HVAC)
        self.edge(psub, "FEEDS", ppanel)
        for fid, fk, sp in floors:
            for sid, st in sp:
                if st == "technical":
                    self.edge(psub, "SERVES", sid)
        plant = []
        for i in range(1, 3):
            ch = self.equipment(f"equip:{b}:chiller{i}", "Chiller", roof_room)
            pu = self.equipment(f"equip:{b}:chiller{i}:pump", "Pump", roof_room)
            self.edge(ch, "HAS_PART", pu)
            bo = self.equipment(f"equip:{b}:boiler{i}", "Boiler", plant_room)
            pb = self.equipment(f"equip:{b}:boiler{i}:pump", "Pump", plant_room)
            self.edge(bo, "HAS_PART", pb)
            for e in (ch, bo):
                self.edge(ppanel, "FEEDS", e)
            plant += [ch, bo]
        for pu in (f"equip:{b}:chiller{i}:pump" for i in (1, 2)):
            self.edge(ppanel, "FEEDS", pu)
        _, lobby = first("ground", "lobby")
        for i in range(1, 3):
            el = self.equipment(f"equip:{b}:elevator{i}", "Elevator", lobby)
            self.edge(ppanel, "FEEDS", el)
        self.equipment(f"equip:{b}:weather", "WeatherStation", roof_room)  # the building's one outdoor sensor

        self.light_feed: dict[str, str] = {}  # lighting circuit -> electrical source (panel or tenant meter)
        self.space_light: dict[str, str] = {}
        self.floor_meter: dict[str, tuple[str, str]] = {}  # floor -> (floor meter, technical room)
        for fid, fk, sp in floors:
            self.floor(b, fid, fk, sp, main, plant)
        tenant_no = self.tenants(b, floors, tenant_no)
        for lc, src in self.light_feed.items():
            self.edge(src, "FEEDS", lc)
        # the main meter's own load is the building's unmetered share (stated in docs/datasets.md)
        kids = [m for m, p in self.s.meter_parent.items() if p == main]
        nominal = sum(self._nominal(m) for m in kids)
        _, pci = self.s.meter_points[main]
        spec = self.s.point_specs[pci]
        self.s.point_scale[pci] = MAIN_UNMETERED * nominal / (spec.base + spec.amp)
        return tenant_no

    def _nominal(self, meter: str) -> float:
        """Nominal (base + amp) load below a meter: its own plus its child meters'."""
        _, pci = self.s.meter_points[meter]
        spec = self.s.point_specs[pci]
        own = (spec.base + spec.amp) * self.s.point_scale[pci]
        return own + sum(self._nominal(m) for m, p in self.s.meter_parent.items() if p == meter)

    def floor(self, b: int, fid: str, fk: str, spaces: list[tuple[str, str]], main: str, plant: list[str]) -> None:
        rng = self.rng
        k = fid.rsplit(":", 1)[1]
        tech = next((sid for sid, st in spaces if st == "technical"), spaces[0][0])
        sub = self.meter(f"equip:{b}:{k}:submeter", "sub", "FloorMeter", tech, main)
        self.floor_meter[fid] = (sub, tech)
        panel = self.equipment(f"equip:{b}:{k}:panel", "ElectricalPanel", tech)
        self.edge(sub, "FEEDS", panel)
        zones = {}
        for zk in ("security", "lighting", "fire"):
            zid = f"zone:{b}:{k}:{zk}"
            self.node(id=zid, type="Zone", name=f"{zk} zone {b}.{k}", zone_kind=zk, brick_class=_ZONE_BRICK[zk])
            zones[zk] = zid
        ahu = None
        if fk in ("ground", "office"):
            ahu = self.equipment(f"equip:{b}:{k}:ahu", "AHU", tech)
            for part in ("supply_fan", "return_fan"):
                fan = self.equipment(f"equip:{b}:{k}:ahu:{part}", "Fan", tech)
                self.edge(ahu, "HAS_PART", fan)
            for p in plant:
                self.edge(p, "FEEDS", ahu)
            self.edge(panel, "FEEDS", ahu)  # electrical supply of the fans
        doors = 0
        for sid, st in spaces:
            s = sid.rsplit(":", 1)[1]
            self.edge(sub, "SERVES", sid)
            for zk in ("security", "lighting", "fire"):
                self.edge(sid, "IN_ZONE", zones[zk])
            occ_shape = SHAPE_OCC if st in OCCUPIED else SHAPE_HVAC
            if ahu is not None and st in ("lobby", *OCCUPIED):
                # one HVAC zone per space, served by its group of terminal units (2 VAVs above 35 m²)
                zid = f"zone:{b}:{k}:hvac:{s}"
                self.node(id=zid, type="Zone", name=f"hvac zone {b}.{k}.{s}", zone_kind="hvac",
                          brick_class="HVAC_Zone")
                self.edge(sid, "IN_ZONE", zid)
                if st == "lobby":
                    units = [("FCU", f"fcu{i}") for i in (1, 2)]
                else:
                    units = [("VAV", "vav" if i == 1 else f"vav{i}") for i in range(1, 1 + (2 if self.area[sid] > 35 else 1))]
                for etype, suffix in units:
                    u = self.equipment(f"equip:{b}:{k}:{s}:{suffix}", etype, sid,
                                       shape=occ_shape if etype == "VAV" else None)
                    self.edge(ahu, "FEEDS", u)
                    self.edge(u, "SERVES", sid)
            elif st in ("corridor", "restroom", "storage", "technical", "it_room"):
                self.equipment(f"equip:{b}:{k}:{s}:tstat", "Thermostat", sid)
            if st not in ("technical", "storage"):
                lc = self.equipment(f"equip:{b}:{k}:{s}:light", "LightingCircuit", sid,
                                    shape=SHAPE_OCC if st != "parking" else SHAPE_HVAC)
                self.light_feed[lc] = panel
                self.space_light[sid] = lc
                self.edge(lc, "SERVES", sid)
            if st in ("corridor", "lobby", "parking"):
                self.equipment(f"equip:{b}:{k}:{s}:cam", "Camera", sid)
            if st == "it_room":
                ups = self.equipment(f"equip:{b}:{k}:{s}:ups", "UPS", sid)
                self.edge(panel, "FEEDS", ups)
                n_srv = 8 if fk in ("ground", "basement") else int(rng.integers(1, 4))
                for i in range(1, n_srv + 1):
                    srv = self.equipment(f"equip:{b}:{k}:{s}:server{i}", "Server", sid)
                    self.edge(ups, "FEEDS", srv)
                for i in range(1, 3 if n_srv > 3 else 2):
                    sw = self.equipment(f"equip:{b}:{k}:{s}:switch{i}", "NetworkSwitch", sid)
                    self.edge(ups, "FEEDS", sw)
            if st in ("lobby", "it_room") or (st == "office" and rng.random() < 0.15):
                doors += 1
                ac = self.equipment(f"equip:{b}:{k}:{s}:access", "AccessController", sid)
                self.edge(panel, "FEEDS", ac)
        if doors == 0:  # every security zone gets at least one access point
            sid = next((sid for sid, st in spaces if st == "corridor"), spaces[0][0])
            ac = self.equipment(f"equip:{b}:{k}:{sid.rsplit(':', 1)[1]}:access", "AccessController", sid)
            self.edge(panel, "FEEDS", ac)

    def tenants(self, b: int, floors: list, tenant_no: int) -> int:
        """Lease office floors: each tenant takes a contiguous run of occupied spaces (one building)."""
        leasable = [sid for fid, fk, sp in floors if fk in ("ground", "office") for sid, st in sp if st in OCCUPIED]
        n_t = min(self.scale.tenants_per_building, max(1, len(leasable) // 3))
        # ~85 % of leasable space is let; cut points split it into n_t contiguous runs
        let = leasable[: max(n_t, int(len(leasable) * 0.85))]
        cuts = np.sort(self.rng.choice(np.arange(1, len(let)), size=n_t - 1, replace=False)) if n_t > 1 else []
        floor_of = {sid: fid for fid, fk, sp in floors for sid, st in sp}
        for i, run in enumerate(np.split(np.array(let, dtype=object), cuts)):
            tenant_no += 1
            tid = f"tenant:{tenant_no}"
            self.node(id=tid, type="Tenant", name=f"{_TENANT_NAMES[tenant_no % len(_TENANT_NAMES)]} {tenant_no}",
                      brick_class="btb:Tenant")
            per_floor: dict[str, list[str]] = {}
            for sid in run:
                self.edge(tid, "OCCUPIES", str(sid))
                per_floor.setdefault(floor_of[str(sid)], []).append(str(sid))
            # a tenant sub-meter per floor it leases: serves only its spaces, feeds their lighting
            for fid, spaces in per_floor.items():
                fmeter, tech = self.floor_meter[fid]
                k = fid.rsplit(":", 1)[1]
                m = self.meter(f"equip:{b}:{k}:meter:t{tenant_no}", "tenant", "TenantMeter", tech, fmeter,
                               scale=len(spaces) / 3.0)
                for sid in spaces:
                    self.edge(m, "SERVES", sid)
                    if sid in self.space_light:
                        self.light_feed[self.space_light[sid]] = m
        return tenant_no

    def anomalies(self) -> None:
        """Seeded integrity problems for Q5: unlocated cameras/thermostats, unmapped thermostat points."""
        rng = self.rng
        cands = sorted(e for e in self.equip_located if e.endswith((":cam", ":tstat")))
        n = max(2, len(cands) // 200)
        drop_edges = set()
        loc_index = {(s, d): i for i, (s, r, d) in enumerate(self.s.edges) if r == "LOCATED_IN"}
        for e in rng.choice(cands, size=min(n, len(cands)), replace=False):
            drop_edges.add(loc_index[(str(e), self.equip_located[str(e)])])
        n = max(2, len(self.orphan_candidates) // 200)
        for ci in rng.choice(self.orphan_candidates, size=min(n, len(self.orphan_candidates)), replace=False):
            drop_edges.add(self.has_point_edge[int(ci)])
        self.s.edges = [e for i, e in enumerate(self.s.edges) if i not in drop_edges]

    def finish(self) -> None:
        """Assign point_idx grouped by (model, interval) and fill the per-point series parameters."""
        s, rng = self.s, self.rng
        # points share a few hundred template specs: read each attribute once per spec, then index
        uniq: dict[int, int] = {}
        templates: list = []
        spec_of = np.empty(len(s.point_specs), dtype=np.int64)
        for ci, sp in enumerate(s.point_specs):
            k = uniq.get(id(sp))
            if k is None:
                k = uniq[id(sp)] = len(templates)
                templates.append(sp)
            spec_of[ci] = k

        def attr(name: str, dtype) -> np.ndarray:  # per point (creation order)
            return np.array([getattr(sp, name) for sp in templates], dtype=dtype)[spec_of]

        model = np.array([MODELS.index(sp.model) for sp in templates], dtype=np.int64)[spec_of]
        point_shape = np.array(s.point_shape, dtype=np.int64)
        # (model, interval) groups the series tasks; shape inside a group lets a task add levels per run
        key = (model * 100_000 + attr("interval_s", np.int64)) * 10 + point_shape
        s.order = np.argsort(key, kind="stable")
        o = s.order
        f32 = np.float32
        scale = np.array(s.point_scale, dtype=np.float64)[o]
        s.params = {
            "model": model[o].astype(np.int8),
            "interval": attr("interval_s", np.int32)[o],
            "base": attr("base", np.float64)[o] * scale,
            "amp": (attr("amp", np.float64)[o] * scale).astype(f32),
            "sigma": (attr("sigma", np.float64)[o] * scale).astype(f32),
            "lo": attr("lo", f32)[o],
            "hi": attr("hi", f32)[o],
            "shape": point_shape[o].astype(np.int8),
        }
        jitter = attr("jitter", np.float64)[o] * scale
        s.params["base"] = (s.params["base"] + rng.standard_normal(len(o)) * jitter).astype(f32)
        # alarms: each point's rate spread log-uniformly over two decades around the template's rate
        alarm = s.params["model"] == MODELS.index("alarm")
        s.params["base"][alarm] *= (10.0 ** rng.uniform(-1.0, 1.0, int(alarm.sum()))).astype(f32)
        s.params["noise"] = s.params["sigma"].copy()
        # meters: point_idx of each energy point's power point, and of each power point's parent power point
        pos = np.empty(len(o), dtype=np.int64)
        pos[o] = np.arange(len(o))
        mpower = np.full(len(o), -1, np.int32)
        mparent = np.full(len(o), -1, np.int32)
        for m, (eci, pci) in s.meter_points.items():
            mpower[pos[eci]] = pos[pci]
            if m in s.meter_parent:
                mparent[pos[pci]] = pos[s.meter_points[s.meter_parent[m]][1]]
        s.params["mpower"], s.params["mparent"] = mpower, mparent
        # meters start from a realistic cumulative reading (float64 registers)
        init = rng.uniform(1_000, 50_000, len(o)) * np.maximum(s.params["base"], 1.0)
        s.params["init"] = np.where(mpower >= 0, np.round(init, 3), 0.0).astype(np.float64)


_AREA = {
    "office": (12, 60), "meeting": (15, 45), "corridor": (40, 150), "lobby": (80, 300), "technical": (20, 120),
    "it_room": (10, 60), "storage": (6, 30), "restroom": (8, 25), "parking": (200, 800),
}
_ZONE_BRICK = {"hvac": "HVAC_Zone", "security": "Zone", "lighting": "Lighting_Zone", "fire": "Fire_Zone"}
_TENANT_NAMES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Cyberdyne",
                 "Soylent", "Wonka", "Aperture", "Massive", "Oscorp")


def build_structure(scale: Scale, seed: int) -> Structure:
    """Deterministic structure of a scale for a seed."""
    return _Builder(scale, seed).build()
