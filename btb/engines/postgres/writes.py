"""Writes on PostgreSQL: appends to the shared series table `ts` (P1, P2 and every hybrid's series half)
and structure changes in P1's typed tables or P2's nodes/edges.

Appends are one binary COPY per batch into `ts` (the loader's encoder, `series.encode_batch`), committed as
one statement. On native partitions a day the table has no partition for yet gets one first (named as the
loader names its days, `ts_dNNNN` from the first day; the parent's (point_id, time) index makes the new
leaf's index), and that DDL counts in the batch that needed it (phase `partition_s`): it is what a day
boundary costs this layout. A TimescaleDB hypertable creates its chunks itself.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Sequence

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from btb.dataset.format import US_PER_DAY
from btb.engines.postgres.series import COPY_HEADER, COPY_TRAILER, day_name, encode_batch
from btb.engines.writes import AddEquipment, Change, MoveEquipment, MovePoint, RenamePoint, SampleBatch, Written

_FROM = re.compile(r"FROM \('([^']+)'\)")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
COPY_TS = "copy ts (point_id, time, value) from stdin (format binary)"


class SeriesAppender:
    """Appends batches to `ts` on one connection; knows the table's layout and its partitions' days."""

    def __init__(self) -> None:
        self.timescale: bool | None = None
        self.first_day: int | None = None  # epoch day of partition ts_d0000
        self.days: set[int] = set()  # epoch days that have a partition

    def prepare(self, conn: psycopg.Connection) -> None:
        """Read the layout once (outside any timed write): hypertable or native partitions, and which days."""
        row = conn.execute("select exists (select 1 from pg_extension where extname = 'timescaledb')").fetchone()
        self.timescale = bool(row[0]) and bool(conn.execute(
            "select exists (select 1 from timescaledb_information.hypertables where hypertable_name = 'ts')"
        ).fetchone()[0])
        if self.timescale:
            return
        bounds = conn.execute("select pg_get_expr(c.relpartbound, c.oid) from pg_inherits i "
                              "join pg_class c on c.oid = i.inhrelid where i.inhparent = 'ts'::regclass").fetchall()
        for (expr,) in bounds:
            m = _FROM.search(expr or "")
            if m is None:
                raise RuntimeError(f"ts partition with bounds {expr!r}: btb makes daily range partitions only")
            lo = datetime.fromisoformat(m.group(1)).astimezone(timezone.utc)
            self.days.add((lo - _EPOCH) // timedelta(days=1))
        if not self.days:
            raise RuntimeError("ts has no partition: load the dataset before writing to it")
        self.first_day = min(self.days)

    def ensure_partitions(self, conn: psycopg.Connection, epoch_days: Sequence[int]) -> int:
        """Create the partitions missing for these days; returns how many were made."""
        made = 0
        for day in sorted(set(int(d) for d in epoch_days) - self.days):
            lo = _EPOCH + timedelta(days=day)
            conn.execute(sql.SQL("create table if not exists {} partition of ts for values from ({}) to ({})").format(
                sql.Identifier(day_name(day - self.first_day)), sql.Literal(lo), sql.Literal(lo + timedelta(days=1))))
            self.days.add(day)
            made += 1
        return made

    def append(self, conn: psycopg.Connection, batch: SampleBatch) -> Written:
        if self.timescale is None:
            self.prepare(conn)
        phases: dict[str, float] = {}
        if not self.timescale and len(batch):
            t0 = time.perf_counter()
            if self.ensure_partitions(conn, np.unique(batch.time_us // US_PER_DAY).tolist()):
                phases["partition_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        block = encode_batch(batch.point_idx, batch.time_us, batch.value)
        with conn.cursor() as cur, cur.copy(COPY_TS) as cp:
            cp.write(COPY_HEADER + block + COPY_TRAILER)
        phases["copy_s"] = time.perf_counter() - t1
        return Written(samples=len(batch), phases=phases)


def _one(cur: psycopg.Cursor, what: str) -> None:
    if cur.rowcount != 1:
        raise KeyError(f"{what}: {cur.rowcount} rows matched, expected 1")


# --- P1: typed tables --------------------------------------------------------------------------------

def relational_change(conn: psycopg.Connection, change: Change, columns: dict[str, Sequence[str]]) -> Written:
    """One structure change in P1's tables, in one transaction. `columns`: table -> attribute columns."""
    with conn.transaction():
        if isinstance(change, RenamePoint):
            _one(conn.execute("update points set name = %s where id = %s", (change.name, change.point)),
                 f"rename {change.point}")
            return Written(rows=1)
        if isinstance(change, MovePoint):
            row = conn.execute("select idx from points where id = %s", (change.point,)).fetchone()
            if row is None:
                raise KeyError(f"move {change.point}: no such point")
            conn.execute("delete from equipment_points where point_idx = %s", row)
            conn.execute("insert into equipment_points (equipment_id, point_idx) values (%s, %s)",
                         (change.equipment, row[0]))
            return Written(rows=2)
        if isinstance(change, MoveEquipment):
            conn.execute("delete from equipment_locations where equipment_id = %s", (change.equipment,))
            conn.execute("insert into equipment_locations (equipment_id, space_id) values (%s, %s)",
                         (change.equipment, change.space))
            return Written(rows=2)
        if isinstance(change, AddEquipment):
            return _relational_add(conn, change, columns)
    raise TypeError(f"not a structure change: {type(change).__name__}")


