"""P1's relational model in DuckDB: the same entity tables, link tables and `ts`, with P1's names and columns
(`btb.engines.postgres.relational.ENTITIES` / `LINKS`, imported, never copied), built by DuckDB from the
dataset's Parquet files.

D1 materialises them in its database file with `CREATE TABLE … AS SELECT … FROM read_parquet(…)` (DuckDB's
own bulk path: the engine reads the files, nothing passes through btb); D2 defines them as views over the
same files (nothing is loaded). Both refuse a relationship P1 has no link table for, as P1's load does.

No PRIMARY KEY / FOREIGN KEY / index: DuckDB's joins are hash joins that do not use ART indexes, its filters
use the zone maps every column gets, and constraints would only slow the load (DuckDB's indexing guide).
`ts` keeps the day files' (point, time) order within a day (preserve_insertion_order), which is what makes
its zone maps on `point_id` skip row groups.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from btb.dataset.format import EDGES, NODES
from btb.engines.postgres.relational import ENTITIES, LINKS

STRUCTURE_TABLES: tuple[str, ...] = (*ENTITIES, *(t for t, _, _ in LINKS.values()))
_AMBIGUOUS = {rel for rel, _, _ in LINKS if sum(r == rel for r, _, _ in LINKS) > 1}  # CONTAINS: 3 type pairs


def lit(path: Path | str) -> str:
    """A path as an SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def file_list(files: Sequence[Path]) -> str:
    return "[" + ", ".join(lit(f) for f in files) + "]"


def entity_select(table: str, nodes: str) -> str:
    typ, cols = ENTITIES[table]
    key = "point_idx AS idx, id" if table == "points" else "id"
    return f"SELECT {key}, {', '.join(cols)} FROM {nodes} WHERE type = '{typ}'"


def link_select(rel: str, stype: str, dtype: str, edges: str, nodes: str) -> str:
    """The link table's rows from the edges: (src id, dst id), the dst's point_idx for HAS_POINT. Type pairs
    are checked once by `unmapped_edges`; a relation with several (CONTAINS) is told apart by its src type."""
    table, a, b = LINKS[(rel, stype, dtype)]
    if b == "point_idx":
        return (f"SELECT e.src AS {a}, p.point_idx AS {b} FROM {edges} e JOIN {nodes} p ON p.id = e.dst "
                f"WHERE e.rel = '{rel}'")
    where = f"e.rel = '{rel}'"
    if rel in _AMBIGUOUS:
        where += f" AND e.src IN (SELECT id FROM {nodes} WHERE type = '{stype}')"
    return f"SELECT e.src AS {a}, e.dst AS {b} FROM {edges} e WHERE {where}"


def typed_edges_sql(edges: str, nodes: str) -> str:
    """D1's one pass over the edges: each with its ends' types (and a point end's idx), for the model check and
    every link table (routed by the exact (rel, src type, dst type), as P1's load does)."""
    return (f"SELECT e.src, e.rel, e.dst, s.type AS st, d.type AS dt, d.point_idx AS dpi FROM {edges} e "
            f"LEFT JOIN {nodes} s ON s.id = e.src LEFT JOIN {nodes} d ON d.id = e.dst")


def typed_link_select(rel: str, stype: str, dtype: str, typed: str) -> str:
    table, a, b = LINKS[(rel, stype, dtype)]
    dst = "dpi" if b == "point_idx" else "dst"
    return f"SELECT src AS {a}, {dst} AS {b} FROM {typed} WHERE rel = '{rel}' AND st = '{stype}' AND dt = '{dtype}'"


def unmapped_typed_sql(typed: str) -> str:
    pairs = ", ".join(f"('{r}', '{s}', '{d}')" for r, s, d in LINKS)
    return (f"SELECT rel, st, dt, count(*) FROM {typed} WHERE (rel, st, dt) NOT IN ({pairs}) OR st IS NULL "
            "OR dt IS NULL GROUP BY ALL ORDER BY 4 DESC LIMIT 5")


