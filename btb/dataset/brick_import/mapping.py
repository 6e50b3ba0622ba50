"""A parsed Brick model -> btb's structure (nodes with attributes, typed edges), every decision counted.

Classes are mapped through the Brick hierarchy (`rdfs:subClassOf*` of every shipped Brick release plus the
model's own `rdfs:subClassOf` axioms), never through a list of names: an entity is a Point, Equipment,
Site, Building, Floor, Zone or Space (any other Location) when its class descends from that Brick class.
Points and equipment store the nearest class btb's workload distinguishes (e.g. an
`Average_Zone_Air_Temperature_Sensor` is stored as `Zone_Air_Temperature_Sensor`, so Q4/Q7/Q13 select it);
locations keep their own class. Rules for messy input (see docs/brick-import.md):

- untyped entity, or a class no Brick release defines: its role is inferred from its relations (object of
  `hasPoint` -> Point, subject of `hasPoint`/`feeds` -> Equipment, object of `hasLocation` -> Space); a
  Brick-namespace class unknown to every release (e.g. Brick 1.0 `Smoke_Detected_Alarm`) by its suffix
  (`_Sensor`, `_Setpoint`, `_Command`, `_Status`, `_Alarm`); otherwise dropped and counted;
- points attached to a location (`room hasPoint p`, `p hasLocation room`): one inferred equipment per
  location (`<location>/points`, type `PointGroup`) carries them, located in it when it is a space;
- equipment with no location that serves exactly one space is located in that space (inferred);
- `feeds` to a zone serves every space of the zone; a model without a building gets one (named after the
  file), floors without a building are put in the only building, spaces without a floor in an inferred one;
- cycles in `hasPart` (containment), `HAS_PART` and `FEEDS`: the edge that closes a cycle (depth-first,
  sorted order) is dropped and counted; blank-node entities get ids from a hash of their own triples.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field

from btb.dataset.brick import BRICK, BTB_NS
from btb.dataset.brick_import.hierarchy import Hierarchy, is_brick_iri, local_name
from btb.dataset.brick_import.parse import ModelData
from btb.dataset.brick_import.summary import ImportSummary
from btb.dataset.pointspecs import EQUIPMENT_BRICK, METER_BRICK, POINTS

ROLES = ("Point", "Equipment", "Site", "Building", "Floor", "Zone", "Space", "Tenant")
# (role, Brick root): the nearest root above a class decides (Brick 1.4's REC alignment puts
# Parking_Space under both Space and Zone: Space is nearer); ties go to the earlier row
ROLE_ROOTS = [("Point", "Point"), ("Equipment", "Equipment"), ("Site", "Site"), ("Building", "Building"),
              ("Floor", "Floor"), ("Floor", "Storey"), ("Space", "Space"), ("Zone", "Zone"), ("Space", "Location")]
LOCATIONS = ("Site", "Building", "Floor", "Space")
# (model relation, source node type, target node type) -> btb relation, for the one-to-one cases; the
# others (points on locations, feeds to a zone, zone parts, sub-spaces, a meter of a floor) are rules below
EDGE_MAP: dict[tuple[str, str, str], str] = {
    ("hasPoint", "Equipment", "Point"): "HAS_POINT",
    ("feeds", "Equipment", "Equipment"): "FEEDS", ("feeds", "Equipment", "Space"): "SERVES",
    ("meters", "Equipment", "Equipment"): "FEEDS", ("meters", "Equipment", "Space"): "SERVES",
    ("hasLocation", "Equipment", "Space"): "LOCATED_IN",
    ("hasPart", "Site", "Building"): "CONTAINS", ("hasPart", "Building", "Floor"): "CONTAINS",
    ("hasPart", "Floor", "Space"): "CONTAINS", ("hasPart", "Equipment", "Equipment"): "HAS_PART",
    ("occupies", "Tenant", "Space"): "OCCUPIES",
}
SUBSPACE = "SUBSPACE"  # Space hasPart Space while mapping; never written (the part joins its parent's floor)
POINT_KINDS = [("Alarm", "alarm"), ("Status", "status"), ("Command", "command"), ("Setpoint", "setpoint"),
               ("Parameter", "setpoint"), ("Limit", "setpoint"), ("Sensor", "sensor")]
SUFFIX_ROLE = [("_Sensor", "Sensor"), ("_Setpoint", "Setpoint"), ("_Command", "Command"), ("_Status", "Status"),
               ("_Alarm", "Alarm"), ("_Meter", "Meter"), ("_Fan", "Fan"), ("_Pump", "Pump")]
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


@dataclass
class Mapped:
    """btb structure of a model: node dicts (NODE_SCHEMA columns), edges, and each point's mapped class."""

    nodes: list[dict] = field(default_factory=list)  # non-point nodes, then points (no point_idx yet unless given)
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    point_class: dict[str, str] = field(default_factory=dict)  # point id -> class used for its series model
    summary: ImportSummary = field(default_factory=ImportSummary)

    def of(self, typ: str) -> list[dict]:
        return [n for n in self.nodes if n["type"] == typ]


