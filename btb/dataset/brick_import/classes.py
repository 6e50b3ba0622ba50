"""Class IRIs of a model -> Brick local names and btb roles, through the Brick hierarchy of every shipped
release plus the model's own `rdfs:subClassOf` axioms (and punned classes), never through a list of names."""

from __future__ import annotations

from collections import defaultdict

from btb.dataset.brick import BTB_NS
from btb.dataset.brick_import.hierarchy import Hierarchy, is_brick_iri, local_name
from btb.dataset.brick_import.parse import ModelData

ROLES = ("Point", "Equipment", "Site", "Building", "Floor", "Zone", "Space", "Tenant")
# (role, Brick root): the nearest root above a class decides (Brick 1.4's REC alignment puts
# Parking_Space under both Space and Zone: Space is nearer); ties go to the earlier row
ROLE_ROOTS = [("Point", "Point"), ("Equipment", "Equipment"), ("Site", "Site"), ("Building", "Building"),
              ("Floor", "Floor"), ("Floor", "Storey"), ("Space", "Space"), ("Zone", "Zone"), ("Space", "Location")]
SUFFIX_ROLE = [("_Sensor", "Sensor"), ("_Setpoint", "Setpoint"), ("_Command", "Command"), ("_Status", "Status"),
               ("_Alarm", "Alarm"), ("_Meter", "Meter"), ("_Fan", "Fan"), ("_Pump", "Pump")]


class Classes:
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
            # None: a Brick class btb has no node type for (System, Collection, Loop…)
            return (min(hits)[2] if hits else None), "hierarchy"
        for suffix, root in SUFFIX_ROLE:
            if cls.endswith(suffix):
                return ("Point" if root not in ("Meter", "Fan", "Pump") else "Equipment"), "suffix"
        return None, "unknown"

    def depth(self, cls: str) -> int:
        return len(self.h.ancestors(cls))
