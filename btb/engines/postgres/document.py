"""P2: the document paradigm. Every node is `nodes(id, type, props jsonb)`, every relationship a row of
`edges(src, rel, dst)`; series in the shared `ts` table.

Indexes: btree on edges in both directions (traversals go both ways), a `jsonb_path_ops` GIN on props
(containment filters like `props @> '{"space_type": ...}'`, `{"brick_class": "Zone_Air_Temperature_Sensor"}`,
`{"meter_role": "tenant"}`, `{"zone_kind": "security"}` are what it pays for; every node attribute,
the Brick class included, is a prop), and an expression index on the point's integer index, the join key to `ts`.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import psycopg
from psycopg.types.json import Jsonb

from btb.engines.postgres.scenario import PostgresScenario
from btb.engines.postgres.schema import copy_rows, read_edges, read_nodes
from btb.engines.postgres.writes import document_change
from btb.engines.writes import Change, Written


class DocumentScenario(PostgresScenario):
    id: ClassVar[str] = "P2"
    description: ClassVar[str] = "PostgreSQL, generic nodes(id,type,props jsonb) + edges(src,rel,dst); GIN"
    structure_tables: ClassVar[tuple[str, ...]] = ("nodes", "edges")

    def load_structure(self, conn: psycopg.Connection, dataset_dir: Path) -> dict[str, int]:
        conn.execute("create table nodes (id text not null, type text not null, props jsonb not null)")
        conn.execute("create table edges (src text not null, rel text not null, dst text not null)")
        nodes = read_nodes(dataset_dir)
        data = ((n["id"], n["type"], Jsonb({k: v for k, v in n.items() if k not in ("id", "type")})) for n in nodes)
        return {"nodes": copy_rows(conn, "nodes", ("id", "type", "props"), data),
                "edges": copy_rows(conn, "edges", ("src", "rel", "dst"), read_edges(dataset_dir))}

    def index_structure(self, conn: psycopg.Connection) -> None:
        conn.execute("alter table nodes add primary key (id)")
        conn.execute("create index nodes_type on nodes (type)")
        conn.execute("create index nodes_props on nodes using gin (props jsonb_path_ops)")
        conn.execute("create unique index nodes_point_idx on nodes (((props->>'point_idx')::int)) where type = 'Point'")
        conn.execute("create index edges_src on edges (src, rel, dst)")
        conn.execute("create index edges_dst on edges (dst, rel, src)")
        conn.execute("alter table edges add foreign key (src) references nodes (id)")
        conn.execute("alter table edges add foreign key (dst) references nodes (id)")

    def change_structure(self, conn: psycopg.Connection, change: Change) -> Written:
        return document_change(conn, change)
