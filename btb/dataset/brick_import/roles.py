"""Which of a model's terms are entities, and each entity's btb role (node type) and class: from its classes
through the hierarchy, else (untyped, or a class no release defines) from the relations it takes part in."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from btb.dataset.brick_import.classes import Classes
from btb.dataset.brick_import.hierarchy import local_name
from btb.dataset.brick_import.ids import stable_ids
from btb.dataset.brick_import.parse import ModelData
from btb.dataset.brick_import.summary import ImportSummary


@dataclass
class Roles:
    """Entities in a reproducible order, the role of those kept, the mapped class of those that have one."""

    terms: list[str]
    role: dict[str, str]
    cls_of: dict[str, str]


def entity_roles(data: ModelData, cl: Classes, S: ImportSummary) -> Roles:
    """Roles by class first, then by relations for the rest; what gets no role is dropped and counted."""
    out = Roles(_entities(data), {}, {})
    for t in out.terms:
        _role_by_class(t, data, cl, S, out)
    _roles_by_relations(data, cl, S, out)
    return out


def _entities(data: ModelData) -> list[str]:
    """Typed or related terms that are not classes, sorted by stable id for a Turtle model."""
    classes = {c for cs in data.types.values() for c in cs} | {x for pair in data.subclass for x in pair}
    terms = [t for t in dict.fromkeys([*data.types.keys(), *(x for s, _, o in data.relations for x in (s, o))])
             if t not in classes]  # a class the model declares (btb:Tenant a owl:Class) is not an entity
    if not data.streamed:  # Turtle: rdflib's order is neither the file's nor stable (hash order, random
        # blank-node labels); entities go by their stable id and edges are sorted, so an import is reproducible
        order = stable_ids(data, terms)
        terms.sort(key=lambda t: (order[t], t))
    return terms


def _role_by_class(t: str, data: ModelData, cl: Classes, S: ImportSummary, out: Roles) -> None:
    """The deepest of t's classes that has a role decides; a class without one is still kept as t's class."""
    names = [n for n in (cl.name(c) for c in data.types.get(t, ())) if n and n != "NamedIndividual"]
    cands = [(cl.role(n), n) for n in names]
    known = [(r, n) for (r, how), n in cands if r is not None]
    if known:
        r, n = max(known, key=lambda x: (cl.depth(x[1]), x[1]))
        out.role[t], out.cls_of[t] = r, n
        how = next(h_ for (r_, h_), n_ in cands if n_ == n)
        if how == "suffix":
            S.infer(f"class unknown to every Brick release, role from its name suffix ({n} -> {r})")
    elif names:
        out.cls_of[t] = max(names)
    elif data.types.get(t):  # typed only with classes outside Brick and never declared under one
        out.cls_of[t] = f"{local_name(sorted(data.types[t])[0])} (not a Brick class)"


def _roles_by_relations(data: ModelData, cl: Classes, S: ImportSummary, out: Roles) -> None:
    """Object of hasPoint -> Point, subject of hasPoint/feeds -> Equipment, object of hasLocation -> Space."""
    subj_rel: dict[str, set[str]] = defaultdict(set)
    obj_rel: dict[str, set[str]] = defaultdict(set)
    for s, r, o in data.relations:
        subj_rel[s].add(r)
        obj_rel[o].add(r)
    for t in out.terms:
        if t in out.role:
            continue
        cls = out.cls_of.get(t)
        if cls is not None and cl.role(cls) == (None, "hierarchy"):  # System, Collection, Loop, Substance…
            S.drop("Brick class btb has no node type for (System, Collection, Loop, …)", example=t)
            S.map(cls, "(dropped: no btb node type)")
            continue
        guess = ("Point" if "hasPoint" in obj_rel[t] else
                 "Equipment" if subj_rel[t] & {"hasPoint", "feeds"} else
                 "Space" if "hasLocation" in obj_rel[t] else None)
        what = f"class {cls}" if cls is not None else "untyped"
        if guess:
            out.role[t] = guess
            S.infer(f"{what} entity, role from its relations -> {guess}")
        else:
            S.drop(f"{what} entity with no relation that implies a role", example=t)
            if cls is not None:
                S.map(cls, "(dropped)")