class _Classes:
    """Class IRIs -> Brick local names through the hierarchy and the model's own axioms."""

    def __init__(self, h: Hierarchy, data: ModelData):
        self.h = Hierarchy(parents={k: list(v) for k, v in h.parents.items()})
        self.model_parents: dict[str, list[str]] = defaultdict(list)
        for child, parent in data.subclass:
            self.model_parents[child].append(parent)
            cn, pn = self.name(child), self.name(parent)
            if cn and pn:
                self.h.add(cn, pn)  # a btb:/Brick class the model declares under a Brick class
        # punning (Rice: `brick1.0:VAV_Box_Operating_Mode a brick:Point`, the class typed as an individual):
        # a class the model types with a Brick class is read as that class's subclass
        used_as_class = {c for cs in data.types.values() for c in cs}
        for t, cs in data.types.items():
            if t in used_as_class:
                for c in cs:
                    tn, cn = self.name(t), self.name(c)
                    if tn and cn and cn != "NamedIndividual" and not self.h.known(tn):
                        self.h.add(tn, cn)
        self._role: dict[str, tuple[str | None, str]] = {}

    def name(self, iri: str) -> str | None:
        """Local name of a Brick/REC/btb class IRI, or of the first Brick class above a model class."""
        if is_brick_iri(iri) or iri.startswith(BTB_NS):
            return local_name(iri)
        seen, stack = {iri}, list(self.model_parents.get(iri, ()))
        while stack:
            p = stack.pop(0)
            if p in seen:
                continue
            seen.add(p)
            if is_brick_iri(p) or p.startswith(BTB_NS):
                return local_name(p)
            stack += self.model_parents.get(p, ())
        return None

    def role(self, cls: str) -> tuple[str | None, str]:
        """(btb node type or None, how: 'hierarchy' | 'suffix' | 'unknown')."""
        if cls not in self._role:
            self._role[cls] = self._role_of(cls)
        return self._role[cls]

    def _role_of(self, cls: str) -> tuple[str | None, str]:
        if cls == "Tenant":
            return "Tenant", "hierarchy"
        if self.h.known(cls):
            dist = {c: d for c, d in self.h.ancestors(cls)}
            hits = [(dist[root], i, role) for i, (role, root) in enumerate(ROLE_ROOTS) if root in dist]
            return (min(hits)[2] if hits else None), "hierarchy"  # None: System, Collection, Loop…  # a Brick class btb has no node type for (System, Collection, Loop…)
        for suffix, root in SUFFIX_ROLE:
            if cls.endswith(suffix):
                return ("Point" if root not in ("Meter", "Fan", "Pump") else "Equipment"), "suffix"
        return None, "unknown"

    def depth(self, cls: str) -> int:
        return len(self.h.ancestors(cls))


