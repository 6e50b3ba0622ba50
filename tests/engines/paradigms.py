"""What the graph (F1/F2) and RDF (O1/O2) scenario tests share: a structure engine and PostgreSQL started
as one trial, a chunk scenario and a hybrid ingested on it, and the checks both families must pass. The
engine-specific checks (security, timeouts, HTTP errors) stay in each family's test module."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from btb.dataset.format import load_bindings
from btb.engines.base import RunOptions
from btb.validate import validate

BUDGET = 1 << 30


@contextmanager
def hybrid_trial(provider, structure_kind: str, budget: int = BUDGET) -> Iterator[tuple]:
    """(provider, trial, Started) with the structure engine and PostgreSQL under one budget."""
    trial = f"test-{structure_kind}-{uuid.uuid4().hex[:8]}"
    started = provider.start(trial, (structure_kind, "postgres"), budget)
    try:
        yield provider, trial, started
    finally:
        provider.stop(trial)


@contextmanager
def ingested(cls, endpoints, dataset: Path, timeout_s: float = 30) -> Iterator[tuple]:
    """(scenario, IngestReport): the scenario on the engines it needs among `endpoints`, loaded."""
    s = cls({k: endpoints[k] for k in cls.engines}, RunOptions(timeout_s=timeout_s))
    try:
        yield s, s.ingest(dataset)
    finally:
        s.close()


def check_one_cgroup_slot(started, structure_kind: str) -> None:
    eps = started.endpoints
    assert eps[structure_kind].cgroup == eps["postgres"].cgroup
    if started.budget_mode == "shared-cgroup":
        assert started.applied_limit == BUDGET
        procs = (Path(eps[structure_kind].cgroup) / "cgroup.procs").read_text().split()
        assert str(eps[structure_kind].pids[0]) in procs and str(eps["postgres"].pids[0]) in procs


def check_phases(chunk, hybrid, dataset: Path) -> None:
    """Series queries return their phases (hybrid: graph/transfer/sql; chunks: graph/chunks/decode), summing
    to the measured latency; structure queries a single graph phase."""
    b = load_bindings(dataset, n=1)
    for (scenario, _), series_phases in ((hybrid, ("graph", "transfer", "sql")), (chunk, ("graph", "chunks", "decode"))):
        out = scenario.run("Q7", b["Q7"][0])
        assert out.status == "ok" and out.rows
        assert tuple(out.phases) == series_phases
        assert sum(out.phases.values()) <= out.seconds < sum(out.phases.values()) + 0.05
        out = scenario.run("Q1", b["Q1"][0])
        assert out.status == "ok" and tuple(out.phases) == ("graph",)


def check_validate(dataset: Path, provider, scenario_ids: list[str]) -> None:
    """Every query of both scenarios matches the oracle, non-empty wherever the oracle's answer is."""
    report = validate(dataset, scenario_ids, provider=provider, timeout_s=30)
    assert report.ok, [(c.scenario, c.qid, c.status, c.message[:300]) for c in report.failures]
    assert not report.empty_oracle and not report.count_problems
    assert {c.qid for c in report.checks} == {f"Q{i}" for i in range(1, 14)}
    assert {c.scenario for c in report.checks} == set(scenario_ids)
    assert all(c.got_rows for c in report.checks if c.expected_rows)
