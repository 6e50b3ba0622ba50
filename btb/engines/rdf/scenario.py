"""O1 and O2: the RDF paradigms on an Oxigraph server (SPARQL 1.1 Protocol over HTTP).

Both load the Brick-aligned structure of `btb.engines.rdf.export` and share the SPARQL texts of
`queries/sparql/Qn_*.sparql`: Q1–Q5 whole, and for Q6–Q13 the *structure part* (the points a
question is about with the keys its answer needs, `?idx` last), with the same columns as the Cypher
family's graph parts (`btb.engines.series_sql.KEY_COLUMNS`), so both paradigms feed the same
series step:

O1 (RDF only): series as (point, day) chunk resources in the same store (`export.chunk_triples`). A series
question runs the structure part, fetches the overlapping chunks (`queries/O1/chunks_*.sparql`), decodes
their base64 literals and computes the answer on the client with F1's per-query arithmetic
(`btb.engines.graph.chunks.DECODERS`, written from queries/README.md, no code shared with the oracle).
Phases: graph / chunks / decode, all inside the measured latency.

O2 (hybrid): structure in Oxigraph, series in PostgreSQL with P1's loader (`btb.engines.postgres.series`);
the structure part's rows go through `btb.engines.federation` (array parameters or temp table) into the shared
series SQL (`queries/shared/series/Qn.sql`). Phases: graph / transfer / sql.

Bulk load (both): one streamed `POST /store?default&no_transaction&lenient` of N-Triples generated from
the dataset files. `?default` puts the triples in the default graph (a plain POST makes a new named
graph), `no_transaction` uses Oxigraph's bulk loader instead of one transaction holding the whole load
in memory, `lenient` skips re-validating IRIs btb wrote itself. The `oxigraph load` CLI cannot be used
by a scenario: it refuses a store the server holds open, and the provider owns the server.

Bindings: SPARQL over HTTP has no parameters; `bind()` (outside the timing) turns ids into the node IRIs
and values into escaped literals (`client.bind_terms`). The watchdog's `cancel()` shuts the HTTP socket.
"""

from __future__ import annotations

import http.client
import time
from pathlib import Path
from typing import Any, ClassVar, Mapping

from btb.engines import federation
from btb.engines.base import Answer, IngestReport, QueryTimeout, RunOptions, SplitScenario
from btb.engines.graph import chunks
from btb.engines.querytexts import load_queries, load_text
from btb.engines.rdf import export, writes
from btb.engines.rdf.client import SparqlSession, bind_terms, iri, literal
from btb.engines.writes import Change, SampleBatch, Written

STRUCTURE_QUERIES = ("Q1", "Q2", "Q3", "Q4", "Q5")
ID_PARAMS = ("meter", "equipment", "space", "floor", "point", "building", "tenant", "zone")
LOAD_PARAMS = "default&no_transaction&lenient"
BTB = "https://btb.example/schema#"