def _insert(conn: psycopg.Connection, table: str, row: dict) -> None:
    stmt = sql.SQL("insert into {} ({}) values ({})").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, row)),
        sql.SQL(", ").join(sql.Placeholder() * len(row)))
    conn.execute(stmt, list(row.values()))


def _relational_add(conn: psycopg.Connection, change: AddEquipment, columns: dict[str, Sequence[str]]) -> Written:
    e = change.equipment
    _insert(conn, "equipment", {"id": e["id"], **{c: e.get(c) for c in columns["equipment"]}})
    conn.execute("insert into equipment_locations (equipment_id, space_id) values (%s, %s)", (e["id"], change.space))
    for p in change.points:
        _insert(conn, "points", {"idx": int(p["point_idx"]), "id": p["id"], **{c: p.get(c) for c in columns["points"]}})
        conn.execute("insert into equipment_points (equipment_id, point_idx) values (%s, %s)",
                     (e["id"], int(p["point_idx"])))
    return Written(rows=2 + 2 * len(change.points))


# --- P2: nodes / edges ---------------------------------------------------------------------------------

def _props(n: dict) -> Jsonb:
    return Jsonb({k: v for k, v in n.items() if k not in ("id", "type") and v is not None})


def document_change(conn: psycopg.Connection, change: Change) -> Written:
    """One structure change in P2's nodes/edges, in one transaction."""
    with conn.transaction():
        if isinstance(change, RenamePoint):
            _one(conn.execute("update nodes set props = jsonb_set(props, '{name}', to_jsonb(%s::text)) "
                              "where id = %s and type = 'Point'", (change.name, change.point)), f"rename {change.point}")
            return Written(rows=1)
        if isinstance(change, MovePoint):
            conn.execute("delete from edges where rel = 'HAS_POINT' and dst = %s", (change.point,))
            conn.execute("insert into edges (src, rel, dst) values (%s, 'HAS_POINT', %s)", (change.equipment, change.point))
            return Written(rows=2)
        if isinstance(change, MoveEquipment):
            conn.execute("delete from edges where rel = 'LOCATED_IN' and src = %s", (change.equipment,))
            conn.execute("insert into edges (src, rel, dst) values (%s, 'LOCATED_IN', %s)", (change.equipment, change.space))
            return Written(rows=2)
        if isinstance(change, AddEquipment):
            e = change.equipment
            conn.execute("insert into nodes (id, type, props) values (%s, 'Equipment', %s)", (e["id"], _props(e)))
            conn.execute("insert into edges (src, rel, dst) values (%s, 'LOCATED_IN', %s)", (e["id"], change.space))
            for p in change.points:
                conn.execute("insert into nodes (id, type, props) values (%s, 'Point', %s)", (p["id"], _props(p)))
                conn.execute("insert into edges (src, rel, dst) values (%s, 'HAS_POINT', %s)", (e["id"], p["id"]))
            return Written(rows=2 + 2 * len(change.points))
    raise TypeError(f"not a structure change: {type(change).__name__}")
