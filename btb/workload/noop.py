"""A scenario that answers every query at once with no engine: what the load generator alone can issue
(`benchmarks/bench_loadgen.py`), so every measured rate can be shown below the harness's own ceiling."""

from __future__ import annotations

from typing import Any, Mapping

from btb.engines.base import Answer, IngestReport, Scenario


class NoopScenario(Scenario):
    id = "noop"
    engines = ()
    description = "no engine: every query answers zero rows at once (load-generator ceiling only)"

    def ingest(self, dataset_dir) -> IngestReport:
        return IngestReport(0.0, {}, 0, "none")

    def counts(self) -> dict[str, int]:
        return {}

    def execute(self, qid: str, params: Mapping[str, Any]) -> Answer:
        return Answer([])
