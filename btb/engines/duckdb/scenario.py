"""D1 and D2: DuckDB, the embedded baseline a data engineer would pick instead of any server.

- D1 (`DuckFileScenario`): DuckDB's own database file holding P1's model (entity tables, link tables, `ts`),
  loaded by DuckDB itself from the dataset's Parquet (`CREATE TABLE … AS SELECT … FROM read_parquet`).
- D2 (`DuckParquetScenario`): no database at all: the same names as views straight over the dataset's
  Parquet files; its "load" only defines the views.

Both talk to the engine host of kind `duckdb` (a process in the trial's cgroup, `btb.infra.engines.duckdb`)
over its unix socket: one request per query carrying the statement and its parameters, every row returned.
That round trip is the timed window, as a query's round trip to PostgreSQL is for P1; the host's own
overhead is measured in `benchmarks/bench_overhead.py`. The session's timeout is enforced by the host
(set once per session, never by a round trip inside the window); a DuckDB out-of-memory error is status
`oom`, as a cgroup kill is.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, ClassVar, Mapping

from btb.dataset.format import EDGES, NODES, Manifest, series_files
from btb.engines.base import Answer, IngestReport, QueryOutOfMemory, QueryTimeout, RunOptions, SplitScenario
from btb.engines.duckdb import schema, texts
from btb.engines.duckdb.client import HostClient, HostError, interrupt


class DuckScenario(SplitScenario):
    engines: ClassVar[tuple[str, ...]] = ("duckdb",)
    kind: ClassVar[str]  # "table" (D1) or "view" (D2)

    def __init__(self, endpoints, options: RunOptions | None = None):
        super().__init__(endpoints, options)
        ep = self.endpoints["duckdb"]
        self.dsn, self.authkey = ep.dsn, ep.extra["authkey_file"]
        self.work = Path(ep.extra.get("work") or Path(ep.extra["database"]).parent)
        self.database = Path(ep.extra["database"])
        self._client: HostClient | None = None
        self._statements = texts.statements()

    # --- session ---------------------------------------------------------------------------------------
    def client(self) -> HostClient:
        """One host session per scenario, its timeout set once at connect."""
        if self._client is None:
            c = HostClient(self.dsn, self.authkey)
            c.configure(timeout_s=self.options.timeout_s)
            self._client = c
        return self._client

    def _drop_client(self) -> None:
        c, self._client = self._client, None
        if c is not None:
            c.close()

    def close(self) -> None:
        self._drop_client()
        super().close()

    def cancel(self) -> None:
        """Called by the watchdog: interrupt the statement in flight, on a connection of its own."""
        try:
            interrupt(self.dsn, self.authkey)
        except Exception:  # noqa: BLE001 - host gone: nothing left to cancel
            pass

    # --- load ------------------------------------------------------------------------------------------
    def _sources(self, dataset_dir: Path) -> tuple[Path, list[Path], dict[str, Any]]:
        """(dir holding nodes/edges, series files, details) the statements read: the dataset's files."""
        return dataset_dir, series_files(dataset_dir), {}

    def _load_structure(self, c: HostClient, base: Path, phases: dict[str, float]) -> None:
        """The structure tables (or views), in one transaction, with P1's model check."""
        nodes, edges = schema.sources(base)
        t1 = time.perf_counter()
        try:
            if self.kind == "table":
                self._build_tables(c, nodes, edges, phases)
            else:  # D2's views read the files themselves: the model is checked on them, then the views made
                c.execute("BEGIN TRANSACTION")
                schema.check_model(c.query, edges, nodes)
                phases["model_check_s"] = time.perf_counter() - t1
                c.execute(";\n".join(schema.structure_statements(self.kind, nodes, edges)))
            t2 = time.perf_counter()
            c.execute("COMMIT")
            phases["commit_s"] = time.perf_counter() - t2
        except Exception:
            try:
                c.execute("ROLLBACK")
            except HostError:  # nothing open any more
                pass
            raise
        phases["structure_s"] = time.perf_counter() - t1

    @staticmethod
    def _build_tables(c: HostClient, nodes: str, edges: str, phases: dict[str, float]) -> None:
        """D1: each file read once into a temp table (the edges with their ends' types), every entity and link
        table made from them, and the model check's count of what landed nowhere (a node of a type P1 has no
        table for, an edge of no link table, a dangling end): one request (one script, its transaction opened
        by it, its last statement's row the answer). While the series load keeps both cores busy, each round
        trip waits for the host to be scheduled, ~1-15 ms a statement here. Only when the count finds some do
        the detailed queries name them."""
        t0 = time.perf_counter()
        (nodes_left, edges_left), = c.query(";\n".join([
            "BEGIN TRANSACTION",
            f"CREATE OR REPLACE TEMP TABLE _nodes AS SELECT * FROM {nodes}",
            f"CREATE OR REPLACE TEMP TABLE _typed AS {schema.typed_edges_sql(edges, '_nodes')}",
            *schema.structure_statements("table", "_nodes", edges, "_typed"),
            schema.unplaced_sql("_nodes", "_typed")]))
        phases["tables_s"] = time.perf_counter() - t0
        if nodes_left or edges_left:
            schema.check_model(c.query, edges, "_nodes", "_typed")  # raises, naming what has no table
            raise ValueError(f"P1's model (D1) placed neither {nodes_left} nodes nor {edges_left} edges")

    def ingest(self, dataset_dir: Path) -> IngestReport:
        dataset_dir = Path(dataset_dir).resolve()
        manifest = Manifest.read(dataset_dir)
        c = self.client()
        series = _Background(HostClient(self.dsn, self.authkey))  # its session opened before the clock, as c's
        t0 = time.perf_counter()
        try:
            base, files, details = self._sources(dataset_dir)
        except BaseException:
            series.abandon()
            raise
        phases: dict[str, float] = {"link_files_s": time.perf_counter() - t0}
        series.start(schema.series_statement(self.kind, files))  # the bulk, meanwhile
        try:
            self._load_structure(c, base, phases)
        finally:
            phases["series_s"] = series.join()  # raises the series load's error, if any
        t4 = time.perf_counter()
        c.execute("CHECKPOINT")  # the load is in the database file, not only in its WAL
        phases["checkpoint_s"] = time.perf_counter() - t4
        seconds = time.perf_counter() - t0
        rows = self.counts()
        rows = {k: v for k, v in rows.items() if k not in ("nodes", "edges", "samples")}
        if self.kind == "view":  # D2 loads nothing: no rows loaded (0 rows/s), what its views show kept apart
            details["rows_viewed"], rows = rows, {}
        info = c.ping()
        return IngestReport(
            seconds=seconds, rows=rows, bytes_on_disk=self._bytes_on_disk(base, files),
            backend=f"DuckDB {info['version']} {self.storage}",
            details={"phases": phases, "settings": info["settings"], "requested": info["requested"],
                     "series_files": len(files), "samples_in_manifest": manifest.counts.get("samples"),
                     "load": self.load_description, **details})

    def _bytes_on_disk(self, base: Path, files: list[Path]) -> int:
        own = sum(f.stat().st_size for f in self.work.glob(self.database.name + "*"))
        return own

    def counts(self) -> dict[str, int]:
        row = self.client().query(schema.counts_sql())[0]
        out = dict(zip((*schema.STRUCTURE_TABLES, "ts"), (int(v) for v in row)))
        out["nodes"] = sum(out[t] for t in schema.ENTITIES)
        out["edges"] = sum(out[t] for t, _, _ in schema.LINKS.values())
        out["samples"] = out["ts"]
        return out

    # --- queries ---------------------------------------------------------------------------------------
    def bind(self, qid: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        if qid not in self._statements:
            raise KeyError(f"{self.id} has no query {qid}")
        text, names = self._statements[qid]
        self.client()  # (re)connecting is never part of a measured query, cold runs included
        return text, texts.bind(names, params)

    def timed(self, qid: str, bound: tuple[str, dict[str, Any]]) -> Answer:
        """One round trip to the host with the statement and its parameters, every row. What is recorded is
        DuckDB's own `execute` + `fetchall` (Python rows), timed inside the host: what an application embedding
        DuckDB waits for. The round trip around it (pickling the rows both ways, the socket, two wake-ups) is the
        harness's process boundary, there only so that the budget binds DuckDB: kept beside it per run
        (`notes.host_round_trip_s`), and measured in `benchmarks/bench_overhead.py --engine duckdb`."""
        c = self._client if self._client is not None else self.client()
        try:
            t0 = time.perf_counter()
            rows = c.query(*bound)
            wall = time.perf_counter() - t0
            return Answer(rows, notes={"host_round_trip_s": round(wall, 7)}, seconds=c.engine_s)
        except HostError as e:
            if e.kind in ("timeout", "interrupted"):
                raise QueryTimeout(f"{qid}: {e}") from e
            if e.kind == "oom":
                raise QueryOutOfMemory(f"{qid}: DuckDB out of memory under its memory_limit ({e})") from e
            raise
        except ConnectionError:
            self._drop_client()  # host gone (OOM kill, restart): the next query reconnects; this one is an error
            raise


class _Background:
    """One statement run on a host session of its own in a thread (D1's series load while its structure is
    built on the scenario's session: DuckDB runs both at once, and the load takes the longer of the two).
    The session is given already open (connecting is not loading); `start` runs the statement, `join` waits."""

    def __init__(self, client: HostClient):
        self._client = client
        self._error: BaseException | None = None
        self._seconds = 0.0
        self._thread: threading.Thread | None = None

    def start(self, sql: str) -> None:
        self._thread = threading.Thread(target=self._run, args=(sql,), name="duckdb-load", daemon=True)
        self._thread.start()

    def abandon(self) -> None:
        self._client.close()

    def _run(self, sql: str) -> None:
        t0 = time.perf_counter()
        try:
            self._client.execute(sql)
        except BaseException as e:  # noqa: BLE001 - re-raised by join() in the caller's thread
            self._error = e
        finally:
            self._client.close()
        self._seconds = time.perf_counter() - t0

    def join(self) -> float:
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._seconds


class DuckFileScenario(DuckScenario):
    id: ClassVar[str] = "D1"
    description: ClassVar[str] = "DuckDB database file, P1's typed tables + link tables + ts, loaded by DuckDB from Parquet"
    kind: ClassVar[str] = "table"
    storage: ClassVar[str] = "database file (P1's tables)"
    load_description: ClassVar[str] = "CREATE TABLE AS SELECT FROM read_parquet (DuckDB's own reader)"


class DuckParquetScenario(DuckScenario):
    """The views read the dataset's files through hard links in the engine's work dir (`parquet/`): the
    same inodes, so the provider's page-cache eviction of the work dir makes D2's cold runs cold too."""

    id: ClassVar[str] = "D2"
    description: ClassVar[str] = "DuckDB views straight over the dataset's Parquet files (no ingest)"
    kind: ClassVar[str] = "view"
    storage: ClassVar[str] = "views over the dataset's Parquet"
    load_description: ClassVar[str] = "CREATE VIEW over read_parquet: nothing loaded"

    def _sources(self, dataset_dir: Path) -> tuple[Path, list[Path], dict[str, Any]]:
        link_dir = self.work / "parquet"
        files = [dataset_dir / NODES, dataset_dir / EDGES, *series_files(dataset_dir)]
        try:
            for f in files:
                dest = link_dir / f.relative_to(dataset_dir)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.unlink(missing_ok=True)
                os.link(f, dest)
        except OSError as e:  # another filesystem: the views read the dataset's paths; cold runs stay warm there
            why = f"views read the dataset's own paths (hard link refused: {e}); their pages are not evicted for cold runs"
            return dataset_dir, series_files(dataset_dir), {"parquet_links": False, "parquet_links_why": why}
        return link_dir, series_files(link_dir), {"parquet_links": True}

    def _bytes_on_disk(self, base: Path, files: list[Path]) -> int:
        """What D2 serves from: the Parquet files themselves, plus its (views-only) database file."""
        return super()._bytes_on_disk(base, files) + sum(f.stat().st_size for f in
                                                         (base / NODES, base / EDGES, *files))
