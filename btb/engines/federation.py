"""Federation of a structure engine with the PostgreSQL series store: the one path every hybrid shares
(F2 and M2 on a graph engine, O2 on an RDF store).

    graph part (structure engine) -> key rows (..., point idx)
    transfer:  session temp table `fed` TRUNCATEd, filled by binary COPY, ANALYZEd
    sql part:  the series SQL joins `fed` with `ts` and returns the answer rows

Each phase is timed on the client and returned with the rows (`Answer.phases`: graph / transfer / sql);
the measured latency of the query is their sum (plus the few microseconds between them).

Why a temp table and COPY rather than `point_id = ANY(%s)`: the planner sees a relation with statistics
(a join it can hash, merge or loop), no plan-time cost for a huge constant, the ids travel in one binary
stream, and the key columns that the answer needs (tenant, building, ...) travel with them, so the SQL part
returns the final answer. It is *not* 5x faster than ANY: both read the same rows of `ts`, and a temp table
rules out parallel plans; measured against `ANY(ARRAY[...])` and the graph engine alone in
`benchmarks/bench_federation.py`, figures and reasons in docs/federation.md.

`fed` has a fixed shape for every query: `k1 text, k2 text, k3 text, f float8, idx int`; a query states
which of them its graph part returns, in order (e.g. ("k1", "idx")).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np
import psycopg
from psycopg import errors as pgerr
from psycopg import sql

from btb.dataset.format import Manifest
from btb.engines.base import Answer, Endpoint, IngestReport, QueryTimeout, RunOptions
from btb.engines.postgres import schema, series
from btb.engines.postgres.scenario import bind as pg_bind
from btb.engines.series_sql import KEY_COLUMNS, series_texts
from btb.engines.postgres.writes import SeriesAppender
from btb.engines.writes import SampleBatch, Written

TABLE = "fed"
COLUMNS: dict[str, str] = {"k1": "text", "k2": "text", "k3": "text", "f": "float8", "idx": "int4"}
# Every non-empty load is ANALYZEd (0.4 ms at 1k ids, 1 ms at 10k, ~10 ms at 100k on the 2-core node). TRUNCATE
# keeps the column statistics of the previous ANALYZE, so a load left unanalyzed is planned with the *previous*
# query's id histogram (or, never analyzed, with no statistics at all): measured in bench_federation, 1k
# scattered ids after a 10k contiguous load got a merge join over the whole ts index, 12 ms instead of 2 ms
# (the same query on fresh statistics: index probes). Before, loads below 5k rows were not analyzed.
ANALYZE_ROWS = 1
# Temp tables live in session-local buffers (temp_buffers, default 8MB): a 1M-id `fed` (~40 MB) would spill
# to disk at every query. Set at connect time (it cannot change after the session's first temp table use).
SESSION_SETTINGS = {"temp_buffers": "64MB"}


def session_options() -> str:
    """libpq `options` for a federating session (append to the caller's own -c settings)."""
    return " ".join(f"-c {k}={v}" for k, v in SESSION_SETTINGS.items())
_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_TRAILER = (-1).to_bytes(2, "big", signed=True)
_IDX_ROW = np.dtype([("n", ">i2"), ("l", ">i4"), ("idx", ">i4")])  # one int4 column a row


def create_temp_table(conn: psycopg.Connection) -> None:
    """Once per session (idempotent): the temp table the transfer fills."""
    cols = ", ".join(f"{k} {t}" for k, t in COLUMNS.items())
    conn.execute(f"create temp table if not exists {TABLE} ({cols})")


def idx_copy_block(ids: np.ndarray) -> bytes:
    """Binary COPY rows for a one-column int4 load (the id-only fast path), header and trailer included."""
    rows = np.empty(len(ids), _IDX_ROW)
    rows["n"], rows["l"], rows["idx"] = 1, 4, ids
    return _HEADER + rows.tobytes() + _TRAILER


def transfer(conn: psycopg.Connection, columns: Sequence[str], rows: Sequence[Sequence[Any]] | np.ndarray,
             timings: dict[str, float] | None = None) -> int:
    """Replace the content of `fed` with `rows` (column order `columns`) by binary COPY; returns rows.
    `timings`, when given, receives the seconds of its two steps ("copy": TRUNCATE + COPY, "analyze"), so a
    benchmark can show where the transfer goes without a second copy of this code."""
    bad = [c for c in columns if c not in COLUMNS]
    if bad:
        raise ValueError(f"fed has no column(s) {bad}; columns: {list(COLUMNS)}")
    t0 = time.perf_counter()
    conn.execute(f"truncate {TABLE}")
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    stmt = sql.SQL("copy {} ({}) from stdin (format binary)").format(sql.Identifier(TABLE), cols)
    with conn.cursor() as cur, cur.copy(stmt) as cp:
        if tuple(columns) == ("idx",) and isinstance(rows, np.ndarray):
            cp.write(idx_copy_block(rows.astype(np.int32, copy=False)))
        else:
            cp.set_types([COLUMNS[c] for c in columns])
            for r in rows:
                cp.write_row(r)
    n = len(rows)
    t1 = time.perf_counter()
    if n >= ANALYZE_ROWS:
        conn.execute(f"analyze {TABLE}")
    if timings is not None:
        timings["copy"], timings["analyze"] = t1 - t0, time.perf_counter() - t1
    return n


def federate(graph: Callable[[], Sequence[Sequence[Any]]], conn: psycopg.Connection, columns: Sequence[str],
             sql_text: str, params: Mapping[str, Any], prepare: bool | None = False) -> Answer:
    """Run one federated query: graph part, transfer into `fed`, SQL part. Phases in seconds."""
    t0 = time.perf_counter()
    keys = graph()
    t1 = time.perf_counter()
    transfer(conn, columns, keys)
    t2 = time.perf_counter()
    rows = conn.execute(sql_text, params, prepare=prepare).fetchall()
    t3 = time.perf_counter()
    return Answer(rows, {"graph": t1 - t0, "transfer": t2 - t1, "sql": t3 - t2})


class SeriesSession:
    """The PostgreSQL half every hybrid shares (F2, M2, O2): one federating session, set up at connect time
    (timezone, statement_timeout, temp_buffers, the `fed` temp table, the plan-caching policy), so nothing
    of it falls inside a timed query; the shared series SQL texts; the hybrid ingest (`ingest_hybrid`) and
    the federated series query (`federated`); close and cancel of that session.
    Mix in before the structure engine's Scenario class: its `__init__` sets the session up after theirs."""

    series_workers: ClassVar[int] = 2  # connections of the series load (P1's loader)

    def __init__(self, endpoints: Mapping[str, Endpoint], options: RunOptions | None = None):
        super().__init__(endpoints, options)  # type: ignore[call-arg]
        self.dsn = self.endpoints["postgres"].dsn
        self._pg: psycopg.Connection | None = None
        self._pg_timeout_ms = max(1, int(self.options.timeout_s * 1000))
        self._prepare = {"never": False, "auto": None, "always": True}[self.options.prepare]
        self._sql = series_texts()
        self._appender = SeriesAppender()

    def pg(self) -> psycopg.Connection:
        """One session; timezone, statement_timeout and the temp table are set up once, at connect time."""
        if self._pg is None or self._pg.closed:
            opts = f"-c timezone=UTC -c statement_timeout={self._pg_timeout_ms} {session_options()}"
            self._pg = psycopg.connect(self.dsn, autocommit=True, options=opts,
                                       connect_timeout=max(1, int(self.options.connect_timeout_s)))
            self._pg.prepare_threshold = {"never": None, "auto": 5, "always": 0}[self.options.prepare]
            create_temp_table(self._pg)
        return self._pg

    def bind(self, qid: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The structure engine's bound parameters plus the series window as PostgreSQL values (`pg_start`,
        `pg_end`), and the session connected: neither conversion nor connecting falls in a timed query."""
        out = super().bind(qid, params)  # type: ignore[misc]
        self.pg()
        for k, v in pg_bind({k: params[k] for k in ("start", "end") if k in params}).items():
            out[f"pg_{k}"] = v
        return out

    def series_params(self, qid: str, bound: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters query `qid`'s shared series SQL names, PostgreSQL-typed where `bind` made them so."""
        return {k: bound[f"pg_{k}"] if f"pg_{k}" in bound else bound[k] for k in ("start", "end", "tenant")
                if f"%({k})s" in self._sql[qid]}

    def ingest_hybrid(self, dataset_dir: Path, load_structure: Callable[[Path], tuple[dict, dict]], phase: str,
                      structure_kind: str, structure_store: Callable[[dict], tuple[int, dict]] | None = None
                      ) -> IngestReport:
        """A hybrid's ingest: the structure engine's load (`load_structure` -> rows, phases; its time is
        `<phase>_total_s`), then the series (`ingest_series`); the timing ends there, the checkpoint follows.
        `structure_store(phases)`, where given, says what the structure engine stores: (bytes on disk,
        details for the report)."""
        dataset_dir = Path(dataset_dir)
        manifest = Manifest.read(dataset_dir)
        t0 = time.perf_counter()
        rows, phases = load_structure(dataset_dir)
        phases[f"{phase}_total_s"] = time.perf_counter() - t0
        backend, timescale = self.ingest_series(dataset_dir, manifest, rows, phases)
        seconds = time.perf_counter() - t0
        self.checkpoint_series(phases)
        store_bytes, store_details = structure_store(phases) if structure_store is not None else (0, {})
        structure = self.endpoints[structure_kind]
        return IngestReport(
            seconds=seconds, rows=rows, bytes_on_disk=schema.bytes_on_disk(self.pg()) + store_bytes,
            backend=f"{structure.version or structure.kind} + {backend}",
            details={"phases": phases, **store_details, **self.series_details(timescale)})

    def federated(self, qid: str, bound: Mapping[str, Any], graph: Callable[[], Sequence[Sequence[Any]]]) -> Answer:
        """Series query `qid` of a hybrid: `graph` (the structure engine's part) yields the key rows, then
        `federate` on this session. A statement_timeout is a QueryTimeout; a broken session is dropped (the
        next query reconnects)."""
        conn = self._pg if self._pg is not None else self.pg()
        sparams = self.series_params(qid, bound)
        try:
            return federate(graph, conn, KEY_COLUMNS[qid], self._sql[qid], sparams, prepare=self._prepare)
        except pgerr.QueryCanceled as e:
            raise QueryTimeout(f"{qid}: statement_timeout {self._pg_timeout_ms} ms exceeded ({str(e).strip()})") from e
        except psycopg.OperationalError:
            self._drop_pg()
            raise

    def ingest_series(self, dataset_dir: Path, manifest: Manifest, rows: dict, phases: dict) -> tuple[str, bool]:
        """P1's series table filled from the dataset by the same loader (COPY on `series_workers` connections,
        indexes, VACUUM ANALYZE), its rows and phases added; returns (backend, is TimescaleDB)."""
        t1 = time.perf_counter()
        conn = self.pg()
        backend = series.create_ts(conn, manifest)
        timescale = backend.startswith("timescaledb")
        n, secs = series.load_series(self.dsn, dataset_dir, timescale, workers=self.series_workers)
        rows["ts"] = rows["samples"] = n
        phases["series_copy_s"] = secs
        phases["series_copy_rows_per_s"] = n / secs if secs > 0 else 0.0
        phases["series_index_s"] = series.index_series(self.dsn, manifest.days, timescale, workers=self.series_workers)
        conn.execute("vacuum (analyze) ts")  # hint bits and visibility map set at load, not by the first trial
        phases["series_total_s"] = time.perf_counter() - t1
        return backend, timescale

    def checkpoint_series(self, phases: dict) -> None:
        """As P1: loaded series survive a backend OOM kill later (after the ingest's timing)."""
        t = time.perf_counter()
        self.pg().execute("checkpoint")
        phases["checkpoint_after_ingest_s"] = time.perf_counter() - t

    def series_details(self, timescale: bool) -> dict[str, Any]:
        """What a hybrid's ingest report says of its series half and of the federation."""
        return {"ts_bytes": series.ts_bytes(self.pg(), timescale), "series_workers": self.series_workers,
                "federation": "temp table + binary COPY + JOIN",
                "federation_session_settings": dict(SESSION_SETTINGS)}

    def prepare_writes(self) -> None:
        """The series half's layout read once; the structure engine's own setup after it."""
        self._appender = SeriesAppender()
        self._appender.prepare(self.pg())
        super().prepare_writes()  # type: ignore[misc]

    def append(self, batch: SampleBatch) -> Written:
        """A hybrid's samples go to PostgreSQL (P1's ts); its structure changes to the structure engine."""
        return self._appender.append(self.pg(), batch)

    def series_count(self) -> int:
        """Samples stored in the series table (`counts()` of a hybrid)."""
        return self.pg().execute("select count(*) from ts").fetchone()[0]

    def _drop_pg(self) -> None:
        c, self._pg = self._pg, None
        if c is not None and not c.closed:
            c.close()

    def close(self) -> None:
        self._drop_pg()
        super().close()

    def cancel(self) -> None:
        super().cancel()
        c = self._pg
        if c is not None and not c.closed:
            try:
                c.cancel_safe(timeout=5.0)
            except psycopg.Error:
                pass
