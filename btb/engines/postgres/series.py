"""The shared series table `ts(point_id int, time timestamptz, value double precision)` and its bulk load.

value is double precision because cumulative energy registers need it (float32 steps by 0.125 kWh at
2e6 kWh); every other point's values are float32 numbers, stored exactly.

Why it looks like this (ENGINE-FACTS.md): binary COPY blocks are built whole by numpy (big-endian
structured dtype, one `tobytes()` per Parquet batch) instead of per-row conversion; on plain PostgreSQL
each day is its own range partition and the days are loaded into their *leaf* partitions on parallel
connections (COPY into a partitioned parent only batches while rows hit one partition); indexes are
built after the load, one partition per connection, then attached to the parent index.
TimescaleDB, where the server has the extension preloaded, gets a hypertable instead, with a chunk interval
sized by the TimescaleDB rule (ENGINE-FACTS.md, tigerdata docs "sizing hypertable chunks"): the indexes of
the chunks being loaded at once fit in ~25 % of shared_buffers. An installed extension that is *not*
preloaded is detected from the server's settings: `CREATE EXTENSION` is never tried then (the server
would close the session with FATAL "extension must be preloaded"); the series go to native partitions
and the backend description says why.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

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


# btree (point_id int4, time timestamptz): 8 B tuple header + 4 + 4 padding + 8 = 24 B, a 4 B line pointer,
# leaf pages 90 % full, a few inner pages: ~34 B a row; 40 leaves margin
INDEX_BYTES_PER_ROW = 40
CHUNK_HOURS = (1, 2, 3, 4, 6, 8, 12, 24, 48, 72, 96, 120, 144, 168)  # divisors/multiples of a day, <= 7 days
BACKENDS = ("auto", "timescaledb", "native")


def timescale_status(conn: psycopg.Connection) -> tuple[str | None, str]:
    """(TimescaleDB version usable on this server, or None; why). Never issues CREATE EXTENSION on a
    server that has not preloaded it (that closes the session)."""
    row = conn.execute("select default_version from pg_available_extensions where name = 'timescaledb'").fetchone()
    if row is None:
        return None, "TimescaleDB not installed on this server"
    preload = conn.execute("select current_setting('shared_preload_libraries')").fetchone()[0]
    if "timescaledb" not in preload:
        return None, (f"TimescaleDB {row[0]} installed but not preloaded (shared_preload_libraries = '{preload}'): "
                      "CREATE EXTENSION would close the session")
    return row[0], f"TimescaleDB {row[0]} preloaded"


def has_timescale(conn: psycopg.Connection) -> bool:
    """True if the extension is usable here (installed *and* preloaded); creates it in the database."""
    version, _ = timescale_status(conn)
    if version is None:
        return False
    try:
        conn.execute("create extension if not exists timescaledb")
    except psycopg.OperationalError as e:
        if conn.closed:
            raise RuntimeError(f"the server closed the session on CREATE EXTENSION timescaledb: {e}") from e
        raise
    return True


def shared_buffers_bytes(conn: psycopg.Connection) -> int:
    return int(conn.execute("select setting::bigint * current_setting('block_size')::bigint from pg_settings "
                            "where name = 'shared_buffers'").fetchone()[0])


def chunk_hours(samples_per_day: float, shared_buffers: int, active_chunks: int = 2) -> int:
    """Chunk interval (hours) such that the (point_id, time) indexes of the `active_chunks` chunks loaded at
    once fit in 25 % of shared_buffers; the largest such interval in CHUNK_HOURS, at least 1 hour."""
    rows_fit = 0.25 * shared_buffers / INDEX_BYTES_PER_ROW / max(1, active_chunks)
    per_hour = max(samples_per_day, 1.0) / 24
    fitting = [h for h in CHUNK_HOURS if h * per_hour <= rows_fit]
    return fitting[-1] if fitting else CHUNK_HOURS[0]


def create_ts(conn: psycopg.Connection, manifest: Manifest, backend: str = "auto", active_chunks: int = 2) -> str:
    """Create the (empty) series table; returns the backend description.

    backend: "auto" (hypertable when TimescaleDB is preloaded, else native partitions), "native", or
    "timescaledb" (an error when the server cannot). `active_chunks`: chunks loaded at once (workers)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    version = conn.execute("show server_version").fetchone()[0]
    conn.execute("drop table if exists ts cascade")
    why = "native requested"
    if backend != "native":
        tsv, why = timescale_status(conn)
        if tsv is None and backend == "timescaledb":
            raise RuntimeError(f"a TimescaleDB hypertable was asked for, but {why}")
        if tsv is not None and has_timescale(conn):
            hours = chunk_hours(manifest.counts["samples"] / max(1, manifest.days), shared_buffers_bytes(conn),
                                active_chunks)
            conn.execute("create table ts (point_id int not null, time timestamptz not null, "
                         "value double precision not null)")
            # no default (time desc) index: the same single (point_id, time) index as native, built after load
            conn.execute("select create_hypertable('ts', 'time', chunk_time_interval => %s::interval, "
                         "create_default_indexes => false)", (f"{hours} hours",))
            _precreate_chunks(conn, manifest, hours)
            tsv = conn.execute("select extversion from pg_extension where extname = 'timescaledb'").fetchone()[0]
            return f"timescaledb {tsv} hypertable ({hours}-hour chunks) on PostgreSQL {version}"
    conn.execute("create table ts (point_id int not null, time timestamptz not null, value double precision not null)"
                 " partition by range (time)")
    start = datetime.fromisoformat(manifest.start.replace("Z", "+00:00")).astimezone(timezone.utc)
    for day in range(manifest.days):
        lo, hi = start + timedelta(days=day), start + timedelta(days=day + 1)
        # bounds are DDL, which takes no bind parameters: they are rendered as typed literals by psycopg
        conn.execute(sql.SQL("create table {} partition of ts for values from ({}) to ({})").format(
            sql.Identifier(day_name(day)), sql.Literal(lo), sql.Literal(hi)))
    return f"postgresql {version} native daily range partitions ({why})"