class SparqlScenario(SplitScenario):
    """Base of O1/O2: one HTTP session to the Oxigraph endpoint, the structure load, Q1–Q5."""

    rdf_kind: ClassVar[str] = "oxigraph"

    def __init__(self, endpoints, options: RunOptions | None = None):
        super().__init__(endpoints, options)
        self._texts = load_queries("sparql", ".sparql")
        self._session: SparqlSession | None = None

    # --- connection -------------------------------------------------------------------------------
    def session(self) -> SparqlSession:
        if self._session is None:
            self._session = SparqlSession(self.endpoints[self.rdf_kind].dsn, self.options.connect_timeout_s)
            self._session.connect()
        return self._session

    def close(self) -> None:
        s, self._session = self._session, None
        if s is not None:
            s.close()
        super().close()

    def cancel(self) -> None:
        s = self._session
        if s is not None:
            s.cancel()

    def sparql(self, text: str) -> list[tuple]:
        s = self.session()
        try:
            return s.rows(text)
        except (OSError, http.client.HTTPException) as e:
            if s.cancelled:
                raise QueryTimeout(f"cancelled by the client watchdog ({e})") from e
            raise

    # --- ingest -----------------------------------------------------------------------------------
    def load_rdf(self, dataset_dir: Path, with_chunks: bool) -> tuple[dict[str, int], dict[str, Any]]:
        """Clear the store, stream the export into the default graph; (rows, phases)."""
        s = self.session()
        t0 = time.perf_counter()
        s.clear()
        phases: dict[str, Any] = {"clear_s": time.perf_counter() - t0}
        counts: dict[str, int] = {}
        t1 = time.perf_counter()
        s.post_store(export.stream_from_process(dataset_dir, with_chunks, counts), params=LOAD_PARAMS)
        secs = time.perf_counter() - t1
        lines = counts.pop("triples")
        stored = self.triples()
        if stored != lines:
            raise RuntimeError(f"sent {lines} triples but the store holds {stored}")
        phases.update({"load_s": secs, "triples": lines, "triples_per_s": lines / secs if secs > 0 else 0.0,
                       "load_path": f"POST /store?{LOAD_PARAMS} (N-Triples generated by a child process, "
                                    "streamed chunked)"})
        return counts, phases  # triples are in phases: rows are dataset objects (nodes, edges, chunks, samples)

    def triples(self) -> int:
        return int(self.sparql("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0][0])

    def structure_counts(self) -> dict[str, int]:
        nodes = self.sparql(f"SELECT (COUNT(?s) AS ?n) WHERE {{ ?s <{BTB}id> ?id }}")[0][0]
        preds = " ".join(f"<{export.expand(p)}>" for p in ("brick:hasPart", "brick:hasLocation", "brick:hasPoint",
                                                              "brick:feeds", "brick:isPartOf", "btb:occupies"))
        edges = self.sparql(f"SELECT (COUNT(*) AS ?n) WHERE {{ VALUES ?p {{ {preds} }} ?s ?p ?o }}")[0][0]
        return {"nodes": int(nodes), "edges": int(edges)}

    # --- writes -----------------------------------------------------------------------------------
    def update_metadata(self, change: Change) -> Written:
        """Structure changes as SPARQL updates (O1 and O2's structure half alike)."""
        return writes.apply_change(self.session(), change, self.__dict__.get("_iris"))

    # --- queries ----------------------------------------------------------------------------------
    def bind(self, qid: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if qid not in self._texts:
            raise KeyError(f"{self.id} has no query {qid}")
        self.session()  # connecting is never part of a measured query
        out: dict[str, Any] = dict(params)
        terms: dict[str, str] = {}
        for k, v in params.items():
            if k in ID_PARAMS:
                terms[k] = iri(export.node_iri(str(v)))
            elif k not in ("start", "end"):
                terms[k] = literal(v)
        chunks.bind_window(out)
        out["_text"] = bind_terms(self._texts[qid], terms)
        return out

    def timed(self, qid: str, bound: Mapping[str, Any]) -> Answer:
        if qid in STRUCTURE_QUERIES:
            t0 = time.perf_counter()
            rows = self.sparql(bound["_text"])
            return Answer(rows, {"graph": time.perf_counter() - t0})
        return self.series_query(qid, bound)

    def series_query(self, qid: str, bound: Mapping[str, Any]) -> Answer:
        raise NotImplementedError


def _backend(endpoint) -> str:
    return endpoint.version or endpoint.kind


class ChunkRdfScenario(SparqlScenario):
    id: ClassVar[str] = "O1"
    engines: ClassVar[tuple[str, ...]] = ("oxigraph",)
    description: ClassVar[str] = "Oxigraph only: Brick RDF + series as (point, day) chunk resources (base64 samples)"

    def __init__(self, endpoints, options: RunOptions | None = None):
        super().__init__(endpoints, options)
        self._chunks_window = load_text("O1/chunks_window.sparql")
        self._chunks_latest = load_text("O1/chunks_latest.sparql")
        self._chunks_by_iri = load_text("O1/chunks_by_iri.sparql")

    def ingest(self, dataset_dir: Path) -> IngestReport:
        dataset_dir = Path(dataset_dir)
        t0 = time.perf_counter()
        rows, phases = self.load_rdf(dataset_dir, with_chunks=True)
        seconds = time.perf_counter() - t0
        return IngestReport(seconds=seconds, rows=rows, bytes_on_disk=_store_bytes(self.endpoints[self.rdf_kind]),
                            backend=_backend(self.endpoints[self.rdf_kind]),
                            details={"phases": phases, "layout": "Brick RDF; btb:Chunk per (point, day), samples "
                                     "as base64 int64 times + float64 values", "triples_per_s": phases["triples_per_s"]})

    def counts(self) -> dict[str, int]:
        out = self.structure_counts()
        row = self.sparql(f"SELECT (COUNT(?c) AS ?n) (SUM(?k) AS ?s) WHERE {{ ?c <{BTB}count> ?k }}")[0]
        out["chunks"], out["samples"] = int(row[0]), int(row[1] or 0)
        out["triples"] = self.triples()
        return out

    def prepare_writes(self) -> None:
        """The idx -> point IRI map the chunk lines link to (read once, outside the timed writes)."""
        self._iris = writes.point_iris(self.session())

    def append(self, batch: SampleBatch) -> Written:
        if "_iris" not in self.__dict__:
            self.prepare_writes()
        return writes.append_chunks(self.session(), batch, self._iris)

    def series_query(self, qid: str, bound: Mapping[str, Any]) -> Answer:
        t0 = time.perf_counter()
        keys = self.sparql(bound["_text"])
        t1 = time.perf_counter()
        idxs = sorted({int(r[-1]) for r in keys if r[-1] is not None})
        if not idxs:
            raw = []
        else:
            terms = {"idxs": " ".join(map(str, idxs)), "d1": str(bound["d1"])}
            if qid == "Q11":
                terms["end_us"] = str(bound["end_us"])
                latest = self.sparql(bind_terms(self._chunks_latest, terms))
                names = " ".join(f"<{export.chunk_iri(int(i), int(d))}>" for i, d in latest)
                raw = self.sparql(bind_terms(self._chunks_by_iri, {"chunks": names})) if latest else []
            else:
                terms["d0"] = str(bound["d0"])
                raw = self.sparql(bind_terms(self._chunks_window, terms))
        t2 = time.perf_counter()
        decoded = [(i, d, export.decode_times(t), export.decode_values(v)) for i, d, t, v in raw]
        smp = chunks.samples_by_point(decoded, bound.get("start_us"), bound.get("end_us"))
        rows = chunks.DECODERS[qid]([tuple(r) for r in keys], smp, bound)
        t3 = time.perf_counter()
        return Answer(rows, {"graph": t1 - t0, "chunks": t2 - t1, "decode": t3 - t2})


def _store_bytes(endpoint) -> int:
    """Size of the store directory (RocksDB files), when btb can read it (local engines)."""
    store = endpoint.extra.get("store") if endpoint.extra else None
    if not store:
        return 0
    total = 0
    for p in Path(store).rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size
        except OSError:
            pass
    return total


class HybridRdfScenario(federation.SeriesSession, SparqlScenario):
    id: ClassVar[str] = "O2"
    engines: ClassVar[tuple[str, ...]] = ("oxigraph", "postgres")
    description: ClassVar[str] = "Oxigraph Brick structure + PostgreSQL series (P1's ts), federated (ANY or temp table)"

    # --- Scenario API ---------------------------------------------------------------------------------
    def ingest(self, dataset_dir: Path) -> IngestReport:
        return self.ingest_hybrid(dataset_dir, lambda d: self.load_rdf(d, with_chunks=False), "rdf", self.rdf_kind,
                                  self._store)

    def _store(self, phases: dict) -> tuple[int, dict]:
        rdf_bytes = _store_bytes(self.endpoints[self.rdf_kind])
        return rdf_bytes, {"rdf_store_bytes": rdf_bytes, "triples_per_s": phases["triples_per_s"]}

    def counts(self) -> dict[str, int]:
        out = self.structure_counts()
        out["samples"] = out["ts"] = self.series_count()
        return out

    def series_query(self, qid: str, bound: Mapping[str, Any]) -> Answer:
        text = bound["_text"]
        return self.federated(qid, bound, lambda: self.sparql(text))
