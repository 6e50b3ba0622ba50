"""btb edges of a model's relations: the one-to-one cases by EDGE_MAP, then the rules (points attached to a
location get one PointGroup equipment per location, `feeds` to a zone serves its spaces, a meter of a
floor/building serves the spaces below it, Space hasPart Space is kept as SUBSPACE for the repairs)."""

from __future__ import annotations

from collections import defaultdict

from btb.dataset.brick_import.parse import ModelData
from btb.dataset.brick_import.summary import ImportSummary

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
Edges = dict[tuple[str, str, str], None]  # an insertion-ordered set of (src id, rel, dst id)


class _Rules:
    """The relations no EDGE_MAP row maps, collected while the relations are read, applied after."""

    def __init__(self) -> None:
        self.on_location: dict[str, list[str]] = defaultdict(list)  # location term -> point terms attached to it
        self.zone_parts: dict[str, list[str]] = defaultdict(list)  # zone term -> its space terms
        self.feeds_zone: list[tuple[str, str]] = []  # (equipment, zone) it feeds
        self.meters_area: list[tuple[str, str]] = []  # (meter, floor or building) it measures


def map_edges(data: ModelData, node: dict[str, dict], S: ImportSummary) -> Edges:
    """Every relation between kept entities as btb edges; adds the PointGroup nodes to `node`."""
    edges: Edges = {}
    rules = _read_relations(data, node, edges, S)
    _zone_feeds(node, edges, rules, S)
    _area_meters(node, edges, rules, S)
    _point_groups(node, edges, rules, S)
    return edges


def _read_relations(data: ModelData, node: dict[str, dict], edges: Edges, S: ImportSummary) -> _Rules:
    """Direct edges into `edges`; what a rule resolves later into the returned _Rules; the rest dropped."""
    rules = _Rules()

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
            rules.zone_parts[s].append(o)
        elif r == "hasPart" and (a, b) == ("Space", "Space"):  # a room of a suite: resolved by the repairs
            add(s, SUBSPACE, o)
        elif r in ("hasPoint", "hasLocation") and "Point" in (a, b) and ({a, b} - {"Point"}) <= {*LOCATIONS, "Zone"}:
            loc, pt = (s, o) if b == "Point" else (o, s)
            rules.on_location[loc].append(pt)
        elif r == "feeds" and (a, b) == ("Equipment", "Zone"):
            rules.feeds_zone.append((s, o))
        elif r == "meters" and a == "Equipment" and b in ("Floor", "Building"):
            rules.meters_area.append((s, o))
        elif r == "hasLocation" and a == "Equipment":
            S.drop(f"hasLocation Equipment -> {b} (btb locates equipment in spaces)", example=f"{s} -> {o}")
        else:
            S.drop(f"{r} {a} -> {b}", example=f"{s} -> {o}")
    return rules


def _zone_feeds(node: dict[str, dict], edges: Edges, rules: _Rules, S: ImportSummary) -> None:
    """`feeds` to a zone: SERVES each space of the zone."""
    for e, z in rules.feeds_zone:
        if rules.zone_parts[z]:
            for sp in rules.zone_parts[z]:
                edges.setdefault((node[e]["id"], "SERVES", node[sp]["id"]))
            S.infer("feeds to a zone -> SERVES each space of the zone", len(rules.zone_parts[z]))
        else:
            S.drop("feeds to a zone with no space", example=f"{e} -> {z}")


def _area_meters(node: dict[str, dict], edges: Edges, rules: _Rules, S: ImportSummary) -> None:
    """A meter of a floor/building serves the spaces below it (through CONTAINS)."""
    contains: dict[str, list[str]] = defaultdict(list)
    for s_, r_, d_ in edges:
        if r_ == "CONTAINS":
            contains[s_].append(d_)
    space_ids = {n["id"] for n in node.values() if n["type"] == "Space"}
    for e, area in rules.meters_area:
        todo, spaces = [node[area]["id"]], []
        while todo:
            x = todo.pop()
            for c in contains.get(x, ()):
                (spaces.append(c) if c in space_ids else todo.append(c))
        for sp in spaces:
            edges.setdefault((node[e]["id"], "SERVES", sp))
        if spaces:
            S.infer(f"meters a {node[area]['type']} -> SERVES each of its spaces", len(spaces))
        else:
            S.drop(f"meters a {node[area]['type']} with no space", example=f"{e} -> {area}")


def _point_groups(node: dict[str, dict], edges: Edges, rules: _Rules, S: ImportSummary) -> None:
    """Points attached to a location and to no equipment: one inferred equipment per location carries them."""
    has_equipment = {d for (s, r, d) in edges if r == "HAS_POINT"}
    for loc, pts in sorted(rules.on_location.items(), key=lambda kv: node[kv[0]]["id"]):
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
