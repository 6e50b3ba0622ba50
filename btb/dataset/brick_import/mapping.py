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

One module per step, in the order map_model calls them: `classes` (class -> role through the hierarchy),
`roles` (which terms are entities, and their roles), `ids`, `nodes` (attributes per node type), `edges`
(relations and their rules), `repairs` (cycles, sub-spaces, buildings, locations); `mapped` is the result.
"""

from __future__ import annotations

from btb.dataset.brick_import.classes import Classes
from btb.dataset.brick_import.edges import map_edges
from btb.dataset.brick_import.hierarchy import Hierarchy
from btb.dataset.brick_import.ids import stable_ids
from btb.dataset.brick_import.mapped import Mapped
from btb.dataset.brick_import.nodes import make_nodes
from btb.dataset.brick_import.parse import ModelData
from btb.dataset.brick_import.repairs import add_buildings, drop_cycles, locate_by_service, place_subspaces
from btb.dataset.brick_import.roles import entity_roles


def map_model(data: ModelData, h: Hierarchy, *, model_name: str, infer_locations: bool = True) -> Mapped:
    """The btb structure of a parsed model (see the module docstring for every rule)."""
    cl = Classes(h, data)
    m = Mapped()
    roles = entity_roles(data, cl, m.summary)
    ids = stable_ids(data, [t for t in roles.terms if t in roles.role])
    node = make_nodes(data, roles, ids, cl, m.summary)
    edges = map_edges(data, node, m.summary)  # adds one PointGroup node per location carrying points
    m.nodes = list(node.values())
    m.edges = list(edges) if data.streamed else sorted(edges)
    drop_cycles(m)
    place_subspaces(m)
    add_buildings(m, model_name)
    if infer_locations:
        locate_by_service(m)
    own = {node[t]["id"]: roles.cls_of.get(t) for t in node if t in roles.cls_of}
    for n in m.nodes:
        if n["type"] == "Point":
            m.point_class[n["id"]] = own.get(n["id"]) or n["brick_class"]
    m.nodes = [n for n in m.nodes if n["type"] != "Point"] + [n for n in m.nodes if n["type"] == "Point"]
    return m