def _stable_ids(data: ModelData, terms: list[str]) -> dict[str, str]:
    """btb id per term: btb:id when the model has it (btb's own export), else the IRI's local name when
    unique, else the full IRI; blank nodes: 'bnode:' + a hash of their own triples (parse-independent)."""
    out: dict[str, str] = {}
    locals_: dict[str, int] = defaultdict(int)
    for t in terms:
        if not t.startswith("_:"):
            locals_[local_name(t)] += 1
    rel_by_s: dict[str, list[str]] = defaultdict(list)
    for s, r, o in data.relations:
        if s.startswith("_:"):
            rel_by_s[s].append(f"{r}>{'_' if o.startswith('_:') else o}")
        if o.startswith("_:"):
            rel_by_s[o].append(f"<{r}{'_' if s.startswith('_:') else s}")
    used: set[str] = set()
    for t in terms:
        given = data.btb_attrs.get(t, {}).get("id")
        if given is not None:
            out[t] = str(given)
        elif t.startswith("_:"):
            content = "|".join(sorted(data.types.get(t, [])) + sorted(rel_by_s[t]) + [data.labels.get(t, "")])
            base = "bnode:" + hashlib.sha256(content.encode()).hexdigest()[:12]
            i, cand = 1, base
            while cand in used:
                i += 1
                cand = f"{base}-{i}"
            out[t] = cand
        else:
            ln = local_name(t)
            out[t] = ln if ln and locals_[ln] == 1 else t
        used.add(out[t])
    return out


