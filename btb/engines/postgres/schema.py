"""Shared helpers for the PostgreSQL scenarios' structure side: reading the dataset's node/edge files,
loading rows by COPY, and measuring what the store occupies on disk.

Both P1 and P2 read the same Parquet files through these helpers, so a difference between their answers
can only come from their schema and SQL, never from how they parsed the dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import psycopg
import pyarrow.parquet as pq
from psycopg import sql

from btb.dataset.format import EDGES, NODES


def read_nodes(dataset_dir: Path) -> list[dict[str, Any]]:
    """Every node as a dict of its non-null attributes (plus id and type)."""
    nodes = pq.read_table(Path(dataset_dir) / NODES).to_pylist()
    return [{k: v for k, v in n.items() if v is not None} for n in nodes]


def read_edges(dataset_dir: Path) -> list[tuple[str, str, str]]:
    t = pq.read_table(Path(dataset_dir) / EDGES)
    return list(zip(*(t.column(c).to_pylist() for c in ("src", "rel", "dst"))))


def copy_rows(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY (text protocol, values converted by psycopg) into one table; returns rows written."""
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    stmt = sql.SQL("copy {} ({}) from stdin").format(sql.Identifier(table), cols)
    n = 0
    with conn.cursor() as cur, cur.copy(stmt) as cp:
        for r in rows:
            cp.write_row(r)
            n += 1
    return n


def bytes_on_disk(conn: psycopg.Connection) -> int:
    """Sum of pg_total_relation_size (heap + toast + indexes) over every user table of the database."""
    return int(conn.execute(
        "select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class c"
        " join pg_namespace n on n.oid = c.relnamespace"
        " where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema')"
        " and n.nspname not like 'pg_toast%'").fetchone()[0])


def settings(conn: psycopg.Connection, names: Sequence[str]) -> dict[str, str]:
    rows = conn.execute("select name, current_setting(name) from pg_settings where name = any(%(n)s)",
                        {"n": list(names)}).fetchall()
    return dict(rows)
