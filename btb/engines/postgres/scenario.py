"""What P1 and P2 share: connection handling, the timed ingest pipeline, counts and query execution.

A subclass only says how its *structure* is stored (DDL, row routing, indexes); the series table, the
load order (structure, series COPY, indexes after load, ANALYZE) and the query runner are identical, so
the two paradigms are measured under the same rules.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, Mapping

import psycopg
from psycopg import errors as pgerr
from psycopg import sql

from btb.dataset.format import Manifest
from btb.engines.base import Answer, IngestReport, QueryTimeout, RunOptions, SplitScenario
from btb.engines.postgres import schema, series
from btb.engines.postgres.explain import explain_buffers
from btb.engines.postgres.writes import SeriesAppender
from btb.engines.querytexts import load_queries
from btb.engines.series_sql import relational_statement, series_texts
from btb.engines.writes import Change, SampleBatch, Written

RECORDED_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes", "wal_level", "shared_buffers", "work_mem",
                     "maintenance_work_mem", "effective_cache_size", "max_wal_size", "max_parallel_workers_per_gather",
                     "jit", "random_page_cost", "shared_preload_libraries")
TIME_PARAMS = ("start", "end")


def bind(params: Mapping[str, Any]) -> dict[str, Any]:
    """Driver parameters: ISO window strings become aware datetimes (timestamptz), the rest passes as is."""
    out = dict(params)
    for k in TIME_PARAMS:
        if isinstance(out.get(k), str):
            dt = datetime.fromisoformat(out[k].replace("Z", "+00:00"))
            out[k] = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    return out


def query_texts(scenario_id: str, series: Mapping[str, str] | None = None) -> dict[str, str]:
    """The statements a PostgreSQL scenario runs: Q1–Q5 as written in `queries/<id>/`; Q6–Q13 its
    structure part there as the CTE `fed` + the series SQL every scenario shares (`btb.engines.series_sql`),
    or `series` where the series live in another layout (P1c's chunks)."""
    texts = load_queries(scenario_id, ".sql")
    for qid, text in (series_texts() if series is None else series).items():
        texts[qid] = relational_statement(qid, texts[qid], text)
    return texts


class PostgresScenario(SplitScenario):
    engines: ClassVar[tuple[str, ...]] = ("postgres",)
    structure_tables: ClassVar[tuple[str, ...]]  # counted by counts(), dropped before ingest
    series_tables: ClassVar[tuple[str, ...]] = ("ts",)  # vacuumed (analyze) after the load
    series_workers: ClassVar[int] = 2

    def __init__(self, endpoints, options: RunOptions | None = None):
        super().__init__(endpoints, options)
        self._timeout_ms = max(1, int(self.options.timeout_s * 1000))
        self._prepare = {"never": False, "auto": None, "always": True}[self.options.prepare]
        self.dsn = self.endpoints["postgres"].dsn
        self._conn: psycopg.Connection | None = None
        self._queries = self.statements()
        self._appender = self.new_appender()

    def statements(self) -> dict[str, str]:
        """{qid: statement}: the scenario's texts (`query_texts`)."""
        return query_texts(self.id)

    def new_appender(self) -> SeriesAppender:
        """The write path of the series layout (P1/P2: rows into `ts`)."""
        return SeriesAppender()

    # --- connection -------------------------------------------------------------------------------
    def conn(self) -> psycopg.Connection:
        """One session per scenario; timezone and statement_timeout are set once here, at connect time,
        so no round trip to set them ever falls inside a timed query."""
        if self._conn is None or self._conn.closed:
            opts = f"-c timezone=UTC -c statement_timeout={self._timeout_ms}"
            self._conn = psycopg.connect(self.dsn, autocommit=True, options=opts,
                                         connect_timeout=max(1, int(self.options.connect_timeout_s)))
            # plan caching is a protocol choice: never (custom plans), auto (psycopg's default: after 5), always
            self._conn.prepare_threshold = {"never": None, "auto": 5, "always": 0}[self.options.prepare]
        return self._conn

    def _drop_conn(self) -> None:
        c, self._conn = self._conn, None
        if c is not None and not c.closed:
            c.close()

    def close(self) -> None:
        self._drop_conn()
        super().close()

    # --- structure, per paradigm ------------------------------------------------------------------
    @abstractmethod
    def load_structure(self, conn: psycopg.Connection, dataset_dir: Path) -> dict[str, int]:
        """Create the structure tables and COPY nodes/edges into them; rows per table."""

    @abstractmethod
    def index_structure(self, conn: psycopg.Connection) -> None:
        """Indexes/constraints chosen for Q1–Q13, created after the load."""

    def structure_counts(self, conn: psycopg.Connection) -> dict[str, int]:
        """Rows per structure table; subclasses add the 'nodes'/'edges' totals the manifest states."""
        return {t: conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(t))).fetchone()[0]
                for t in self.structure_tables}

    # --- Scenario API ----------------------------------------------------------------------------
    def ingest(self, dataset_dir: Path) -> IngestReport:
        dataset_dir = Path(dataset_dir)
        manifest = Manifest.read(dataset_dir)
        conn = self.conn()
        phases: dict[str, float] = {}
        t0 = time.perf_counter()
        for t in self.structure_tables:
            conn.execute(sql.SQL("drop table if exists {} cascade").format(sql.Identifier(t)))
        with conn.transaction():
            rows = self.load_structure(conn, dataset_dir)
        phases["structure_copy_s"] = time.perf_counter() - t0
        backend, series_rows, series_details = self.ingest_series(conn, dataset_dir, manifest, phases)
        rows.update(series_rows)
        t2 = time.perf_counter()
        self.index_structure(conn)
        for t in self.structure_tables:  # visibility map set: index-only scans on the link tables
            conn.execute(sql.SQL("vacuum (analyze) {}").format(sql.Identifier(t)))
        # the series too: without it the first trials' reads set hint bits (writes) and autovacuum visits the
        # fresh chunks, so the first repetition after a load measured slower than the next (P1 Q7 2.91 vs 2.24 ms)
        for t in self.series_tables:
            conn.execute(sql.SQL("vacuum (analyze) {}").format(sql.Identifier(t)))
        phases["structure_index_analyze_s"] = time.perf_counter() - t2
        seconds = time.perf_counter() - t0
        # The scratch cluster runs with synchronous_commit=off: commits of the last ~wal_writer_delay live
        # in shared memory only, and a backend killed later (an OOM kill mid-batch) makes the postmaster
        # reinitialise it. A checkpoint here (outside the ingest timing) makes the loaded data survive that.
        t3 = time.perf_counter()
        conn.execute("checkpoint")
        phases["checkpoint_after_ingest_s"] = time.perf_counter() - t3
        version = conn.execute("show server_version").fetchone()[0]
        return IngestReport(
            seconds=seconds, rows=rows, bytes_on_disk=schema.bytes_on_disk(conn), backend=backend,
            details={"phases": phases, "settings": schema.settings(conn, RECORDED_SETTINGS),
                     "server_version": version, **series_details(conn)},
        )

    def ingest_series(self, conn: psycopg.Connection, dataset_dir: Path, manifest: Manifest,
                      phases: dict[str, float]) -> tuple[str, dict[str, int], Any]:
        """Create and fill the series store, indexes included; (backend, rows per table, a function of the
        connection giving the details to record once the load is done). Phases go into `phases`."""
        t1 = time.perf_counter()
        backend = series.create_ts(conn, manifest, active_chunks=self.series_workers)
        timescale = backend.startswith("timescaledb")
        n, secs = series.load_series(self.dsn, dataset_dir, timescale, workers=self.series_workers)
        phases["series_copy_s"] = secs
        phases["series_copy_rows_per_s"] = n / secs if secs > 0 else 0.0
        phases["series_total_s"] = time.perf_counter() - t1
        phases["series_index_s"] = series.index_series(self.dsn, manifest.days, timescale, workers=self.series_workers)
        return backend, {"ts": n}, lambda c: {
            "series_backend": "timescaledb" if timescale else "native", "series_workers": self.series_workers,
            "ts_bytes": series.ts_bytes(c, timescale), "copy_format": "binary (numpy-built)"}

    def series_counts(self, conn: psycopg.Connection) -> dict[str, int]:
        """What the series store holds: `samples` (compared with the manifest) and rows per series table."""
        n = conn.execute("select count(*) from ts").fetchone()[0]
        return {"samples": n, "ts": n}

    def counts(self) -> dict[str, int]:
        conn = self.conn()
        out = self.structure_counts(conn)
        out.update(self.series_counts(conn))
        return out

    # --- writes --------------------------------------------------------------------------------------
    @abstractmethod
    def change_structure(self, conn: psycopg.Connection, change: Change) -> Written:
        """One structure change in this paradigm's tables, committed."""

    def prepare_writes(self) -> None:
        self._appender = self.new_appender()
        self._appender.prepare(self.conn())

    def append(self, batch: SampleBatch) -> Written:
        return self._appender.append(self.conn(), batch)

    def update_metadata(self, change: Change) -> Written:
        return self.change_structure(self.conn(), change)

    def bind(self, qid: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if qid not in self._queries:
            raise KeyError(f"{self.id} has no query {qid}")
        self.conn()  # (re)connecting is never part of a measured query, cold runs included
        return bind(params)

    def timed(self, qid: str, bound: Mapping[str, Any]) -> Answer:
        """The measured part: one round trip of the query text with its parameters, every row fetched."""
        conn = self._conn if self._conn is not None else self.conn()
        try:
            rows = conn.execute(self._queries[qid], bound, prepare=self._prepare).fetchall()
        except pgerr.QueryCanceled as e:
            ms = self._timeout_ms
            raise QueryTimeout(f"{qid}: statement_timeout {ms} ms exceeded ({str(e).strip()})") from e
        except psycopg.OperationalError:
            self._drop_conn()  # server gone (OOM kill, restart): the next query reconnects; this one is an error
            raise
        return Answer(rows)

    def read_profile(self, qid: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """EXPLAIN (ANALYZE, BUFFERS) of the statement `timed` runs: what PostgreSQL read for it."""
        return {**explain_buffers(self.conn(), self._queries[qid], self.bind(qid, params)), "source": "explain"}

    def cancel(self) -> None:
        """Called by the watchdog: a cancel request for the statement in flight, bounded in time."""
        c = self._conn
        if c is not None and not c.closed:
            try:
                c.cancel_safe(timeout=5.0)
            except psycopg.Error:
                pass