def map_model(data: ModelData, h: Hierarchy, *, model_name: str, infer_locations: bool = True) -> Mapped:
    """The btb structure of a parsed model (see the module docstring for every rule)."""
    cl = _Classes(h, data)
    m = Mapped()
    S = m.summary
    # 1. every entity's class and role
    classes = {c for cs in data.types.values() for c in cs} | {x for pair in data.subclass for x in pair}
    terms = [t for t in dict.fromkeys([*data.types.keys(), *(x for s, _, o in data.relations for x in (s, o))])
             if t not in classes]  # a class the model declares (btb:Tenant a owl:Class) is not an entity
    if not data.streamed:  # Turtle: rdflib's order is neither the file's nor stable (hash order, random
        # blank-node labels); entities go by their stable id and edges are sorted, so an import is reproducible
        order = _stable_ids(data, terms)
        terms.sort(key=lambda t: (order[t], t))
    role: dict[str, str] = {}
    cls_of: dict[str, str] = {}
    for t in terms:
        names = [n for n in (cl.name(c) for c in data.types.get(t, ())) if n and n != "NamedIndividual"]
        cands = [(cl.role(n), n) for n in names]
        known = [(r, n) for (r, how), n in cands if r is not None]
        if known:
            r, n = max(known, key=lambda x: (cl.depth(x[1]), x[1]))
            role[t], cls_of[t] = r, n
            how = next(h_ for (r_, h_), n_ in cands if n_ == n)
            if how == "suffix":
                S.infer(f"class unknown to every Brick release, role from its name suffix ({n} -> {r})")
        elif names:
            cls_of[t] = max(names)
        elif data.types.get(t):  # typed only with classes outside Brick and never declared under one
            cls_of[t] = f"{local_name(sorted(data.types[t])[0])} (not a Brick class)"
    # roles of untyped / unknown-class entities, from their relations
    subj_rel: dict[str, set[str]] = defaultdict(set)
    obj_rel: dict[str, set[str]] = defaultdict(set)
    for s, r, o in data.relations:
        subj_rel[s].add(r)
        obj_rel[o].add(r)
    for t in terms:
        if t in role:
            continue
        if t in cls_of and cl.role(cls_of[t]) == (None, "hierarchy"):  # System, Collection, Loop, Substance…
            S.drop("Brick class btb has no node type for (System, Collection, Loop, …)", example=t)
            S.map(cls_of[t], "(dropped: no btb node type)")
            continue
        guess = ("Point" if "hasPoint" in obj_rel[t] else
                 "Equipment" if subj_rel[t] & {"hasPoint", "feeds"} else
                 "Space" if "hasLocation" in obj_rel[t] else None)
        what = f"class {cls_of[t]}" if t in cls_of else "untyped"
        if guess:
            role[t] = guess
            S.infer(f"{what} entity, role from its relations -> {guess}")
        else:
            S.drop(f"{what} entity with no relation that implies a role", example=t)
            if t in cls_of:
                S.map(cls_of[t], "(dropped)")
    ids = _stable_ids(data, [t for t in terms if t in role])
    kept = {t for t in terms if t in role}
    # 2. nodes
    node: dict[str, dict] = {}
    for t in terms:
        if t not in kept:
            continue
        r, c = role[t], cls_of.get(t)
        attrs = data.btb_attrs.get(t, {})
        n: dict = {"id": ids[t], "type": r, "name": str(attrs.get("name") or data.labels.get(t) or ids[t])}
        for k in ATTRS[1:]:
            if k in attrs and attrs[k] is not None:
                n[k] = attrs[k]
        _fill(n, r, c, cl, t, m)
        node[t] = n
        S.map(c or "(untyped)", f"{r}:{n['brick_class']}")
    # 3. edges
    edges: dict[tuple[str, str, str], None] = {}
    on_location: dict[str, list[str]] = defaultdict(list)  # location term -> point terms attached to it
    zone_parts: dict[str, list[str]] = defaultdict(list)
    feeds_zone: list[tuple[str, str]] = []
    meters_area: list[tuple[str, str]] = []  # (meter, floor or building) it measures

    def add(s: str, rel: str, d: str) -> None:
        edges.setdefault((node[s]["id"], rel, node[d]["id"]))

    for s, r, o in data.relations:
        if s not in node or o not in node:
            S.drop(f"{r} edge to or from a dropped entity")
            continue
        a, b = node[s]["type"], node[o]["type"]
        direct = EDGE_MAP.get((r, a, b))
        if direct:
            add(s, direct, o)
        elif r == "hasPart" and (a, b) == ("Zone", "Space"):
            add(o, "IN_ZONE", s)
            zone_parts[s].append(o)
        elif r == "hasPart" and (a, b) == ("Space", "Space"):  # a room of a suite: resolved by _subspaces
            add(s, SUBSPACE, o)
        elif r in ("hasPoint", "hasLocation") and "Point" in (a, b) and ({a, b} - {"Point"}) <= {*LOCATIONS, "Zone"}:
            loc, pt = (s, o) if b == "Point" else (o, s)
            on_location[loc].append(pt)
        elif r == "feeds" and (a, b) == ("Equipment", "Zone"):
            feeds_zone.append((s, o))
        elif r == "meters" and a == "Equipment" and b in ("Floor", "Building"):
            meters_area.append((s, o))
        elif r == "hasLocation" and a == "Equipment":
            S.drop(f"hasLocation Equipment -> {b} (btb locates equipment in spaces)", example=f"{s} -> {o}")
        else:
            S.drop(f"{r} {a} -> {b}", example=f"{s} -> {o}")
    for e, z in feeds_zone:
        if zone_parts[z]:
            for sp in zone_parts[z]:
                add(e, "SERVES", sp)
            S.infer("feeds to a zone -> SERVES each space of the zone", len(zone_parts[z]))
        else:
            S.drop("feeds to a zone with no space", example=f"{e} -> {z}")
    contains: dict[str, list[str]] = defaultdict(list)
    for s_, r_, d_ in edges:
        if r_ == "CONTAINS":
            contains[s_].append(d_)
    for e, area in meters_area:  # a meter of a floor/building serves the spaces below it
        todo, spaces = [node[area]["id"]], []
        while todo:
            x = todo.pop()
            for c in contains.get(x, ()):
                (spaces.append(c) if c in {n["id"] for n in node.values() if n["type"] == "Space"} else todo.append(c))
        for sp in spaces:
            edges.setdefault((node[e]["id"], "SERVES", sp))
        if spaces:
            S.infer(f"meters a {node[area]['type']} -> SERVES each of its spaces", len(spaces))
        else:
            S.drop(f"meters a {node[area]['type']} with no space", example=f"{e} -> {area}")
    # 4. points attached to locations: one inferred equipment per location
    has_equipment = {d for (s, r, d) in edges if r == "HAS_POINT"}
    for loc, pts in sorted(on_location.items(), key=lambda kv: node[kv[0]]["id"]):
        pts = [p for p in dict.fromkeys(pts) if node[p]["id"] not in has_equipment]
        if not pts:
            continue
        lid = node[loc]["id"]
        eid = f"{lid}/points"
        grp = {"id": eid, "type": "Equipment", "name": f"points of {node[loc]['name']}", "equipment_type": "PointGroup",
               "domain": "hvac", "brick_class": "Equipment"}
        node[eid] = grp
        S.infer(f"equipment carrying points attached to a {node[loc]['type']} (PointGroup)")
        S.infer(f"points attached to a {node[loc]['type']} moved to its PointGroup", len(pts))
        if node[loc]["type"] == "Space":
            edges.setdefault((eid, "LOCATED_IN", lid))
        for p in pts:
            edges.setdefault((eid, "HAS_POINT", node[p]["id"]))
    m.nodes = [n for n in node.values()]
    m.edges = list(edges) if data.streamed else sorted(edges)
    _drop_cycles(m)
    _subspaces(m)
    _buildings(m, model_name)
    if infer_locations:
        _locate_by_service(m)
    _point_classes(m, cl, {node[t]["id"]: cls_of.get(t) for t in node if isinstance(node[t], dict) and t in cls_of})
    nodes_pts = [n for n in m.nodes if n["type"] == "Point"]
    m.nodes = [n for n in m.nodes if n["type"] != "Point"] + nodes_pts
    return m


