"""Writes on the Cypher graph (F1/M1 whole, F2/M2's structure half): series appended into the (point, day)
chunk nodes, structure changes as single statements (each one atomic on the server).

What a chunk costs on write: a chunk's `ts`/`vs` are list values, so appending to it is `c.ts + r.ts`
server-side — the engine builds a new list of the day's samples so far plus the new ones and replaces the
old (no in-place extension exists), and `n`/`min`/`max`/`sum` are updated with it. A batch is one
statement: a point's first sample of a day MERGEs the day's chunk into being, later ones extend it. The
cost of an append therefore grows with how far into its day a chunk is, which is the paradigm's, not
btb's: the write benchmark measures it.
"""

from __future__ import annotations

import time
from typing import Any

from btb.engines.graph.structure import node_props
from btb.engines.writes import (AddEquipment, Change, MoveEquipment, MovePoint, RenamePoint, SampleBatch, Written,
                                chunk_pieces)

APPEND_CHUNKS = (
    "UNWIND $rows AS r MATCH (p:Point {idx: r.idx}) "
    "MERGE (p)-[:HAS_CHUNK]->(c:Chunk {idx: r.idx, day: r.day}) "
    "ON CREATE SET c.ts = r.ts, c.vs = r.vs, c.n = r.n, c.min = r.min, c.max = r.max, c.sum = r.sum "
    "ON MATCH SET c.ts = c.ts + r.ts, c.vs = c.vs + r.vs, c.n = c.n + r.n, "
    "c.min = CASE WHEN r.min < c.min THEN r.min ELSE c.min END, "
    "c.max = CASE WHEN r.max > c.max THEN r.max ELSE c.max END, c.sum = c.sum + r.sum")

RENAME_POINT = "MATCH (p:Point {id: $point}) SET p.name = $name RETURN count(p)"
MOVE_POINT = ("MATCH (p:Point {id: $point}) MATCH (e:Equipment {id: $equipment}) "
              "OPTIONAL MATCH ()-[r:HAS_POINT]->(p) DELETE r "
              "WITH DISTINCT p, e CREATE (e)-[:HAS_POINT]->(p) RETURN count(p)")
MOVE_EQUIPMENT = ("MATCH (e:Equipment {id: $equipment}) MATCH (s:Space {id: $space}) "
                  "OPTIONAL MATCH (e)-[r:LOCATED_IN]->() DELETE r "
                  "WITH DISTINCT e, s CREATE (e)-[:LOCATED_IN]->(s) RETURN count(e)")
ADD_EQUIPMENT = ("MATCH (s:Space {id: $space}) CREATE (e:Equipment) SET e = $equipment "
                 "CREATE (e)-[:LOCATED_IN]->(s) WITH e UNWIND $points AS pp "
                 "CREATE (p:Point) SET p = pp CREATE (e)-[:HAS_POINT]->(p) RETURN count(p)")


def append_chunks(session: Any, batch: SampleBatch) -> Written:
    """One statement: every (point, day) piece of the batch merged into its chunk."""
    t0 = time.perf_counter()
    rows = [{"idx": p.idx, "day": p.day, "ts": p.ts, "vs": p.vs, "n": len(p.ts), "min": float(p.vs.min()),
             "max": float(p.vs.max()), "sum": float(p.vs.sum())} for p in chunk_pieces(batch)]
    t1 = time.perf_counter()
    if rows:
        session.write(APPEND_CHUNKS, {"rows": rows})
    return Written(samples=len(batch), phases={"pieces_s": t1 - t0, "chunks_s": time.perf_counter() - t1})


def _props(n: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node_props(n).items() if v is not None}


def _statement(change: Change) -> tuple[str, dict[str, Any], int]:
    """(Cypher, parameters, the count its RETURN must give) of one change."""
    if isinstance(change, RenamePoint):
        return RENAME_POINT, {"point": change.point, "name": change.name}, 1
    if isinstance(change, MovePoint):
        return MOVE_POINT, {"point": change.point, "equipment": change.equipment}, 1
    if isinstance(change, MoveEquipment):
        return MOVE_EQUIPMENT, {"equipment": change.equipment, "space": change.space}, 1
    if isinstance(change, AddEquipment):
        params = {"space": change.space, "equipment": _props(change.equipment),
                  "points": [_props(p) for p in change.points]}
        return ADD_EQUIPMENT, params, len(change.points)
    raise TypeError(f"not a structure change: {type(change).__name__}")


def apply_change(session: Any, change: Change) -> Written:
    text, params, want = _statement(change)
    if isinstance(change, AddEquipment) and not change.points:  # UNWIND of nothing would return no row
        text = text.split(" WITH e UNWIND")[0] + " RETURN 0"
    rows = session.query(text, params, read_only=False)
    got = int(rows[0][0]) if rows else 0
    if got != want:
        raise KeyError(f"{type(change).__name__} {params}: {got} nodes matched, expected {want} "
                       "(an id that does not exist?)")
    return Written(rows=1 + want)
