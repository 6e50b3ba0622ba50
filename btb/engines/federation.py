"""Federation of a structure engine with the PostgreSQL series store: the one path every hybrid shares
(F2 and M2 on a graph engine, O2 on an RDF store).

    graph part (structure engine) -> key rows (..., point idx)
    transfer, one of two paths, chosen per execution by the number of key rows (`Federation.path_for`):
      any         the key columns as array parameters of the statement (`unnest(%(fed_idx)b::int4[], ...)` as
                  the CTE `fed`): nothing before the statement, the ids travel with it
      temp_table  the session table `fed` cleared, filled by binary COPY, ANALYZEd (`fed_table.FedTable`)
    sql part:  the shared series SQL reads `fed` (the CTE or the table) and returns the answer rows

`auto` takes `any` below the threshold calibrated on the node's engine at load (`fed_calibration`; one for
contiguous ids, one for scattered), the temp table from it on; the protocol can force either (`federation: any
| temp_table`). Why two: the temp table has a fixed cost of a few round trips (~0.5 ms) that dominates the
small id sets dashboards send, and gives the planner statistics (a join it can size, merge or hash) that pay
off on large ones. Each phase is timed on the client and returned with the rows (`Answer.phases`: graph /
transfer / sql; under `any` the transfer is the client's building of the arrays, their bytes go with the
statement, in `sql`), the path and the number of key rows in `Answer.notes`. Both paths run the same series
SQL text (the CTE stands where the table would), so they give the same answers; measured against each other in
`benchmarks/bench_federation.py`, figures in docs/federation.md.

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

from btb.dataset.format import Manifest
from btb.engines import fed_calibration
from btb.engines.base import FEDERATION_PATHS, Answer, Endpoint, IngestReport, QueryTimeout, RunOptions
from btb.engines.fed_calibration import Calibration
from btb.engines.fed_table import COLUMNS, TABLE, FedTable
from btb.engines.postgres import schema, series
from btb.engines.postgres.explain import explain_buffers
from btb.engines.postgres.scenario import bind as pg_bind
from btb.engines.series_sql import KEY_COLUMNS, relational_statement, series_texts
from btb.engines.postgres.writes import SeriesAppender
from btb.engines.writes import SampleBatch, Written

__all__ = ["COLUMNS", "TABLE", "FedTable", "Federation", "SeriesSession", "any_statement", "session_options"]
# Temp tables live in session-local buffers (temp_buffers, default 8MB): a 1M-id `fed` (~40 MB) would spill
# to disk at every query. Set at connect time (it cannot change after the session's first temp table use).
SESSION_SETTINGS = {"temp_buffers": "64MB"}


def session_options() -> str:
    """libpq `options` for a federating session (append to the caller's own -c settings)."""
    return " ".join(f"-c {k}={v}" for k, v in SESSION_SETTINGS.items())


def any_statement(columns: Sequence[str], sql_text: str) -> str:
    """The `any` path's statement: `sql_text` with `fed` as a CTE over the key columns' array parameters
    (`%(fed_<column>)b`, binary), so the series SQL is the same text on both paths."""
    cols = ", ".join(f"%(fed_{c})b::{COLUMNS[c]}[]" for c in columns)
    return relational_statement("", f"SELECT * FROM unnest({cols})", sql_text, columns=columns)


def arrays(columns: Sequence[str], keys: Sequence[Sequence[Any]], last: list | None = None) -> dict[str, list]:
    """Key rows as one list per column (the `any` path's parameters); `last`: the last column, already built."""
    n = len(columns)
    return {f"fed_{c}": last if last is not None and i == n - 1 else [r[i] for r in keys]
            for i, c in enumerate(columns)}


def id_span(keys: Sequence[Sequence[Any]]) -> int:
    """max - min + 1 of the ids (the last column of the key rows, nulls left out); 0 without any."""
    ids = [r[-1] for r in keys if r[-1] is not None]
    return max(ids) - min(ids) + 1 if ids else 0


class Federation:
    """Both transfer paths on one connection, and the choice between them (`mode` auto | any | temp_table)."""

    def __init__(self, conn: psycopg.Connection, mode: str = "auto", calibration: Calibration | None = None,
                 table: FedTable | None = None):
        if mode not in FEDERATION_PATHS:
            raise ValueError(f"federation: {mode!r} is not one of {', '.join(FEDERATION_PATHS)}")
        self.conn, self.mode, self.calibration = conn, mode, calibration
        self.table = table if table is not None else FedTable(conn)  # one per session: share it

    def path_for(self, keys: Sequence[Sequence[Any]], span: Callable[[], int] | None = None) -> str:
        """The path for these key rows (idx last): the forced one, or the calibrated thresholds' choice
        (`span()`, default `id_span(keys)`, is called only when the size lies between the thresholds)."""
        if self.mode != "auto":
            return self.mode
        if self.calibration is None:
            raise RuntimeError("federation: auto needs the threshold calibrated at load (btb_federation in the "
                               "series store) and this store has none: load the hybrid again, or set the "
                               "protocol's federation to any or temp_table")
        return self.calibration.path_for(len(keys), span or (lambda: id_span(keys)))

    def run(self, graph: Callable[[], Sequence[Sequence[Any]]], columns: Sequence[str], sql_text: str,
            any_text: str, params: Mapping[str, Any], prepare: bool | None = False, explain: bool = False) -> Answer:
        """One federated query: graph part, transfer by the chosen path, SQL part. Phases in seconds.
        Under auto, where the layout had to be looked at, the id column is built once (an int32 array: its
        range for the layout, the COPY block of an id-only load, the `any` path's list) so that auto costs
        what the path it takes costs. `explain` (never in a timed run): the SQL part is first run under
        EXPLAIN (ANALYZE, BUFFERS), its figures in notes["buffers"]."""
        t0 = time.perf_counter()
        keys = graph()
        t1 = time.perf_counter()
        ids: list[np.ndarray] = []

        def span() -> int:  # the ids as one int32 array (C loops), kept for the path that follows
            try:
                ids.append(np.fromiter((r[-1] for r in keys), np.int32, len(keys)))
            except (TypeError, ValueError, OverflowError):  # a null id (or one int4 cannot hold)
                return id_span(keys)
            return int(ids[0].max()) - int(ids[0].min()) + 1 if len(keys) else 0

        path = self.path_for(keys, span)
        if path == "any":
            arr = arrays(columns, keys, ids[0].tolist() if ids else None)
            text, params = any_text, {**params, **arr}
        else:
            text = sql_text
            self.table.load(columns, ids[0] if ids and tuple(columns) == ("idx",) else keys)
        notes: dict[str, Any] = {"federation": path, "ids": len(keys)}
        if explain:
            notes["buffers"] = explain_buffers(self.conn, text, params)
        t2 = time.perf_counter()
        rows = self.conn.execute(text, params, prepare=prepare).fetchall()
        t3 = time.perf_counter()
        return Answer(rows, {"graph": t1 - t0, "transfer": t2 - t1, "sql": t3 - t2}, notes=notes)


def calibration_run(fed: Federation, sql_text: str, params: Mapping[str, Any]) -> Callable[[str, Any], tuple]:
    """`fed_calibration.calibrate`'s `run`: the ids as the key rows a graph part returns, through `fed.run`
    under the path asked for, so each path is timed with its own client-side work (the arrays, the COPY block)."""
    any_text = any_statement(("idx",), sql_text)
    modes = {m: Federation(fed.conn, m, table=fed.table) for m in ("any", "temp_table")}

    def run(path: str, ids) -> tuple:
        keys = [(int(i),) for i in ids]
        return modes[path].run(lambda: keys, ("idx",), sql_text, any_text, params).rows[0]

    return run


def federate(graph: Callable[[], Sequence[Sequence[Any]]], fed: Federation, columns: Sequence[str],
             sql_text: str, params: Mapping[str, Any], prepare: bool | None = False) -> Answer:
    """`fed.run` with the `any` statement made from `sql_text` (tests and one-off statements)."""
    return fed.run(graph, columns, sql_text, any_statement(columns, sql_text), params, prepare)


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
        self._any_sql = {q: any_statement(KEY_COLUMNS[q], t) for q, t in self._sql.items()}
        self._fed: Federation | None = None
        self._calibration: Calibration | None = None
        self._appender = SeriesAppender()

    def pg(self) -> psycopg.Connection:
        """One session; timezone, statement_timeout and the temp table are set up once, at connect time."""
        if self._pg is None or self._pg.closed:
            opts = f"-c timezone=UTC -c statement_timeout={self._pg_timeout_ms} {session_options()}"
            self._pg = psycopg.connect(self.dsn, autocommit=True, options=opts,
                                       connect_timeout=max(1, int(self.options.connect_timeout_s)))
            self._pg.prepare_threshold = {"never": None, "auto": 5, "always": 0}[self.options.prepare]
            self._fed = Federation(self._pg, self.options.federation, self._calibration)
        return self._pg

    def federation(self) -> Federation:
        """The session's federation, its calibrated threshold read from the store (once; outside any timing)."""
        self.pg()
        assert self._fed is not None
        if self._fed.calibration is None and self.options.federation == "auto":
            self._calibration = self._fed.calibration = fed_calibration.stored(self._pg)
        return self._fed

    def bind(self, qid: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The structure engine's bound parameters plus the series window as PostgreSQL values (`pg_start`,
        `pg_end`), and the session connected: neither conversion nor connecting falls in a timed query."""
        out = super().bind(qid, params)  # type: ignore[misc]
        self.federation()
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
        self.calibrate(manifest, phases)
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
        fed = self._fed if self._pg is not None and self._fed is not None else self.federation()
        sparams = self.series_params(qid, bound)
        explain = self.__dict__.get("_explained") is not None
        try:
            out = fed.run(graph, KEY_COLUMNS[qid], self._sql[qid], self._any_sql[qid], sparams, prepare=self._prepare,
                          explain=explain)
            if explain:
                self._explained = out.notes.pop("buffers")
            return out
        except pgerr.QueryCanceled as e:
            raise QueryTimeout(f"{qid}: statement_timeout {self._pg_timeout_ms} ms exceeded ({str(e).strip()})") from e
        except psycopg.OperationalError:
            self._drop_pg()
            raise

    def read_profile(self, qid: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The SQL part's EXPLAIN (ANALYZE, BUFFERS) for a series query (Q6–Q13: the query is run once more,
        graph part and transfer included, outside any timing); None for a structure-only query."""
        if qid not in self._sql:
            return None
        bound = self.bind(qid, params)
        self._explained: dict[str, Any] | None = {}
        try:
            self.timed(qid, bound)  # type: ignore[attr-defined]
            got = self._explained
        finally:
            self._explained = None
        return {**got, "source": "explain: sql part"} if got else None

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

    def calibrate(self, manifest: Manifest, phases: dict) -> Calibration:
        """At load, after the series: where `any` and the temp table cross on this engine and these data
        (`fed_calibration`), stored with the load; its seconds in `phases`, after the ingest's timing."""
        fed = self.federation()
        points = int(manifest.counts.get("points") or 0) or 1
        cal = fed_calibration.calibrate(points, calibration_run(fed, fed_calibration.JOIN_SQL,
                                                                fed_calibration.window_params(manifest.start)))
        fed_calibration.store(fed.conn, cal)
        self._calibration = fed.calibration = cal
        phases["federation_calibration_s"] = cal.seconds
        return cal

    def series_details(self, timescale: bool) -> dict[str, Any]:
        """What a hybrid's ingest report says of its series half and of the federation (its mode, and the
        threshold calibrated at this load with the medians it was read from)."""
        cal = self._calibration
        return {"ts_bytes": series.ts_bytes(self.pg(), timescale), "series_workers": self.series_workers,
                "federation": {"mode": self.options.federation, "threshold_ids": cal.thresholds if cal else None,
                               "calibration": cal.to_dict() if cal else None,
                               "paths": "any: array parameters (unnest as the CTE fed); temp_table: session "
                                        "table fed, DELETE or TRUNCATE + binary COPY + ANALYZE, JOIN"},
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
        c, self._pg, self._fed = self._pg, None, None
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