def _fill(n: dict, r: str, c: str | None, cl: _Classes, term: str, m: Mapped) -> None:
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


def _buildings(m: Mapped, model_name: str) -> None:
    """A building for a model without one; floors without a building into the only one; orphan spaces
    into an inferred floor."""
    S = m.summary
    parent = defaultdict(set)
    for s, r, d in m.edges:
        if r == "CONTAINS":
            parent[d].add(s)
    types = {n["id"]: n["type"] for n in m.nodes}
    bldgs = [n for n in m.nodes if n["type"] == "Building"]
    if not bldgs:
        b = {"id": f"building:{model_name}", "type": "Building", "name": model_name, "brick_class": "Building",
             "carbon_kg_per_kwh": DEFAULT_CARBON}
        m.nodes.insert(0, b)
        bldgs = [b]
        types[b["id"]] = "Building"
        S.infer("Building for a model without one")
    floors = [n for n in m.nodes if n["type"] == "Floor"]
    orphans = [f for f in floors if not any(types.get(p) == "Building" for p in parent[f["id"]])]
    if orphans:
        if len(bldgs) == 1:
            for f in orphans:
                m.edges.append((bldgs[0]["id"], "CONTAINS", f["id"]))
            S.infer("Floor without a building -> CONTAINS from the model's only building", len(orphans))
        else:
            S.drop("Floor without a building (several buildings: not guessed)", len(orphans))
    spaces = [n for n in m.nodes if n["type"] == "Space"]
    lone = [s for s in spaces if not any(types.get(p) in ("Floor", "Space") for p in parent[s["id"]])]
    if lone and len(bldgs) == 1:
        fid = f"{bldgs[0]['id']}/floor"
        m.nodes.append({"id": fid, "type": "Floor", "name": f"{bldgs[0]['name']} (inferred floor)", "level": 0,
                        "floor_type": "office", "brick_class": "Floor"})
        m.edges.append((bldgs[0]["id"], "CONTAINS", fid))
        for s in lone:
            m.edges.append((fid, "CONTAINS", s["id"]))
        S.infer("Floor for spaces with no floor (one per building)")
        S.infer("Space without a floor -> CONTAINS from the inferred floor", len(lone))
    elif lone:
        S.drop("Space without a floor (several buildings: not guessed)", len(lone))