def _precreate_chunks(conn: psycopg.Connection, manifest: Manifest, hours: int) -> None:
    """Create (empty) every chunk the dataset needs before loading: chunk creation locks the hypertable until
    the creating transaction ends, so chunks made by parallel COPYs serialise the loaders."""
    start = datetime.fromisoformat(manifest.start.replace("Z", "+00:00")).astimezone(timezone.utc)
    end = start + timedelta(days=manifest.days)
    conn.execute("insert into ts select 0, g, 0 from generate_series(%s::timestamptz, %s::timestamptz - "
                 "interval '1 microsecond', %s::interval) g", (start, end, f"{hours} hours"))
    for (chunk,) in conn.execute("select format('%I.%I', chunk_schema, chunk_name) from "
                                 "timescaledb_information.chunks where hypertable_name = 'ts'").fetchall():
        conn.execute(f"truncate {chunk}")  # empty, kept (TRUNCATE on the hypertable would drop them)


def _chunks_by_day(dsn: str, days: list[int], start: datetime) -> dict[int, tuple[str, ...]] | None:
    """The hypertable chunks each day's rows go to, when days never share a chunk with another *group*
    of days: then each group is loaded in one transaction that TRUNCATEs its chunks first (no WAL).
    Days sharing one chunk (intervals over a day) get the same key; None if the layout is anything else."""
    with psycopg.connect(dsn) as c:
        chunks = c.execute("select format('%I.%I', chunk_schema, chunk_name), range_start, range_end from "
                           "timescaledb_information.chunks where hypertable_name = 'ts'").fetchall()
    out = {}
    for day in days:
        lo, hi = start + timedelta(days=day), start + timedelta(days=day + 1)
        out[day] = tuple(sorted(name for name, a, b in chunks if a < hi and b > lo))
    owner: dict[str, tuple[str, ...]] = {}
    for key in out.values():
        for name in key:
            if owner.setdefault(name, key) != key:
                return None
    return out


