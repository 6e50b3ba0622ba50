"""The shared series table `ts(point_id int, time timestamptz, value double precision)` and its bulk load.

value is double precision because cumulative energy registers need it (float32 steps by 0.125 kWh at
2e6 kWh); every other point's values are float32 numbers, stored exactly.

Why it looks like this (ENGINE-FACTS.md): binary COPY blocks are built whole by numpy (big-endian
structured dtype, one `tobytes()` per Parquet batch) instead of per-row conversion; on plain PostgreSQL
each day is its own range partition and the days are loaded into their *leaf* partitions on parallel
connections (COPY into a partitioned parent only batches while rows hit one partition); indexes are
built after the load, one partition per connection, then attached to the parent index.
TimescaleDB, where the extension exists, gets a hypertable with 1-day chunks instead.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import psycopg
import pyarrow.parquet as pq
from psycopg import sql

from btb.dataset.format import Manifest, series_files

PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC in Unix microseconds: binary timestamptz origin
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)
ROW_DTYPE = np.dtype([("n", ">i2"), ("l1", ">i4"), ("pid", ">i4"), ("l2", ">i4"), ("t", ">i8"),
                      ("l3", ">i4"), ("v", ">f8")])  # 34 bytes a row
BATCH_ROWS = 262_144


@dataclass
class SeriesLoad:
    backend: str
    rows: int
    seconds: float
    index_seconds: float
    workers: int


def day_name(day: int) -> str:
    return f"ts_d{day:04d}"


def encode_batch(point_idx: np.ndarray, time_us: np.ndarray, value: np.ndarray) -> bytes:
    """Binary COPY rows (no header/trailer) for one batch of samples."""
    rows = np.empty(len(point_idx), ROW_DTYPE)
    rows["n"], rows["l1"], rows["l2"], rows["l3"] = 3, 4, 8, 8
    rows["pid"] = point_idx
    rows["t"] = time_us - PG_EPOCH_US
    rows["v"] = value
    return rows.tobytes()


def has_timescale(conn: psycopg.Connection) -> bool:
    """True only if the extension can actually be created (it also needs shared_preload_libraries)."""
    if not conn.execute("select 1 from pg_available_extensions where name = 'timescaledb'").fetchone():
        return False
    if "timescaledb" not in conn.execute("select current_setting('shared_preload_libraries')").fetchone()[0]:
        return False  # installed, not preloaded: CREATE EXTENSION would close the session with FATAL
    try:
        with conn.transaction():
            conn.execute("create extension if not exists timescaledb")
        return True
    except psycopg.Error:
        return False


def create_ts(conn: psycopg.Connection, manifest: Manifest) -> str:
    """Create the (empty) series table; returns the backend description."""
    version = conn.execute("show server_version").fetchone()[0]
    conn.execute("drop table if exists ts cascade")
    if has_timescale(conn):
        conn.execute("create table ts (point_id int not null, time timestamptz not null, value double precision not null)")
        conn.execute("select create_hypertable('ts', 'time', chunk_time_interval => interval '1 day')")
        tsv = conn.execute("select extversion from pg_extension where extname = 'timescaledb'").fetchone()[0]
        return f"timescaledb {tsv} hypertable (1-day chunks) on PostgreSQL {version}"
    conn.execute("create table ts (point_id int not null, time timestamptz not null, value double precision not null)"
                 " partition by range (time)")
    start = datetime.fromisoformat(manifest.start.replace("Z", "+00:00")).astimezone(timezone.utc)
    for day in range(manifest.days):
        lo, hi = start + timedelta(days=day), start + timedelta(days=day + 1)
        # bounds are DDL, which takes no bind parameters: they are rendered as typed literals by psycopg
        conn.execute(sql.SQL("create table {} partition of ts for values from ({}) to ({})").format(
            sql.Identifier(day_name(day)), sql.Literal(lo), sql.Literal(hi)))
    return f"postgresql {version} native daily range partitions"


def _work_units(dataset_dir: Path) -> list[tuple[int, Path, int]]:
    """(day, file, row_group): the unit of parallel loading, large enough to amortise a COPY."""
    units = []
    for f in series_files(dataset_dir):
        day = int(f.stem.split("-")[1])
        units += [(day, f, rg) for rg in range(pq.ParquetFile(f).num_row_groups)]
    return units


def _drain(dsn: str, items: list, workers: int, handle: Callable[[psycopg.Connection, Any], None]) -> None:
    """Process `items` on `workers` threads, one autocommit connection each; the first error is raised.

    Threads suffice: psycopg and pyarrow release the GIL while the server or the decoder works.
    """
    work: queue.Queue = queue.Queue()
    for item in items:
        work.put(item)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                while True:
                    try:
                        item = work.get_nowait()
                    except queue.Empty:
                        return
                    handle(conn, item)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def load_series(dsn: str, dataset_dir: Path, timescale: bool, workers: int = 2) -> tuple[int, float]:
    """COPY every day file into ts on `workers` connections; returns (rows, seconds)."""
    counts: list[int] = []

    def copy_unit(conn: psycopg.Connection, unit: tuple[int, Path, int]) -> None:
        day, f, rg = unit
        target = sql.Identifier("ts" if timescale else day_name(day))
        stmt = sql.SQL("copy {} (point_id, time, value) from stdin (format binary)").format(target)
        table = pq.ParquetFile(f).read_row_group(rg, columns=["point_idx", "time", "value"])
        with conn.cursor() as cur, cur.copy(stmt) as cp:
            cp.write(COPY_HEADER)
            for batch in table.to_batches(BATCH_ROWS):
                cp.write(encode_batch(batch.column(0).to_numpy(), batch.column(1).cast("int64").to_numpy(),
                                      batch.column(2).to_numpy()))
            cp.write(COPY_TRAILER)
        counts.append(table.num_rows)

    t0 = time.perf_counter()
    _drain(dsn, _work_units(dataset_dir), workers, copy_unit)
    return sum(counts), time.perf_counter() - t0


def index_series(dsn: str, days: int, timescale: bool, workers: int = 2) -> float:
    """(point_id, time) index: per leaf in parallel, then the parent index attaches them for free."""
    t0 = time.perf_counter()
    if not timescale:
        stmts = [sql.SQL("create index {} on {} (point_id, time)").format(
            sql.Identifier(f"{day_name(day)}_point_time"), sql.Identifier(day_name(day))) for day in range(days)]
        _drain(dsn, stmts, workers, lambda conn, stmt: conn.execute(stmt))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create index ts_point_time on ts (point_id, time)")
    return time.perf_counter() - t0


def ts_bytes(conn: psycopg.Connection, timescale: bool) -> int:
    """On-disk bytes of the series table: leaf partitions (or hypertable chunks) with their indexes."""
    if timescale:
        return int(conn.execute("select hypertable_size('ts')").fetchone()[0])
    return int(conn.execute("select coalesce(sum(pg_total_relation_size(relid)), 0) from pg_partition_tree('ts')")
               .fetchone()[0])
