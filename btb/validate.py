"""Cross-engine answer validation, the gate before any measurement: every query × binding of every
scenario is compared with the oracle (btb.dataset.oracle), on engines started by the node's provider.

Errors and timeouts are outcomes of their own, never an empty answer; an empty answer where the oracle
has rows is a mismatch; an empty oracle answer is flagged, because a query that can only be checked on
"nothing" proves nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from btb.dataset import oracle
from btb.dataset.answer_store import ensure_answers
from btb.dataset.answers import same_answer_for
from btb.dataset.changes import Overlay
from btb.dataset.format import US_PER_DAY, Manifest, epoch_us, load_bindings, load_unbound
from btb.dataset.integrity import verify
from btb.engines.base import QUERY_IDS, IngestReport, RunOptions, Scenario
from btb.engines.registry import scenario_class
from btb.infra.provider import EngineUnavailable, Provider

CheckStatus = Literal["ok", "mismatch", "error", "timeout", "unsupported", "oom"]


@dataclass
class Check:
    scenario: str
    qid: str
    binding: int  # index into bindings.json[qid]
    params: dict[str, Any]
    status: CheckStatus
    expected_rows: int
    got_rows: int | None
    seconds: float
    message: str = ""  # diff (mismatch) or driver message (error / timeout)
    notes: dict[str, Any] = field(default_factory=dict)  # the run's notes (hybrids: federation path, ids)


@dataclass
class ValidationReport:
    dataset: str
    profile: str
    seed: int
    checks: list[Check] = field(default_factory=list)
    ingests: dict[str, IngestReport] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    count_problems: list[str] = field(default_factory=list)
    empty_oracle: list[tuple[str, int]] = field(default_factory=list)  # (qid, binding) with no oracle rows
    unbound: dict[str, str] = field(default_factory=dict)  # qid -> "no binding in this model: why" (not run)
    oracle_seconds: float = 0.0  # the oracle's answers: computed now, or the time they took when first computed
    oracle_source: str = ""  # "computed", "reused" (answers.json beside the dataset), or why they were not stored
    gate_seconds: dict[str, float] = field(default_factory=dict)  # scenario -> its checks' wall time
    samples: int = 0  # the dataset's samples: bytes per sample of each store
    budget_mode: dict[str, str] = field(default_factory=dict)  # scenario -> "shared-cgroup" (as trials) or "none"

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status != "ok"]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.count_problems

    def summary(self) -> dict[tuple[str, str], str]:
        """(qid, scenario) -> worst status over its bindings."""
        rank = {"ok": 0, "unsupported": 1, "timeout": 2, "oom": 2, "error": 3, "mismatch": 4}
        out: dict[tuple[str, str], str] = {}
        for c in self.checks:
            k = (c.qid, c.scenario)
            if k not in out or rank[c.status] > rank[out[k]]:
                out[k] = c.status
        return out


def _check_counts(sid: str, manifest: Manifest, counts: dict[str, int]) -> list[str]:
    problems = []
    for key in ("nodes", "edges", "samples"):
        want = manifest.counts.get(key)
        if want is not None and counts.get(key) != want:
            problems.append(f"{sid}: stored {key}={counts.get(key)} but manifest says {want}")
    return problems


def check_query(scenario: Scenario, qid: str, binding: int, params: dict[str, Any],
                expected: list[tuple]) -> Check:
    """THE answer check (CLI and trial gate alike): run once, compare with the oracle's rows.

    Only a real difference is a mismatch; timeout, error and unsupported keep their own status."""
    out = scenario.run(qid, params)
    if out.status != "ok":
        return Check(scenario.id, qid, binding, params, out.status, len(expected), None, out.seconds, out.message)
    same, diff = same_answer_for(qid, expected, out.rows or [])
    if same:
        return Check(scenario.id, qid, binding, params, "ok", len(expected), len(out.rows), out.seconds,
                     notes=out.notes)
    msg = "empty answer where the oracle has rows\n" + diff if expected and not out.rows else diff
    return Check(scenario.id, qid, binding, params, "mismatch", len(expected), len(out.rows), out.seconds, msg,
                 out.notes)


def check_scenario(scenario: Scenario, dataset_dir: Path, bindings: dict[str, list[dict]],
                   expected: dict[tuple[str, int], list[tuple]]) -> list[Check]:
    """Run every query × binding on an ingested scenario and compare with the oracle answers."""
    return [check_query(scenario, qid, i, params, expected[(qid, i)])
            for qid in QUERY_IDS for i, params in enumerate(bindings[qid])]


def expected_answers(dataset_dir: Path, bindings: dict[str, list[dict]], overlay: Overlay | None = None
                     ) -> dict[tuple[str, int], list[tuple]]:
    """The oracle's answer of every query × binding; with `overlay`, of the dataset after its writes."""
    ds = Path(dataset_dir).resolve()
    st = overlay.graph(oracle.load_structure(str(ds))) if overlay is not None else None
    return {(qid, i): oracle.answer(ds, qid, params, structure=st)
            for qid in QUERY_IDS for i, params in enumerate(bindings.get(qid, []))}