def _day_units(dataset_dir: Path) -> list[tuple[int, list[tuple[Path, int]]]]:
    """(day, [(file, row_group), ...]): a day is the unit of parallel loading (one leaf, one transaction)."""
    days: dict[int, list[tuple[Path, int]]] = {}
    for f in series_files(dataset_dir):
        day = int(f.stem.split("-")[1])
        days.setdefault(day, []).extend((f, rg) for rg in range(pq.ParquetFile(f).num_row_groups))
    return sorted(days.items())


def _batch_blocks(parts: list[tuple[Path, int]], counts: list[int]) -> Iterator[bytes]:
    """Binary COPY blocks (rows, no header/trailer) of `parts`, one per Parquet batch; rows counted per part."""
    for f, rg in parts:
        table = pq.ParquetFile(f).read_row_group(rg, columns=["point_idx", "time", "value"])
        for batch in table.to_batches(BATCH_ROWS):
            yield encode_batch(batch.column(0).to_numpy(), batch.column(1).cast("int64").to_numpy(),
                               batch.column(2).to_numpy())
        counts.append(table.num_rows)


def _encoded_blocks(parts: list[tuple[Path, int]], counts: list[int], ahead: int = 3) -> Iterator[bytes]:
    """P1's COPY blocks of `parts`, decoded and encoded ahead (`prefetched`)."""
    return prefetched(_batch_blocks(parts, counts), ahead)


def prefetched(blocks: Iterator[bytes], ahead: int = 3) -> Iterator[bytes]:
    """The blocks of `blocks`, produced by a helper thread up to `ahead` blocks in advance, so that the
    server never waits for the client's Parquet decoding between two writes. Memory: `ahead` blocks."""
    q: queue.Queue = queue.Queue(maxsize=ahead)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for block in blocks:
                while not stop.is_set():
                    try:
                        q.put(block, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            q.put(e)

    th = threading.Thread(target=produce, daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        th.join()


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
    """COPY every day into ts on `workers` connections, one day per transaction; returns (rows, seconds).

    Native: each day goes to its leaf, which is TRUNCATEd in the same transaction first: the COPY then fills
    a new file, so with wal_level=minimal it writes no WAL (the file is synced at commit), and FREEZE
    stores its rows frozen (no hint-bit writes or freezing vacuum later). TimescaleDB: the chunks exist
    already (create_ts); a day (or the days of one chunk, for chunks over a day) is one transaction that
    TRUNCATEs its chunks, then COPYs into the hypertable: the same WAL skip, no chunk-creation lock.
    """
    counts: list[int] = []
    units = _day_units(dataset_dir)
    chunk_of: dict[int, tuple[str, ...]] | None = None
    if timescale:
        manifest = Manifest.read(dataset_dir)
        start = datetime.fromisoformat(manifest.start.replace("Z", "+00:00")).astimezone(timezone.utc)
        chunk_of = _chunks_by_day(dsn, [d for d, _ in units], start)
        if chunk_of is not None:  # days sharing chunks load together
            groups: dict[tuple[str, ...], list[tuple[int, list[tuple[Path, int]]]]] = {}
            for day, parts in units:
                groups.setdefault(chunk_of[day], []).append((day, parts))
            units = [(g[0][0], [p for _, parts in g for p in parts]) for g in groups.values()]

    def copy_day(conn: psycopg.Connection, unit: tuple[int, list[tuple[Path, int]]]) -> None:
        day, parts = unit
        if timescale:
            stmt = sql.SQL("copy ts (point_id, time, value) from stdin (format binary)")
            empty = [sql.SQL(c) for c in chunk_of[day]] if chunk_of is not None else []  # quoted by format()
        else:
            stmt = sql.SQL("copy {} (point_id, time, value) from stdin (format binary, freeze)").format(
                sql.Identifier(day_name(day)))
            empty = [sql.Identifier(day_name(day))]
        with conn.transaction(), conn.cursor() as cur:
            for table in empty:
                cur.execute(sql.SQL("truncate {}").format(table))
            with cur.copy(stmt) as cp:
                cp.write(COPY_HEADER)
                for block in _encoded_blocks(parts, counts):
                    cp.write(block)
                cp.write(COPY_TRAILER)

    t0 = time.perf_counter()
    _drain(dsn, units, workers, copy_day)
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
