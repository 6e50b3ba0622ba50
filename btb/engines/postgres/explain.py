"""What PostgreSQL read for one execution of a statement: `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`.

Run by the workflow once per query, on its first binding, after the query's timed runs (never inside a
timed window): the plan's buffer counters, in bytes (blocks × the server's block size, 8 KiB by default).
- `hit_bytes`: shared buffers found in PostgreSQL's buffer cache; `read_bytes`: shared buffers it had to
  read (from the OS page cache or the disk: PostgreSQL cannot tell which);
- `temp_read_bytes` / `temp_written_bytes`: sorts and hashes spilled to temp files (work_mem too small);
- `local_*`: session temp tables (the hybrids' `fed`);
- `accessed_bytes` = hit + read: buffer *accesses* — a page visited twice (an index revisited per outer row)
  counts twice, so this can exceed the table's size; what the query needs from storage, once, is the cold
  run's IO read (btb.results.hotset).
The top plan node's counters include every node below it (InitPlans and CTEs included), so they are the
statement's; planning's own buffers are left out.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import psycopg

EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
COUNTERS = {"hit_bytes": "Shared Hit Blocks", "read_bytes": "Shared Read Blocks",
            "temp_read_bytes": "Temp Read Blocks", "temp_written_bytes": "Temp Written Blocks",
            "local_hit_bytes": "Local Hit Blocks", "local_read_bytes": "Local Read Blocks"}


def block_size(conn: psycopg.Connection) -> int:
    return int(conn.execute("select current_setting('block_size')").fetchone()[0])


def parse(doc: Any, bs: int) -> dict[str, Any]:
    """The counters of an EXPLAIN (…, FORMAT JSON) document (parsed or text) in bytes, and its times."""
    if isinstance(doc, (str, bytes)):
        doc = json.loads(doc)
    top = doc[0] if isinstance(doc, list) else doc
    plan = top["Plan"]
    out: dict[str, Any] = {k: int(plan.get(v, 0)) * bs for k, v in COUNTERS.items()}
    out.update(block_size=bs, execution_ms=top.get("Execution Time"), planning_ms=top.get("Planning Time"),
               accessed_bytes=out["hit_bytes"] + out["read_bytes"])
    return out


def explain_buffers(conn: psycopg.Connection, text: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """One EXPLAIN ANALYZE of `text` with `params` on `conn` (it executes the statement): parse()'s figures."""
    bs = block_size(conn)
    row = conn.execute(EXPLAIN + text, params, prepare=False).fetchone()
    return parse(row[0], bs)
