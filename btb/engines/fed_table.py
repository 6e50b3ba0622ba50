"""The federation's session table `fed`: created once per connection, re-filled by binary COPY per query.

Its fixed cost per query is what decides whether a small id set should travel this way at all, so it is kept
small (measured on the 2-core node, PostgreSQL 15, temp_buffers 64MB; docs/federation.md):
- no DDL per query, and no TRUNCATE after a small load: TRUNCATE of a temp table costs 2.2-2.7 ms whatever its
  size up to 100k rows (a new file, catalog and cache updates), DELETE of 1k rows 0.18 ms. A load of at
  most `DELETE_ROWS` rows is cleared by DELETE; a larger one, or once DELETEs have left `DEAD_ROWS` dead
  rows in the file (COPY appends: a temp table has no free space map until vacuumed), by TRUNCATE.
- every load is ANALYZEd, with a statistics target of `STATS_TARGET` on every column (300 x target rows
  sampled): the planner sees this load's row count and id range, never the previous query's (TRUNCATE and
  DELETE keep the last ANALYZE's statistics; a 1k-id load once got a merge join over the whole `ts` index from
  a 10k-id histogram). Target 10 instead of the default 100: ANALYZE of 100k ids 1.7 ms instead of 8.0 ms,
  1M ids 7.5 ms instead of 21.4 ms; 0.05-0.12 ms at 1-1k ids either way (benchmarks/bench_fed_table.py).
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
import psycopg
from psycopg import sql

TABLE = "fed"
COLUMNS: dict[str, str] = {"k1": "text", "k2": "text", "k3": "text", "f": "float8", "idx": "int4"}
DELETE_ROWS = 8_192
DEAD_ROWS = 32_768
STATS_TARGET = 10
_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_TRAILER = (-1).to_bytes(2, "big", signed=True)
_IDX_ROW = np.dtype([("n", ">i2"), ("l", ">i4"), ("idx", ">i4")])  # one int4 column a row


def idx_copy_block(ids: np.ndarray) -> bytes:
    """Binary COPY rows for a one-column int4 load (the id-only fast path), header and trailer included."""
    rows = np.empty(len(ids), _IDX_ROW)
    rows["n"], rows["l"], rows["idx"] = 1, 4, ids
    return _HEADER + rows.tobytes() + _TRAILER


def _id_array(columns: Sequence[str], rows: Sequence[Sequence[Any]] | np.ndarray) -> np.ndarray | None:
    """An id-only load as an int32 array (one binary block instead of a row at a time);
    None when the load has other columns or a null id."""
    if tuple(columns) != ("idx",):
        return None
    if isinstance(rows, np.ndarray):
        return rows.astype(np.int32, copy=False)
    try:
        return np.fromiter((r[0] for r in rows), np.int32, len(rows))
    except TypeError:  # a null id: the row-by-row path writes it as NULL
        return None


class FedTable:
    """`fed` on one connection: it remembers what the last load left in the file, to clear it the cheap way."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        cols = ", ".join(f"{k} {t}" for k, t in COLUMNS.items())
        conn.execute(f"create temp table if not exists {TABLE} ({cols})")
        for c in COLUMNS:
            conn.execute(f"alter table {TABLE} alter column {c} set statistics {STATS_TARGET}")
        conn.execute(f"truncate {TABLE}")
        self.rows: int | None = 0  # rows of the last load; None: unknown (a load failed), TRUNCATE next
        self.dead = 0  # rows deleted since the last TRUNCATE (still in the file)
        self.clears: dict[str, int] = {"delete": 0, "truncate": 0}

    def clear(self) -> str:
        """Empty `fed` the cheaper way for what it holds; returns "delete", "truncate" or "none"."""
        if self.rows == 0:
            return "none"
        if self.rows is None or self.rows > DELETE_ROWS or self.dead + self.rows > DEAD_ROWS:
            self.conn.execute(f"truncate {TABLE}")
            self.dead, how = 0, "truncate"
        else:
            self.conn.execute(f"delete from {TABLE}")
            self.dead, how = self.dead + self.rows, "delete"
        self.rows = 0
        self.clears[how] += 1
        return how

    def load(self, columns: Sequence[str], rows: Sequence[Sequence[Any]] | np.ndarray,
             timings: dict[str, float] | None = None) -> int:
        """Replace the content of `fed` with `rows` (column order `columns`) by binary COPY, then ANALYZE;
        returns rows. `timings`, when given, receives the seconds of "clear", "copy" and "analyze"."""
        bad = [c for c in columns if c not in COLUMNS]
        if bad:
            raise ValueError(f"fed has no column(s) {bad}; columns: {list(COLUMNS)}")
        t0 = time.perf_counter()
        self.clear()
        t1 = time.perf_counter()
        self.rows = None  # until the COPY has succeeded
        cols = sql.SQL(", ").join(map(sql.Identifier, columns))
        stmt = sql.SQL("copy {} ({}) from stdin (format binary)").format(sql.Identifier(TABLE), cols)
        ids = _id_array(columns, rows)
        with self.conn.cursor() as cur, cur.copy(stmt) as cp:
            if ids is not None:
                cp.write(idx_copy_block(ids))
            else:
                cp.set_types([COLUMNS[c] for c in columns])
                for r in rows:
                    cp.write_row(r)
        n = self.rows = len(rows)
        t2 = time.perf_counter()
        if n:
            self.conn.execute(f"analyze {TABLE}")
        if timings is not None:
            timings.update(clear=t1 - t0, copy=t2 - t1, analyze=time.perf_counter() - t2)
        return n
