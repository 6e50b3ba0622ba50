"""A deliberately slowed engine for the load-model tests: every query is `pg_sleep` on a real PostgreSQL,
`fast_s` long, except that every `stall_every`-th query of a client stalls for `stall_s` (a checkpoint or
GC pause, as real engines have). Deterministic per client, so the tests do not depend on a random draw."""

from __future__ import annotations

from typing import Any, Mapping

import psycopg

from btb.engines.base import Answer, IngestReport, Scenario


class SleepyScenario(Scenario):
    id = "sleepy"
    engines = ("postgres",)
    fast_s = 0.02
    stall_s = 1.0
    stall_every = 150

    def __init__(self, endpoints, options=None):
        super().__init__(endpoints, options)
        self._conn = psycopg.connect(self.endpoints["postgres"].dsn, autocommit=True)
        self.calls = 0

    def ingest(self, dataset_dir) -> IngestReport:
        return IngestReport(0.0, {}, 0, "none")

    def counts(self) -> dict[str, int]:
        return {}

    def execute(self, qid: str, params: Mapping[str, Any]) -> Answer:
        self.calls += 1
        s = self.stall_s if self.calls % self.stall_every == 0 else self.fast_s
        self._conn.execute("select pg_sleep(%s)", (s,))
        return Answer([(qid,)])

    def close(self) -> None:
        self._conn.close()
        super().close()
