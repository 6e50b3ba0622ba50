"""Writes on the RDF store (O1 whole, O2's structure half): series appended into O1's (point, day) chunk
resources, structure changes as SPARQL updates (one request each, one transaction on the server).

What a chunk costs on write here: its samples are two base64 literals, and a literal cannot be extended in
place (base64 of a concatenation is not the concatenation of base64 texts), so an append reads the
touched chunks back, decodes them, appends, re-encodes the whole day and replaces the chunk's seven value
triples (count, min, max, sum, first_us, times, values) in one DELETE/INSERT request. Three phases, all in
the write's time: `read_s`, `merge_s` (client), `write_s`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from btb.engines.rdf import export
from btb.engines.rdf.client import SparqlSession, literal
from btb.engines.writes import (AddEquipment, Change, MoveEquipment, MovePoint, RenamePoint, SampleBatch, Written,
                                chunk_pieces)

BTB = export.BTB_NS
HAS_POINT = export.expand("brick:hasPoint")
HAS_LOCATION = export.expand("brick:hasLocation")
MUTABLE = ("count", "min", "max", "sum", "first_us", "times", "values")
_VALUES = " ; ".join(f"<{BTB}{k}> ?{k}" for k in MUTABLE) + " ."


def point_iris(s: SparqlSession) -> dict[int, str]:
    """idx -> IRI of every point (chunks carry btb:point_idx too, but no btb:id)."""
    rows = s.rows(f"SELECT ?p ?idx WHERE {{ ?p <{BTB}point_idx> ?idx ; <{BTB}id> ?id }}")
    return {int(i): p for p, i in rows}


def append_chunks(s: SparqlSession, batch: SampleBatch, iris: dict[int, str]) -> Written:
    """Read the batch's chunks that exist, merge the new samples in, write every touched chunk back."""
    t0 = time.perf_counter()
    pieces = list(chunk_pieces(batch))
    if not pieces:
        return Written()
    names = " ".join(f"<{export.chunk_iri(p.idx, p.day)}>" for p in pieces)
    old = {c: (export.decode_times(t), export.decode_values(v)) for c, t, v in s.rows(
        f"SELECT ?c ?t ?v WHERE {{ VALUES ?c {{ {names} }} ?c <{BTB}times> ?t ; <{BTB}values> ?v }}")}
    t1 = time.perf_counter()
    lines = []
    for p in pieces:
        ts, vs = p.ts, p.vs
        prev = old.get(export.chunk_iri(p.idx, p.day))
        if prev is not None:
            ts, vs = np.concatenate([prev[0], ts]), np.concatenate([prev[1], vs])
        if p.idx not in iris:
            raise KeyError(f"append: no point with idx {p.idx} in the store")
        lines.append(export.chunk_lines(iris[p.idx], p.idx, p.day, ts, vs))
    update = _deletes(old) + "INSERT DATA {\n" + "".join(lines) + "}"
    t2 = time.perf_counter()
    s.update(update)
    return Written(samples=len(batch), phases={"read_s": t1 - t0, "merge_s": t2 - t1,
                                               "write_s": time.perf_counter() - t2})


def _deletes(chunks) -> str:
    """One DELETE WHERE per touched chunk, its subject a constant: the seven value triples go."""
    return "".join(f"DELETE WHERE {{ <{c}> {_VALUES} }} ;\n" for c in chunks)


def _require(s: SparqlSession, *ids: str) -> None:
    """SPARQL updates report no row counts: a change naming a node that does not exist is refused here."""
    values = " ".join(f"<{export.node_iri(i)}>" for i in ids)
    n = int(s.rows(f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ VALUES ?x {{ {values} }} ?x <{BTB}id> ?id }}")[0][0])
    if n != len(set(ids)):
        raise KeyError(f"structure change names nodes that do not exist: {sorted(set(ids))} ({n} found)")


def _node(n: dict[str, Any], typ: str) -> dict[str, Any]:
    return {"type": typ, **n}


def change_update(change: Change) -> tuple[str, tuple[str, ...]]:
    """(SPARQL update, node ids that must exist) of one change."""
    if isinstance(change, RenamePoint):
        p = f"<{export.node_iri(change.point)}>"
        return (f"DELETE {{ {p} <{BTB}name> ?n }} INSERT {{ {p} <{BTB}name> {literal(change.name)} }} "
                f"WHERE {{ OPTIONAL {{ {p} <{BTB}name> ?n }} }}", (change.point,))
    if isinstance(change, MovePoint):
        p, e = f"<{export.node_iri(change.point)}>", f"<{export.node_iri(change.equipment)}>"
        return (f"DELETE {{ ?e <{HAS_POINT}> {p} }} INSERT {{ {e} <{HAS_POINT}> {p} }} "
                f"WHERE {{ OPTIONAL {{ ?e <{HAS_POINT}> {p} }} }}", (change.point, change.equipment))
    if isinstance(change, MoveEquipment):
        e, sp = f"<{export.node_iri(change.equipment)}>", f"<{export.node_iri(change.space)}>"
        return (f"DELETE {{ {e} <{HAS_LOCATION}> ?s }} INSERT {{ {e} <{HAS_LOCATION}> {sp} }} "
                f"WHERE {{ OPTIONAL {{ {e} <{HAS_LOCATION}> ?s }} }}", (change.equipment, change.space))
    if isinstance(change, AddEquipment):
        eid = change.equipment["id"]
        lines = [*export.node_lines(_node(change.equipment, "Equipment")),
                 export.edge_line(eid, "LOCATED_IN", change.space)]
        for p in change.points:
            lines += [*export.node_lines(_node(p, "Point")), export.edge_line(eid, "HAS_POINT", p["id"])]
        return "INSERT DATA {\n" + "".join(lines) + "}", (change.space,)
    raise TypeError(f"not a structure change: {type(change).__name__}")


def apply_change(s: SparqlSession, change: Change, iris: dict[int, str] | None = None) -> Written:
    """One change; `iris` (O1's idx -> point IRI map) learns the points an AddEquipment brings."""
    text, must_exist = change_update(change)
    _require(s, *must_exist)
    s.update(text)
    if isinstance(change, AddEquipment) and iris is not None:
        iris.update({int(p["point_idx"]): export.node_iri(p["id"]) for p in change.points})
    return Written(rows=1 + len(getattr(change, "points", ())))
