"""What every Cypher scenario shares (F1/F2 on FalkorDB; M1/M2 on Memgraph next): the query texts, the
structure load, parameter binding and the structure-only queries Q1–Q5.

Query texts: `queries/cypher/Qn_*.cypher` hold what the dialects agree on — Q1–Q5 whole, and for
Q6–Q13 the *graph part* (the points a question is about, with the keys its answer needs, `idx` last);
`queries/<scenario>/` holds overrides where a scenario or dialect differs (loaded on top, side by side).
What a scenario does with the graph part's rows (F1: fetch day chunks and decode them on the client; F2:
federate them into PostgreSQL) is the subclass's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar, Mapping

from btb.engines.base import Answer, RunOptions, SplitScenario
from btb.engines.graph import chunks, structure, writes
from btb.engines.graph.client import CONNECTION_ERRORS, FalkorSession
from btb.engines.querytexts import load_queries
from btb.engines.writes import Change, Written

STRUCTURE_QUERIES = ("Q1", "Q2", "Q3", "Q4", "Q5")


def cypher_texts(scenario_id: str) -> dict[str, str]:
    """Shared Cypher texts with the scenario's overrides on top."""
    texts = load_queries("cypher", ".cypher")
    texts.update(load_queries(scenario_id, ".cypher", required=False))
    return texts


class CypherScenario(SplitScenario):
    """Base of the FalkorDB scenarios: one session to graph `btb`, structure load, Q1–Q5."""

    graph_kind: ClassVar[str] = "falkordb"

    def __init__(self, endpoints, options: RunOptions | None = None):
        super().__init__(endpoints, options)
        self._texts = cypher_texts(self.id)
        self._timeout_ms = max(1, int(self.options.timeout_s * 1000))
        self._session: FalkorSession | None = None

    # --- connection -------------------------------------------------------------------------------
    def session(self) -> FalkorSession:
        """FalkorDB's native protocol for redis:// endpoints, the Bolt driver for bolt:// (Memgraph)."""
        if self._session is None:
            ep = self.endpoints[self.graph_kind]
            if ep.dsn.startswith(("bolt://", "bolt+s://", "neo4j://")):
                from btb.engines.graph.bolt import BoltSession

                self._session = BoltSession(ep, connect_timeout_s=self.options.connect_timeout_s)
            else:
                self._session = FalkorSession(ep, connect_timeout_s=self.options.connect_timeout_s)
        return self._session

    def _drop_session(self) -> None:
        s, self._session = self._session, None
        if s is not None:
            s.close()

    def close(self) -> None:
        self._drop_session()
        super().close()

    def cancel(self) -> None:
        s = self._session
        if s is not None:
            s.cancel()

    def cypher(self, qid_or_text: str, params: Mapping[str, Any] | None = None) -> list[list]:
        """Run a read-only query (a query id's text, or a text) under the per-query server TIMEOUT."""
        text = self._texts.get(qid_or_text, qid_or_text)
        try:
            return self.session().query(text, params, timeout_ms=self._timeout_ms)
        except CONNECTION_ERRORS:
            self._drop_session()
            raise

    # --- ingest ------------------------------------------------------------------------------------
    def load_graph(self, dataset_dir: Path, extra_indexes: tuple[tuple[str, str], ...] = ()) -> tuple[dict, dict]:
        s = self.session()
        t0 = time.perf_counter()
        s.delete_graph()
        structure.create_indexes(s, extra_indexes)
        phases = {"indexes_s": time.perf_counter() - t0}
        rows, p = structure.load_structure(s, dataset_dir)
        phases.update(p)
        return rows, phases

    def after_load(self) -> dict[str, Any]:
        """Engine-specific steps after the graph load (Memgraph: storage info). Default: none."""
        return {}

    def graph_counts(self) -> dict[str, int]:
        return structure.structure_counts(self.session())

    # --- writes ------------------------------------------------------------------------------------
    def update_metadata(self, change: Change) -> Written:
        """Structure changes go to the graph, for the chunk scenario and the hybrids alike."""
        try:
            return writes.apply_change(self.session(), change)
        except CONNECTION_ERRORS:
            self._drop_session()
            raise

    # --- queries -----------------------------------------------------------------------------------
    def bind(self, qid: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if qid not in self._texts:
            raise KeyError(f"{self.id} has no query {qid}")
        self.session()  # connecting is never part of a measured query
        return chunks.bind_window(dict(params))

    def graph_params(self, qid: str, bound: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters the Cypher text names (FalkorDB refuses none, but sending fewer is cheaper)."""
        text = self._texts[qid]
        return {k: v for k, v in bound.items() if f"${k}" in text}

    def timed(self, qid: str, bound: Mapping[str, Any]) -> Answer:
        if qid in STRUCTURE_QUERIES:
            t0 = time.perf_counter()
            rows = self.cypher(qid, self.graph_params(qid, bound))
            return Answer([tuple(r) for r in rows], {"graph": time.perf_counter() - t0})
        return self.series_query(qid, bound)

    def series_query(self, qid: str, bound: Mapping[str, Any]) -> Answer:
        raise NotImplementedError
