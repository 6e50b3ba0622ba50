"""Cross-engine answer validation, the gate before any measurement: every query × binding of every
scenario is compared with the oracle (btb.dataset.oracle), on a scratch PostgreSQL started for the run.

Errors and timeouts are outcomes of their own, never an empty answer; an empty answer where the oracle
has rows is a mismatch; an empty oracle answer is flagged, because a query that can only be checked on
"nothing" proves nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg import sql

from btb.dataset import oracle
from btb.dataset.answers import same_answer_for
from btb.dataset.format import BINDINGS, Manifest
from btb.engines.base import QUERY_IDS, IngestReport, RunOptions, Scenario
from btb.engines.registry import scenario_class
from btb.infra.postgres import LocalPostgres, find_pg_bin

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


def load_bindings(dataset_dir: Path) -> dict[str, list[dict[str, Any]]]:
    raw = json.loads((Path(dataset_dir) / BINDINGS).read_text())
    return {q: (raw.get(q) or ([{}] if q == "Q5" else [])) for q in QUERY_IDS}


def _fresh_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as c:
        c.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        c.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def _check_counts(sid: str, manifest: Manifest, counts: dict[str, int]) -> list[str]:
    problems = []
    for key in ("nodes", "edges", "samples"):
        want = manifest.counts.get(key)
        if want is not None and counts.get(key) != want:
            problems.append(f"{sid}: stored {key}={counts.get(key)} but manifest says {want}")
    return problems


def check_scenario(scenario: Scenario, dataset_dir: Path, bindings: dict[str, list[dict]],
                   expected: dict[tuple[str, int], list[tuple]], timeout_s: float) -> list[Check]:
    """Run every query × binding on an ingested scenario and compare with the oracle answers."""
    checks = []
    for qid in QUERY_IDS:
        for i, params in enumerate(bindings[qid]):
            exp = expected[(qid, i)]
            out = scenario.run(qid, params)
            if out.status != "ok":
                checks.append(Check(scenario.id, qid, i, params, out.status, len(exp), None, out.seconds, out.message))
                continue
            same, diff = same_answer_for(qid, exp, out.rows or [])
            if same:
                checks.append(Check(scenario.id, qid, i, params, "ok", len(exp), len(out.rows), out.seconds))
            else:
                msg = "empty answer where the oracle has rows\n" + diff if exp and not out.rows else diff
                checks.append(Check(scenario.id, qid, i, params, "mismatch", len(exp), len(out.rows), out.seconds, msg))
    return checks


def validate(dataset_dir: Path, scenario_ids: list[str], *, work_dir: Path, port: int,
             timeout_s: float = 60) -> ValidationReport:
    """Start a scratch PostgreSQL under work_dir, ingest each scenario into its own database, compare."""
    dataset_dir = Path(dataset_dir).resolve()
    manifest = Manifest.read(dataset_dir)
    bindings = load_bindings(dataset_dir)
    report = ValidationReport(str(dataset_dir), manifest.profile, manifest.seed)
    expected: dict[tuple[str, int], list[tuple]] = {}
    for qid in QUERY_IDS:
        if not bindings[qid]:
            report.empty_oracle.append((qid, -1))
        for i, params in enumerate(bindings[qid]):
            expected[(qid, i)] = oracle.answer(dataset_dir, qid, params)
            if not expected[(qid, i)]:
                report.empty_oracle.append((qid, i))
    classes = {sid: scenario_class(sid) for sid in scenario_ids}
    for sid, cls in classes.items():
        if tuple(cls.engines) != ("postgres",):
            raise ValueError(f"validate can start PostgreSQL only; scenario {sid} needs {cls.engines}")
    pg = LocalPostgres(data_dir=Path(work_dir) / f"pg-{port}", port=port, bin_dir=find_pg_bin())
    endpoint = pg.start(slot_name=f"btb-validate-{port}")
    try:
        admin = pg.dsn.replace(f"dbname={pg.dbname}", "dbname=postgres")
        for sid, cls in classes.items():
            db = f"validate_{sid.lower()}"
            _fresh_database(admin, db)
            ep = replace(endpoint, dsn=pg.dsn.replace(f"dbname={pg.dbname}", f"dbname={db}"))
            scenario = cls({"postgres": ep}, RunOptions(timeout_s=timeout_s))
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
                report.checks += check_scenario(scenario, dataset_dir, bindings, expected, timeout_s)
            finally:
                scenario.close()
    finally:
        pg.destroy()
    return report
