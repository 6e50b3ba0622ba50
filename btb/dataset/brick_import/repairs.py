"""Repairs of a mapped model that btb's structure needs (docs/brick-import.md), each counted in the summary:
edges closing a cycle dropped, sub-spaces put on their enclosing space's floor, a building (and floor) for
what has none, unlocated equipment serving exactly one space located in it. Called in that order."""

from __future__ import annotations

from collections import defaultdict

from btb.dataset.brick_import.edges import SUBSPACE
from btb.dataset.brick_import.mapped import Mapped
from btb.dataset.brick_import.nodes import DEFAULT_CARBON


def drop_cycles(m: Mapped) -> None:
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


def place_subspaces(m: Mapped) -> None:
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


def add_buildings(m: Mapped, model_name: str) -> None:
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


def locate_by_service(m: Mapped) -> None:
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