def stretched_bindings(bindings: dict[str, list[dict]], until_us: int) -> dict[str, list[dict]]:
    """The bindings with every window's end moved past `until_us` (to the next whole day), so the series
    queries read what a write workload appended after the dataset's end as well as what was there."""
    end = _iso(-(-(until_us + 1) // US_PER_DAY) * US_PER_DAY)
    out: dict[str, list[dict]] = {}
    for qid, items in bindings.items():
        out[qid] = [{**p, "end": end} if "end" in p and epoch_us(p["end"]) <= until_us else dict(p) for p in items]
    return out


def _iso(t_us: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=t_us)).isoformat().replace("+00:00", "Z")


def check_after_writes(scenario: Scenario, dataset_dir: Path, overlay: Overlay,
                       bindings: dict[str, list[dict]]) -> list[Check]:
    """The gate after a write workload: every query × binding of a scenario that took the writes, compared
    with the oracle over the dataset plus what was committed (`overlay`)."""
    return check_scenario(scenario, dataset_dir, bindings, expected_answers(dataset_dir, bindings, overlay))


def validate(dataset_dir: Path, scenario_ids: list[str], *, provider: Provider, timeout_s: float = 60,
             federation: str = "auto") -> ValidationReport:
    """Start each scenario's engines through the node's provider (as a trial would), ingest, compare.
    `federation` (auto | any | temp_table): the hybrids' transfer path, so answers can be checked under each."""
    import uuid

    dataset_dir = Path(dataset_dir).resolve()
    manifest = verify(dataset_dir)  # the dataset its fingerprint describes, or a one-line DatasetError
    bindings = load_bindings(dataset_dir)
    report = ValidationReport(str(dataset_dir), manifest.profile, manifest.seed, unbound=load_unbound(dataset_dir))
    stored = ensure_answers(dataset_dir)  # once per dataset, kept beside it (btb.dataset.answer_store)
    report.oracle_seconds, report.oracle_source = stored.seconds, stored.source
    report.samples = int(manifest.counts.get("samples") or 0)
    expected: dict[tuple[str, int], list[tuple]] = {}
    for qid in QUERY_IDS:
        if not bindings[qid] and qid not in report.unbound:
            report.empty_oracle.append((qid, -1))
        for i, params in enumerate(bindings[qid]):
            expected[(qid, i)] = stored.get(qid, i, params)
            if not expected[(qid, i)]:
                report.empty_oracle.append((qid, i))
    classes = {sid: scenario_class(sid) for sid in scenario_ids}
    for sid, cls in classes.items():
        if not provider.can_run(cls.engines):
            raise EngineUnavailable(f"scenario {sid} needs engines {', '.join(cls.engines)}; this node can run "
                                    f"{', '.join(k for k, c in provider.capabilities().items() if c.available)}")
    for sid, cls in classes.items():
        run_id = f"validate-{sid}-{uuid.uuid4().hex[:8]}"
        try:
            started = provider.start(run_id, tuple(cls.engines), None)  # in their own cgroup, as a trial's
            endpoints, report.budget_mode[sid] = started.endpoints, started.budget_mode
            scenario = cls(endpoints, RunOptions(timeout_s=timeout_s, federation=federation))  # type: ignore[arg-type]
            try:
                report.ingests[sid] = scenario.ingest(dataset_dir)
                report.counts[sid] = scenario.counts()
            except Exception as e:  # noqa: BLE001 - a failed ingest fails every query of the scenario
                msg = f"ingest failed: {type(e).__name__}: {e}"[:1000]
                report.checks += [Check(sid, q, i, p, "error", len(expected[(q, i)]), None, 0.0, msg)
                                  for q in QUERY_IDS for i, p in enumerate(bindings[q])]
                scenario.close()
                continue
            try:
                report.count_problems += _check_counts(sid, manifest, report.counts[sid])
                t0 = time.perf_counter()
                report.checks += check_scenario(scenario, dataset_dir, bindings, expected)
                report.gate_seconds[sid] = time.perf_counter() - t0
            finally:
                scenario.close()
        finally:
            provider.stop(run_id)
    return report
