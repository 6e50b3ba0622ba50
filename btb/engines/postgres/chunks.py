"""P1c's series layout: one row per (point, UTC day) holding the day's samples as arrays — the layout F1/O1
keep their chunk nodes/resources in, on PostgreSQL beside P1's one row per sample, so that "rows vs chunks"
can be read apart from "relational vs graph vs RDF".

    ts_chunk(point_id int, day int, t int[], v real[], v8 double precision[]), primary key (point_id, day)

- `day`: days since 1970-01-01 UTC (as F1's `Chunk.day`); `t`: the samples' seconds since the day's start
  (0..86399), in the order they were stored. The dataset's timestamps are whole seconds; a sample with a
  sub-second part is refused (ValueError), never rounded.
- Values: P1 stores double precision, and the chunk gives back exactly the same doubles: a chunk whose values
  are all float32 numbers (every point but cumulative energy registers) keeps them in `v real[]` (4 bytes a
  value, exact), any other chunk in `v8 double precision[]` (`v` null). The queries unnest
  `(t, coalesce(v8, v::float8[]))`, so their arithmetic runs on the doubles P1's runs on.
- Rows over ~2 kB are TOASTed as PostgreSQL does by default (out of line; pglz finds little to compress in
  these arrays: lz4 or no compression gave the same bytes on small-1w). Queries (`queries/P1c/series/`)
  select a point's chunks by (point_id, day) from the window's days and filter the sub-day edges after
  unnest, on each sample's seconds of the day against the window's epoch seconds less the chunk's day.

Load: one transaction on one connection creates the table and COPYs (binary, FREEZE) every day file into
it, so with wal_level=minimal nothing of it is WAL-logged; the file's batches are cut into whole
(point, day) chunks as they stream (a point's tail carries over to the next batch), encoded by a helper
thread ahead of the server, so memory stays a few batches whatever the dataset. The primary key is built
after the load, in the same transaction.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import psycopg
import pyarrow.parquet as pq

from btb.dataset.format import US_PER_DAY, series_files
from btb.engines.postgres.series import BATCH_ROWS, COPY_HEADER, COPY_TRAILER, prefetched
from btb.engines import series_sql
from btb.engines.writes import SampleBatch, Written, chunk_pieces

TABLE = "ts_chunk"
COLUMNS = "point_id, day, t, v, v8"
DDL = ("create table ts_chunk (point_id int not null, day int not null, t int[] not null, "
       "v real[], v8 double precision[])")
SERIES_DIR = "P1c/series"
US_PER_S = 1_000_000
OIDS = {">i4": 23, ">f4": 700, ">f8": 701}  # int4, float4, float8
_ROW_HEAD = struct.Struct(">hiiii")  # 5 fields; point_id and day, each with its length
_NULL = struct.pack(">i", -1)


def series_texts() -> dict[str, str]:
    """{qid: series SQL over ts_chunk} for Q6–Q13 (`queries/P1c/series/`)."""
    return series_sql.series_texts(SERIES_DIR)


# --- binary COPY of chunk rows ---------------------------------------------------------------------------

def _array(values: np.ndarray, dtype: str) -> bytes:
    """One non-empty one-dimensional array field: its length, then ndim, flags, element oid, size, lower
    bound, and each element with its length."""
    el = np.empty(len(values), [("l", ">i4"), ("x", dtype)])
    el["l"] = np.dtype(dtype).itemsize
    el["x"] = values
    body = el.tobytes()
    return struct.pack(">iiiiii", 20 + len(body), 1, 0, OIDS[dtype], len(values), 1) + body


def encode_chunks(point_idx: np.ndarray, time_us: np.ndarray, value: np.ndarray) -> tuple[bytes, int]:
    """COPY rows (no header/trailer) of the samples, one row per (point, day) run of consecutive samples;
    (bytes, rows). The caller keeps each (point, day) in one call (rows of one key are the key's chunk)."""
    if not len(point_idx):
        return b"", 0
    day = time_us // US_PER_DAY
    sod_us = time_us - day * US_PER_DAY
    if np.any(sod_us % US_PER_S):
        i = int(np.flatnonzero(sod_us % US_PER_S)[0])
        raise ValueError(f"P1c stores whole seconds: point {int(point_idx[i])} has a sample at {int(time_us[i])} µs")
    secs = (sod_us // US_PER_S).astype(np.int32)
    starts = np.r_[0, np.flatnonzero((np.diff(point_idx) != 0) | (np.diff(day) != 0)) + 1]
    inexact = value.astype(np.float32).astype(np.float64) != value  # NaN too: it goes to v8, as it is
    wide = np.add.reduceat(inexact, starts) > 0
    out = []
    for k, (lo, hi) in enumerate(zip(starts, np.r_[starts[1:], len(point_idx)])):
        v = value[lo:hi]
        vals = _NULL + _array(v, ">f8") if wide[k] else _array(v, ">f4") + _NULL
        out.append(_ROW_HEAD.pack(5, 4, int(point_idx[lo]), 4, int(day[lo])) + _array(secs[lo:hi], ">i4") + vals)
    return b"".join(out), len(starts)


def _whole_chunks(batches: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]):
    """The samples of `batches` (sorted by point, time) regrouped so that no (point, day) spans two groups:
    each group ends before the last key of what has arrived, which carries over into the next."""
    carry: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    for p, t, v in batches:
        if carry is not None:
            p, t, v = (np.concatenate(x) for x in zip(carry, (p, t, v)))
        if not len(p):
            continue
        key_p, key_d = p[-1], t[-1] // US_PER_DAY
        cut = len(p) - int(np.count_nonzero((p == key_p) & (t // US_PER_DAY == key_d)))
        if cut:
            yield p[:cut], t[:cut], v[:cut]
        carry = (p[cut:], t[cut:], v[cut:])
    if carry is not None and len(carry[0]):
        yield carry


def _file_batches(f: Path):
    pf = pq.ParquetFile(f)
    for batch in pf.iter_batches(BATCH_ROWS, columns=["point_idx", "time", "value"]):
        yield (batch.column(0).to_numpy(), batch.column(1).cast("int64").to_numpy(),
               batch.column(2).to_numpy())


def _blocks(files: list[Path], tally: dict[str, int]) -> Iterator[bytes]:
    for f in files:
        for p, t, v in _whole_chunks(_file_batches(f)):
            block, rows = encode_chunks(p, t, v)
            tally["chunks"] += rows
            tally["samples"] += len(p)
            yield block


def load(conn: psycopg.Connection, dataset_dir: Path) -> tuple[int, int, dict[str, float]]:
    """Create ts_chunk and fill it from the dataset's day files in one transaction (see the module doc);
    (chunks, samples, phases)."""
    tally = {"chunks": 0, "samples": 0}
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    conn.execute(f"drop table if exists {TABLE} cascade")
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(DDL)
        with cur.copy(f"copy {TABLE} ({COLUMNS}) from stdin (format binary, freeze)") as cp:
            cp.write(COPY_HEADER)
            for block in prefetched(_blocks(series_files(dataset_dir), tally)):
                cp.write(block)
            cp.write(COPY_TRAILER)
        phases["series_copy_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        cur.execute(f"alter table {TABLE} add primary key (point_id, day)")
        phases["series_index_s"] = time.perf_counter() - t1
    secs = phases["series_copy_s"]
    phases["series_copy_samples_per_s"] = tally["samples"] / secs if secs > 0 else 0.0
    phases["series_total_s"] = time.perf_counter() - t0
    return tally["chunks"], tally["samples"], phases


def counts(conn: psycopg.Connection) -> dict[str, int]:
    chunks, samples = conn.execute(f"select count(*), coalesce(sum(cardinality(t)), 0) from {TABLE}").fetchone()
    return {"samples": int(samples), "chunks": int(chunks), TABLE: int(chunks)}


def store_details(conn: psycopg.Connection) -> dict:
    """The chunk table's bytes (heap, TOAST with its index, primary key) and how its values are held."""
    row = conn.execute(
        "select pg_total_relation_size('ts_chunk'), pg_relation_size('ts_chunk'), pg_indexes_size('ts_chunk'),"
        " coalesce(pg_total_relation_size(nullif(reltoastrelid, 0)), 0) from pg_class where oid = 'ts_chunk'::regclass"
    ).fetchone()
    wide = conn.execute("select count(*) filter (where v8 is not null), count(*) from ts_chunk").fetchone()
    return {"series_layout": "ts_chunk per (point, day): t int[] seconds of the day, v real[] or v8 double[]",
            "ts_chunk_bytes": int(row[0]), "ts_chunk_heap_bytes": int(row[1]), "ts_chunk_index_bytes": int(row[2]),
            "ts_chunk_toast_bytes": int(row[3]), "chunks_double": int(wide[0]), "chunks": int(wide[1]),
            "copy_format": "binary (numpy-built arrays), one transaction, FREEZE"}


# --- appends ---------------------------------------------------------------------------------------------

STAGE = "ts_chunk_in"
MERGE = (
    f"insert into {TABLE} as c ({COLUMNS}) select {COLUMNS} from {STAGE} "
    "on conflict (point_id, day) do update set t = c.t || excluded.t, "
    "v = case when c.v8 is null and excluded.v8 is null then c.v || excluded.v end, "
    "v8 = case when c.v8 is not null or excluded.v8 is not null "
    "then coalesce(c.v8, c.v::float8[]) || coalesce(excluded.v8, excluded.v::float8[]) end")


class ChunkAppender:
    """Appends batches into ts_chunk on one connection: the batch's (point, day) pieces are COPYed into a
    session temp table, then merged in one statement — a new day's chunk is inserted, a stored one extended
    (its arrays rewritten with the new samples after the stored ones: an UPDATE makes a new row version, the
    cost of a chunk that is still filling). A chunk that was real[] and receives a value that is not a
    float32 becomes double[] whole. One transaction per batch."""

    def __init__(self) -> None:
        self._staged_on: int | None = None  # id of the connection whose session holds the stage table

    def prepare(self, conn: psycopg.Connection) -> None:
        if self._staged_on != id(conn):
            conn.execute(f"create temp table if not exists {STAGE} (like {TABLE}) on commit delete rows")
            self._staged_on = id(conn)

    def append(self, conn: psycopg.Connection, batch: SampleBatch) -> Written:
        self.prepare(conn)
        t0 = time.perf_counter()
        blocks, pieces = [], 0
        for piece in chunk_pieces(batch):  # sorted by (point, day, time): one row per piece
            block, rows = encode_chunks(np.full(len(piece.ts), piece.idx, np.int32), piece.ts, piece.vs)
            blocks.append(block)
            pieces += rows
        t1 = time.perf_counter()
        if pieces:
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(f"copy {STAGE} ({COLUMNS}) from stdin (format binary)") as cp:
                    cp.write(COPY_HEADER + b"".join(blocks) + COPY_TRAILER)
                cur.execute(MERGE)
        return Written(samples=len(batch), phases={"pieces_s": t1 - t0, "merge_s": time.perf_counter() - t1})
