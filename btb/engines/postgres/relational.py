"""P1: the normalised relational paradigm. One typed table per entity, one link table per relationship
(foreign keys to both ends), the indexes a DBA would add for Q1–Q13, series in the shared `ts` table.

Equipment and points store their Brick class (`brick_class`, indexed: Q4/Q7/Q13 select zone air temperature
sensors, Q8/Q9 energy registers), meters their `meter_role` (indexed: tenant meters), zones their kind.
Points carry their dense `idx` as primary key so link tables and `ts.point_id` join on an int; the string
id stays unique for lookups by id.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import ClassVar

import psycopg
from psycopg import sql

from btb.engines.postgres.scenario import PostgresScenario
from btb.engines.postgres.schema import copy_rows, read_edges, read_nodes
from btb.engines.postgres.writes import relational_change
from btb.engines.writes import Change, Written

# entity table -> (node type, columns after id). Points: idx first, see module doc.
ENTITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "sites": ("Site", ("name",)),
    "buildings": ("Building", ("name", "area_m2", "carbon_kg_per_kwh")),
    "floors": ("Floor", ("name", "level", "floor_type")),
    "spaces": ("Space", ("name", "space_type", "area_m2")),
    "zones": ("Zone", ("name", "zone_kind")),
    "equipment": ("Equipment", ("name", "equipment_type", "domain", "meter_role", "brick_class")),
    "points": ("Point", ("name", "point_kind", "quantity", "unit", "interval_s", "brick_class")),
    "tenants": ("Tenant", ("name",)),
}
ENTITY_DDL = {
    "sites": "id text not null, name text",
    "buildings": "id text not null, name text, area_m2 double precision, carbon_kg_per_kwh double precision",
    "floors": "id text not null, name text, level int, floor_type text",
    "spaces": "id text not null, name text, space_type text, area_m2 double precision",
    "zones": "id text not null, name text, zone_kind text",
    "equipment": "id text not null, name text, equipment_type text, domain text, meter_role text, brick_class text",
    "points": "idx int not null, id text not null, name text, point_kind text, quantity text, unit text,"
              " interval_s int, brick_class text",
    "tenants": "id text not null, name text",
}
TABLE_OF_TYPE = {typ: table for table, (typ, _) in ENTITIES.items()}

# (relation, src type, dst type) -> (link table, src column, dst column)
LINKS: dict[tuple[str, str, str], tuple[str, str, str]] = {
    ("CONTAINS", "Site", "Building"): ("site_buildings", "site_id", "building_id"),
    ("CONTAINS", "Building", "Floor"): ("building_floors", "building_id", "floor_id"),
    ("CONTAINS", "Floor", "Space"): ("floor_spaces", "floor_id", "space_id"),
    ("LOCATED_IN", "Equipment", "Space"): ("equipment_locations", "equipment_id", "space_id"),
    ("HAS_POINT", "Equipment", "Point"): ("equipment_points", "equipment_id", "point_idx"),
    ("FEEDS", "Equipment", "Equipment"): ("feeds", "src_id", "dst_id"),
    ("SERVES", "Equipment", "Space"): ("serves", "equipment_id", "space_id"),
    ("HAS_PART", "Equipment", "Equipment"): ("equipment_parts", "parent_id", "part_id"),
    ("IN_ZONE", "Space", "Zone"): ("space_zones", "space_id", "zone_id"),
    ("OCCUPIES", "Tenant", "Space"): ("tenant_spaces", "tenant_id", "space_id"),
}


def _key(table: str) -> str:
    return "idx" if table == "points" else "id"


class RelationalScenario(PostgresScenario):
    id: ClassVar[str] = "P1"
    description: ClassVar[str] = "PostgreSQL, typed relational tables + FK link tables; ts partitioned/hypertable"
    structure_tables: ClassVar[tuple[str, ...]] = (*ENTITIES, *(t for t, _, _ in LINKS.values()))

    def load_structure(self, conn: psycopg.Connection, dataset_dir: Path) -> dict[str, int]:
        nodes = read_nodes(dataset_dir)
        types = {n["id"]: n["type"] for n in nodes}
        point_idx = {n["id"]: int(n["point_idx"]) for n in nodes if n["type"] == "Point"}
        rows: dict[str, int] = {}
        for table, ddl in ENTITY_DDL.items():  # column lists are constants of this module, not values
            conn.execute(sql.SQL("create table {} ({})").format(sql.Identifier(table), sql.SQL(ddl)))
        for table, a, b in LINKS.values():
            btype = sql.SQL("int" if b == "point_idx" else "text")
            conn.execute(sql.SQL("create table {} ({} text not null, {} {} not null)").format(
                sql.Identifier(table), sql.Identifier(a), sql.Identifier(b), btype))
        for table, (typ, cols) in ENTITIES.items():
            sel = [n for n in nodes if n["type"] == typ]
            if table == "points":
                data = ([n["point_idx"], n["id"], *(n.get(c) for c in cols)] for n in sel)
                rows[table] = copy_rows(conn, table, ("idx", "id", *cols), data)
            else:
                rows[table] = copy_rows(conn, table, ("id", *cols), ([n["id"], *(n.get(c) for c in cols)] for n in sel))
        unknown = {n["type"] for n in nodes} - set(TABLE_OF_TYPE)
        if unknown:
            raise ValueError(f"P1 has no table for node types {sorted(unknown)}")
        per_link: dict[str, list[tuple]] = defaultdict(list)
        for src, rel, dst in read_edges(dataset_dir):
            target = LINKS.get((rel, types.get(src), types.get(dst)))
            if target is None:
                raise ValueError(f"P1 has no link table for {rel} {types.get(src)}->{types.get(dst)} ({src}->{dst})")
            per_link[target[0]].append((src, point_idx[dst] if target[2] == "point_idx" else dst))
        for table, a, b in LINKS.values():
            rows[table] = copy_rows(conn, table, (a, b), per_link[table])
        return rows

    def index_structure(self, conn: psycopg.Connection) -> None:
        ident = sql.Identifier
        for table in ENTITIES:
            conn.execute(sql.SQL("alter table {} add primary key ({})").format(ident(table), ident(_key(table))))
        conn.execute("alter table points add unique (id)")
        conn.execute("create index on points (quantity)")
        conn.execute("create index on points (brick_class)")
        conn.execute("create index on equipment (equipment_type)")
        conn.execute("create index on equipment (meter_role)")
        conn.execute("create index on equipment (domain)")  # Q1: the electrical walk filters every level
        conn.execute("create index on zones (zone_kind)")
        conn.execute("create index on spaces (space_type)")
        for (_, s, d), (table, a, b) in LINKS.items():
            t = ident(table)
            conn.execute(sql.SQL("alter table {} add primary key ({}, {})").format(t, ident(a), ident(b)))
            conn.execute(sql.SQL("create index on {} ({})").format(t, ident(b)))
            for col, typ in ((a, s), (b, d)):
                ref = TABLE_OF_TYPE[typ]
                conn.execute(sql.SQL("alter table {} add foreign key ({}) references {} ({})").format(
                    t, ident(col), ident(ref), ident(_key(ref))))

    def structure_counts(self, conn: psycopg.Connection) -> dict[str, int]:
        out = super().structure_counts(conn)
        out["nodes"] = sum(out[t] for t in ENTITIES)
        out["edges"] = sum(out[t] for t, _, _ in LINKS.values())
        return out

    def change_structure(self, conn: psycopg.Connection, change: Change) -> Written:
        return relational_change(conn, change, {t: cols for t, (_, cols) in ENTITIES.items()})
