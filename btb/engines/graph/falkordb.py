"""F1 and F2: the graph paradigms on FalkorDB.

F1 (graph only): structure + series as day chunks in FalkorDB (`btb.engines.graph.chunks`). A series
question runs the shared graph part (`queries/cypher/Qn`), fetches the overlapping chunks of its points
(`queries/F1/chunks_*.cypher`) and decodes them on the client. Phases: graph / chunks / decode.

F2 (hybrid): structure in FalkorDB, series in PostgreSQL with P1's loader (`btb.engines.postgres.series`:
the same `ts` table, partitions, binary COPY and indexes). A series question runs the same graph part,
then `btb.engines.federation` hands its key rows to PostgreSQL (array parameters or the session table)
for the series SQL (`queries/shared/series/Qn.sql`). Phases: graph / transfer / sql. Both engines run in the trial's one
cgroup slot (the provider starts every engine kind of a trial there), so they share one budget.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar, Mapping

from btb.engines import federation
from btb.engines.base import Answer, IngestReport, RunOptions
from btb.engines.graph import chunks, writes
from btb.engines.graph.client import CONNECTION_ERRORS
from btb.engines.graph.scenario import CypherScenario
from btb.engines.querytexts import load_text
from btb.engines.writes import AddEquipment, Change, SampleBatch, Written


def _backend(endpoint) -> str:
    return endpoint.version or endpoint.kind


def falkor_store(session) -> tuple[int, dict[str, Any]]:  # noqa: ANN001 - a FalkorSession
    """What FalkorDB stores, after the timed ingest: it keeps the graph in memory and runs without periodic
    snapshots, so `SAVE` writes the RDB snapshot a trial restarts from and its size is the bytes on disk
    (read from the engine's data dir where btb can see it); `INFO memory` gives the in-memory size beside it.
    Where the file is out of btb's sight (a container), the bytes are used_memory_dataset, and say so."""
    if not hasattr(session, "redis"):  # Memgraph over Bolt: its own storage info (after_load) says what it holds
        return 0, {"bytes_on_disk_source": "not measured over Bolt (see the phases' storage info)"}
    r = session.redis
    t0 = time.perf_counter()
    r.execute_command("SAVE")
    save_s = time.perf_counter() - t0
    mem = r.info("memory")
    cfg = {**r.config_get("dir"), **r.config_get("dbfilename")}
    f = Path(cfg.get("dir", "")) / cfg.get("dbfilename", "dump.rdb")
    details = {"save_s": save_s, "used_memory": mem.get("used_memory"),
               "used_memory_dataset": mem.get("used_memory_dataset")}
    try:
        size, source = f.stat().st_size, "RDB snapshot size after SAVE"
    except OSError:
        size, source = int(mem.get("used_memory_dataset") or 0), "INFO memory used_memory_dataset (RDB file not visible)"
    return size, {"store": details, "bytes_on_disk_source": source}


class ChunkGraphScenario(CypherScenario):
    id: ClassVar[str] = "F1"
    engines: ClassVar[tuple[str, ...]] = ("falkordb",)
    description: ClassVar[str] = "FalkorDB only: labelled property graph + series as (point, day) chunk nodes"

    def __init__(self, endpoints, options: RunOptions | None = None):
        super().__init__(endpoints, options)
        self._chunks_window = self._chunk_text("chunks_window.cypher")
        self._chunks_latest = self._chunk_text("chunks_latest.cypher")

    def _chunk_text(self, name: str) -> str:
        """The scenario's own chunk text where it has one (M1 over Bolt), else F1's."""
        try:
            return load_text(f"{self.id}/{name}")
        except (FileNotFoundError, OSError):
            return load_text(f"F1/{name}")

    def chunk_rows(self, text: str, params: Mapping[str, Any]) -> list:
        s = self.session()
        if hasattr(s, "query_compact"):  # FalkorDB: arrays arrive as JSON text, parsed whole by numpy
            try:
                return chunks.compact_rows(s.query_compact(text, params, timeout_ms=self._timeout_ms))
            except CONNECTION_ERRORS:
                self._drop_session()
                raise
        return self.cypher(text, params)

    def ingest(self, dataset_dir: Path) -> IngestReport:
        dataset_dir = Path(dataset_dir)
        t0 = time.perf_counter()
        rows, phases = self.load_graph(dataset_dir, extra_indexes=(("Chunk", "idx"),))
        n_chunks, n_samples, p = chunks.load_chunks(self.session(), dataset_dir)
        phases.update(p)
        phases.update(self.after_load())
        rows["chunks"] = n_chunks
        rows["samples"] = n_samples
        seconds = time.perf_counter() - t0
        size, store = falkor_store(self.session())
        return IngestReport(seconds=seconds, rows=rows, bytes_on_disk=size, backend=_backend(self.endpoints[self.graph_kind]),
                            details={"phases": phases, "layout": "labels per node type; Chunk per (point, day)",
                                     "loader": "UNWIND batches, parameters as text", **store})

    def counts(self) -> dict[str, int]:
        out = self.graph_counts()
        row = self.cypher("MATCH (c:Chunk) RETURN count(c), sum(c.n)")[0]
        out["chunks"], out["samples"] = int(row[0]), int(row[1] or 0)
        return out

    def prepare_writes(self) -> None:
        self._point_ids = writes.point_ids(self.session())

    def update_metadata(self, change: Change) -> Written:
        out = super().update_metadata(change)
        if isinstance(change, AddEquipment) and getattr(self, "_point_ids", None) is not None:
            self._point_ids.update({int(p["point_idx"]): p["id"] for p in change.points})
        return out

    def append(self, batch: SampleBatch) -> Written:
        """Samples into the (point, day) chunks of the graph (`graph.writes.append_chunks`)."""
        if getattr(self, "_point_ids", None) is None:
            self.prepare_writes()
        try:
            return writes.append_chunks(self.session(), batch, self._point_ids)
        except CONNECTION_ERRORS:
            self._drop_session()
            raise

    def series_query(self, qid: str, bound: Mapping[str, Any]) -> Answer:
        t0 = time.perf_counter()
        keys = self.cypher(qid, self.graph_params(qid, bound))
        t1 = time.perf_counter()
        idxs = sorted({int(r[-1]) for r in keys if r[-1] is not None})
        if not idxs:
            raw = []
        elif qid == "Q11":
            raw = self.chunk_rows(self._chunks_latest, {"idxs": idxs, "d1": bound["d1"], "end_us": bound["end_us"]})
        else:
            raw = self.chunk_rows(self._chunks_window, {"idxs": idxs, "d0": bound["d0"], "d1": bound["d1"]})
        t2 = time.perf_counter()
        lo, hi = bound.get("start_us"), bound.get("end_us")
        smp = chunks.samples_by_point(raw, lo, hi)
        rows = chunks.DECODERS[qid]([tuple(r) for r in keys], smp, bound)
        t3 = time.perf_counter()
        return Answer(rows, {"graph": t1 - t0, "chunks": t2 - t1, "decode": t3 - t2})


class HybridGraphScenario(federation.SeriesSession, CypherScenario):
    id: ClassVar[str] = "F2"
    engines: ClassVar[tuple[str, ...]] = ("falkordb", "postgres")
    description: ClassVar[str] = "FalkorDB structure + PostgreSQL series (P1's ts), federated (ANY or temp table)"

    # --- Scenario API ---------------------------------------------------------------------------------
    def ingest(self, dataset_dir: Path) -> IngestReport:
        return self.ingest_hybrid(dataset_dir, self._load_structure, "graph", self.graph_kind,
                                  structure_store=lambda phases: falkor_store(self.session()))

    def _load_structure(self, dataset_dir: Path) -> tuple[dict, dict]:
        rows, phases = self.load_graph(dataset_dir)
        phases.update(self.after_load())
        return rows, phases

    def counts(self) -> dict[str, int]:
        out = self.graph_counts()
        out["samples"] = out["ts"] = self.series_count()
        return out

    def series_query(self, qid: str, bound: Mapping[str, Any]) -> Answer:
        gparams = self.graph_params(qid, bound)
        return self.federated(qid, bound, lambda: [tuple(r) for r in self.cypher(qid, gparams)])