def _drop_cycles(m: Mapped) -> None:
    """Drop each edge that closes a cycle in containment, HAS_PART or FEEDS (depth-first, sorted order)."""
    S = m.summary
    drop: set[tuple[str, str, str]] = set()
    for rel in ("CONTAINS", SUBSPACE, "HAS_PART", "FEEDS"):
        out: dict[str, list[str]] = defaultdict(list)
        for s, r, d in m.edges:
            if r == rel:
                out[s].append(d)
        state: dict[str, int] = {}
        for root in sorted(out):
            if state.get(root):
                continue
            stack = [(root, iter(sorted(out[root])))]
            state[root] = 1
            while stack:
                v, it = stack[-1]
                w = next(it, None)
                if w is None:
                    state[v] = 2
                    stack.pop()
                elif state.get(w) == 1:
                    drop.add((v, rel, w))
                    S.drop(f"{'hasPart Space -> Space' if rel == SUBSPACE else rel} edge closing a cycle",
                           example=f"{v} -> {w}")
                elif not state.get(w):
                    state[w] = 1
                    stack.append((w, iter(sorted(out[w]))))
    if drop:
        m.edges = [e for e in m.edges if e not in drop]


def _subspaces(m: Mapped) -> None:
    """Space hasPart Space: btb has no sub-spaces, so a part with no floor of its own is put on the floor of
    the nearest enclosing space that has one (inferred); the Space -> Space edges are not kept."""
    sub = [(a, b) for a, r, b in m.edges if r == SUBSPACE]
    if not sub:
        return
    m.edges = [e for e in m.edges if e[1] != SUBSPACE]
    floor_of: dict[str, str] = {}
    for a, r, b in m.edges:
        if r == "CONTAINS" and any(n["id"] == a and n["type"] == "Floor" for n in m.nodes):
            floor_of.setdefault(b, a)
    parent = {b: a for a, b in sub}
    n = 0
    for _, inner in sorted(sub):
        if inner in floor_of:
            continue
        x, seen = parent.get(inner), {inner}
        while x is not None and x not in floor_of and x not in seen:  # cycles were cut before; stay safe
            seen.add(x)
            x = parent.get(x)
        if x is not None and x in floor_of:
            m.edges.append((floor_of[x], "CONTAINS", inner))
            floor_of[inner] = floor_of[x]
            n += 1
    m.summary.drop("hasPart Space -> Space (btb has no sub-spaces)", len(sub))
    if n:
        m.summary.infer("Space part of a space -> CONTAINS from the enclosing space's floor", n)


def _locate_by_service(m: Mapped) -> None:
    """Equipment with no LOCATED_IN that SERVES exactly one space is located in it (a VAV box above its room)."""
    located = {s for s, r, _ in m.edges if r == "LOCATED_IN"}
    serves: dict[str, list[str]] = defaultdict(list)
    for s, r, d in m.edges:
        if r == "SERVES":
            serves[s].append(d)
    n = 0
    for e in [x["id"] for x in m.nodes if x["type"] == "Equipment"]:
        if e not in located and len(set(serves.get(e, ()))) == 1:
            m.edges.append((e, "LOCATED_IN", serves[e][0]))
            n += 1
    if n:
        m.summary.infer("Equipment without location serving exactly one space -> LOCATED_IN that space", n)
    left = sum(1 for x in m.nodes if x["type"] == "Equipment") - len(located) - n
    if left:
        m.summary.infer("Equipment left without location (Q5 lists it)", left)


def _point_classes(m: Mapped, cl: _Classes, own: dict[str, str | None]) -> None:
    for n in m.nodes:
        if n["type"] == "Point":
            m.point_class[n["id"]] = own.get(n["id"]) or n["brick_class"]
