"""The one graph layout of the building structure, for every Cypher engine (FalkorDB now, Memgraph next).

- One label per node type (`Site`, `Building`, `Floor`, `Space`, `Zone`, `Equipment`, `Point`, `Tenant`),
  one relationship type per dataset relation (`CONTAINS`, `FEEDS`, ...), directed as in `edges.parquet`.
- Every non-null dataset attribute is a property; the Brick class is the property `brick_class` (the
  queries select by it); points carry their dense series key as `idx`.
- Indexes (created on the empty graph, so the load maintains them): `id` of every label, `Point.idx`, and
  every property a query filters on (`Point.brick_class`, `Point.quantity`, `Equipment.equipment_type`,
  `Equipment.domain`, `Equipment.meter_role`, `Space.space_type`, `Zone.zone_kind`).
- Loader: nodes per label, then edges per (relation, source label, target label), in `UNWIND` batches
  whose parameters are sent as text (FalkorDB's protocol); each phase timed, rows/s recorded.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from btb.dataset.format import NODE_TYPES
from btb.engines.graph.client import FalkorSession, batches
from btb.engines.postgres.schema import read_edges, read_nodes  # the dataset readers P1/P2 use (no DB code)

NODE_BATCH = 5_000
EDGE_BATCH = 5_000
INDEXES: tuple[tuple[str, str], ...] = (
    *((label, "id") for label in NODE_TYPES),
    ("Point", "idx"),
    ("Point", "brick_class"),
    ("Point", "quantity"),
    ("Equipment", "equipment_type"),
    ("Equipment", "domain"),
    ("Equipment", "meter_role"),
    ("Space", "space_type"),
    ("Zone", "zone_kind"),
)


def node_props(n: dict[str, Any]) -> dict[str, Any]:
    """Properties of one node: its non-null attributes without `type` (the label); point_idx -> idx."""
    out = {k: v for k, v in n.items() if k not in ("type", "point_idx")}
    if "point_idx" in n:
        out["idx"] = int(n["point_idx"])
    return out


def create_indexes(s: FalkorSession, extra: tuple[tuple[str, str], ...] = ()) -> None:
    for label, prop in (*INDEXES, *extra):
        s.create_index(label, prop)  # the DDL is per dialect (FalkorDB: FOR (n:L) ON (n.p); Memgraph: ON :L(p))


def load_structure(s: FalkorSession, dataset_dir: Path) -> tuple[dict[str, int], dict[str, float]]:
    """Load nodes and edges into the (fresh, indexed) graph; returns (rows per label/relation, phases)."""
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    nodes = read_nodes(dataset_dir)
    edges = read_edges(dataset_dir)
    phases["read_files_s"] = time.perf_counter() - t0
    rows: dict[str, int] = {}
    t1 = time.perf_counter()
    per_label: dict[str, list[dict]] = defaultdict(list)
    types: dict[str, str] = {}
    for n in nodes:
        if n["type"] not in NODE_TYPES:
            raise ValueError(f"graph layout has no label for node type {n['type']!r}")
        per_label[n["type"]].append(node_props(n))
        types[n["id"]] = n["type"]
    for label, props in per_label.items():
        for b in batches(props, NODE_BATCH):
            s.write(f"UNWIND $rows AS r CREATE (n:{label}) SET n = r", {"rows": b})
        rows[label] = len(props)
    phases["nodes_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    per_rel: dict[tuple[str, str, str], list[list[str]]] = defaultdict(list)
    for src, rel, dst in edges:
        per_rel[(rel, types[src], types[dst])].append([src, dst])
    for (rel, a, b), pairs in per_rel.items():
        for chunk in batches(pairs, EDGE_BATCH):
            s.write(f"UNWIND $rows AS r MATCH (a:{a} {{id: r[0]}}) MATCH (b:{b} {{id: r[1]}}) CREATE (a)-[:{rel}]->(b)",
                    {"rows": chunk})
        rows[rel] = rows.get(rel, 0) + len(pairs)
    phases["edges_s"] = time.perf_counter() - t2
    rows["nodes"] = len(nodes)
    rows["edges"] = len(edges)
    secs = time.perf_counter() - t1
    phases["structure_rows_per_s"] = (len(nodes) + len(edges)) / secs if secs > 0 else 0.0
    return rows, phases


def structure_counts(s: FalkorSession) -> dict[str, int]:
    """Structure nodes and edges actually stored (series chunks and their links excluded)."""
    labels = " OR ".join(f"n:{label}" for label in NODE_TYPES)
    nodes = s.query(f"MATCH (n) WHERE {labels} RETURN count(n)")[0][0]
    edges = s.query("MATCH ()-[r]->() WHERE type(r) <> 'HAS_CHUNK' RETURN count(r)")[0][0]
    return {"nodes": int(nodes), "edges": int(edges)}