def unmapped_edges_sql(edges: str, nodes: str) -> str:
    """Edges whose (rel, src type, dst type) has no link table (dangling ends included): rel, types, count."""
    known = " OR ".join(f"(e.rel = '{r}' AND s.type = '{s}' AND d.type = '{d}')" for r, s, d in LINKS)
    return (f"SELECT e.rel, s.type, d.type, count(*) FROM {edges} e LEFT JOIN {nodes} s ON s.id = e.src "
            f"LEFT JOIN {nodes} d ON d.id = e.dst WHERE NOT coalesce({known}, false) GROUP BY ALL ORDER BY 4 DESC LIMIT 5")


def unknown_types_sql(nodes: str) -> str:
    types = ", ".join(f"'{t}'" for t, _ in ENTITIES.values())
    return f"SELECT DISTINCT type FROM {nodes} WHERE type NOT IN ({types}) ORDER BY 1"


def check_model(query: Callable[[str], list[tuple]], edges: str, nodes: str, typed: str = "") -> None:
    """Raise as P1's load does on a node type or relationship its model has no table for (`typed`: D1's
    typed edges, read once, else the edges joined with the nodes here)."""
    unknown = [r[0] for r in query(unknown_types_sql(nodes))]
    if unknown:
        raise ValueError(f"P1's model (D1/D2) has no table for node types {unknown}")
    bad = query(unmapped_typed_sql(typed) if typed else unmapped_edges_sql(edges, nodes))
    if bad:
        rel, s, d, n = bad[0]
        raise ValueError(f"P1's model (D1/D2) has no link table for {rel} {s}->{d} ({n} edges)")


def unplaced_sql(nodes: str, typed: str) -> str:
    """D1's model check after its tables are made: (nodes in no entity table, typed edges in no link table).
    Every node lands in the one table of its type and every edge in the one link table of its exact (rel, src
    type, dst type), so both are 0 when `check_model` finds nothing (a node without a type counts here too)."""
    ent = " + ".join(f"(SELECT count(*) FROM {t})" for t in ENTITIES)
    links = " + ".join(f"(SELECT count(*) FROM {t})" for t, _, _ in LINKS.values())
    return f"SELECT (SELECT count(*) FROM {nodes}) - ({ent}), (SELECT count(*) FROM {typed}) - ({links})"


def sources(dataset_dir: Path) -> tuple[str, str]:
    """(nodes, edges) as DuckDB reads the dataset's files."""
    return f"read_parquet({lit(dataset_dir / NODES)})", f"read_parquet({lit(dataset_dir / EDGES)})"


def structure_statements(kind: str, nodes: str, edges: str, typed: str = "") -> list[str]:
    """CREATE TABLE (kind "table") or CREATE VIEW (kind "view") of every structure table, over `nodes`/`edges`
    (the files themselves, or a table read from them once) or, for the links, D1's `typed` edges."""
    out = [f"CREATE OR REPLACE {kind.upper()} {t} AS {entity_select(t, nodes)}" for t in ENTITIES]
    out += [f"CREATE OR REPLACE {kind.upper()} {table} AS "
            f"{typed_link_select(rel, s, d, typed) if typed else link_select(rel, s, d, edges, nodes)}"
            for (rel, s, d), (table, _, _) in LINKS.items()]
    return out


def series_statement(kind: str, files: Sequence[Path]) -> str:
    return (f"CREATE OR REPLACE {kind.upper()} ts AS SELECT point_idx AS point_id, time, value "
            f"FROM read_parquet({file_list(files)})")


def counts_sql() -> str:
    """One statement counting every structure table and ts."""
    parts = [f"(SELECT count(*) FROM {t}) AS {t}" for t in (*STRUCTURE_TABLES, "ts")]
    return "SELECT " + ", ".join(parts)
