"""What a node does for a trial, as plain functions (the Celery tasks are thin shells over these).

ingest → (validation gate) → one query batch per query → finish. Every step writes keyed records to
the ledger, so a redelivered task skips what is already recorded and never counts anything twice.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from btb.campaign import Campaign, Trial, level_bytes
from btb.config import Settings
from btb.dataset.format import BINDINGS, Manifest
from btb.engines.base import Endpoint, RunOptions, Scenario
from btb.engines.registry import scenario_class
from btb.infra.local import LocalProvider
from btb.results.store import Ledger


@dataclass
class NodeContext:
    """Everything a task needs on this node."""

    settings: Settings
    node: str
    ledger: Ledger
    provider: LocalProvider

    @classmethod
    def from_settings(cls, settings: Settings, node: str | None = None) -> "NodeContext":
        node = node or settings.node
        return cls(settings, node, Ledger(settings.redis_url),
                   LocalProvider(settings.engine_root, node, settings.pg_port, settings.pg_bin))


def _now() -> float:
    return time.time()


def dataset_dir(ctx: NodeContext, profile: str, seed: int) -> Path:
    from btb.dataset.generator import ensure_dataset

    return ensure_dataset(profile, seed, ctx.settings.datasets_dir)


def prepare_dataset(ctx: NodeContext, campaign_id: str, profile: str, seed: int) -> dict:
    t0 = _now()
    path = dataset_dir(ctx, profile, seed)
    m = Manifest.read(path)
    rec = {"kind": "dataset", "campaign": campaign_id, "dataset": f"{profile}-s{seed}", "node": ctx.node,
           "fingerprint": m.fingerprint, "counts": m.counts, "bytes": m.bytes, "seconds": _now() - t0,
           "format_version": m.format_version}
    ctx.ledger.add(campaign_id, f"dataset/{profile}-s{seed}/{ctx.node}", rec)
    return {"fingerprint": m.fingerprint, "bytes": m.bytes, "path": str(path)}


def load_bindings(path: Path, qid: str, n: int) -> list[dict]:
    return json.loads((path / BINDINGS).read_text()).get(qid, [])[:n]


def scenario_for(trial: Trial, endpoints: dict[str, Endpoint], options: RunOptions) -> Scenario:
    return scenario_class(trial.scenario)(endpoints, options)


def _engine_targets(endpoints: dict[str, Endpoint]) -> list[dict]:
    return [{"name": k, "cgroup": e.cgroup, "pids": list(e.pids), "container": e.container} for k, e in endpoints.items()]


def plateau_skip(ctx: NodeContext, trial: Trial, campaign: Campaign) -> str | None:
    """With `memory.plateau_stop`: a reason to skip this level when the two levels below it both
    completed and no query's median improved beyond the lower level's confidence interval."""
    from btb.results.gradient import plateau_reached

    if not campaign.memory.plateau_stop or trial.level_rank < 2:
        return None
    trials = ctx.ledger.trials(trial.campaign_id)
    lower = sorted((t for t in trials.values() if t["dataset"] == trial.dataset and t["scenario"] == trial.scenario
                    and t["level_rank"] < trial.level_rank), key=lambda t: t["level_rank"])[-2:]
    if len(lower) < 2 or any(t.get("status") != "completed" for t in lower):
        return None  # not known yet (or a level failed): keep climbing
    lat: dict[tuple[str, str], list[float]] = {}
    for r in ctx.ledger.records(trial.campaign_id, "run"):
        if r["trial"] in (lower[0]["id"], lower[1]["id"]) and not r["warmup"] and r["status"] == "ok":
            lat.setdefault((r["trial"], r["query"]), []).append(r["seconds"])
    for qid in campaign.query_ids:
        if not plateau_reached(lat.get((lower[0]["id"], qid), []), lat.get((lower[1]["id"], qid), [])):
            return None
    return (f"plateau: no query's median improved from {lower[0]['level']} to {lower[1]['level']} "
            "beyond its 95% confidence interval")


def _failure_status(ctx: NodeContext, trial: Trial, oom_before: int) -> tuple[str, str]:
    """After an exception: was it the kernel's OOM killer (cgroup counter rose) or a plain error?"""
    after = ctx.provider.oom_kills(trial.id)
    if after is not None and after > oom_before:
        return "oom", f"OOM-killed under {trial.level} (cgroup oom_kill {oom_before}→{after})"
    if after is None and ctx.provider.current(trial.id) is None and trial.level != "unlimited":
        return "oom", f"engine died under {trial.level}; no OOM counter here to confirm the cause"
    return "error", ""


def ingest(ctx: NodeContext, trial: Trial, campaign: Campaign, expected_fingerprint: str | None,
           on_engines: Callable[[list[dict]], None] | None = None) -> dict:
    """Provision engines under the trial budget, load the dataset, verify counts, run the validation gate.

    `on_engines(targets)` runs once the engines are up and before loading starts: the task layer starts
    the monitor there, so the ingest phase is sampled too. An OOM kill at any step (even while the
    engine starts) makes the trial's result `oom`: a budget too small is a finding, not a crash.
    """
    from btb.envinfo import environment_fingerprint

    ledger = ctx.ledger
    path = dataset_dir(ctx, trial.profile, trial.seed)
    manifest = Manifest.read(path)
    if expected_fingerprint and manifest.fingerprint != expected_fingerprint:
        raise RuntimeError(f"dataset {trial.dataset} on node {ctx.node} has fingerprint {manifest.fingerprint[:12]}, "
                           f"campaign expects {expected_fingerprint[:12]}: generator versions differ between nodes")
    budget = level_bytes(trial.level, manifest.bytes, campaign.memory.auto_count)
    cls = scenario_class(trial.scenario)
    ledger.update_trial(trial.campaign_id, trial.id, status="provisioning", node=ctx.node, budget=budget)
    endpoints: dict[str, Endpoint] = {}
    report, counts, scenario = None, {}, None
    status, message = "ok", ""
    t0 = t1 = _now()
    try:
        endpoints = ctx.provider.start(trial.id, cls.engines, budget)
        ledger.update_trial(trial.campaign_id, trial.id, status="ingesting", targets=_engine_targets(endpoints),
                            applied_limit=next(iter(e.extra.get("memory_limit") for e in endpoints.values()), None))
        if on_engines:
            on_engines(_engine_targets(endpoints))
            time.sleep(0.5)  # a few idle samples first: the engine's baseline before the first phase
        scenario = cls(endpoints, RunOptions(timeout_s=campaign.protocol.timeout_s))
        t0 = _now()
        report = scenario.ingest(path)
        t1 = _now()
        counts = scenario.counts()
    except Exception as e:  # noqa: BLE001 - recorded as the trial's status, never as a result
        t1 = _now()
        status, why = _failure_status(ctx, trial, 0)
        message = f"{why}: {type(e).__name__}: {e}"[:1000] if why else f"{type(e).__name__}: {e}"[:1000]
    mismatched = {k: (v, manifest.counts.get(k)) for k, v in counts.items()
                  if k in manifest.counts and manifest.counts[k] != v}
    if status == "ok" and mismatched:
        status, message = "error", f"stored counts differ from the dataset (stored, expected): {mismatched}"
    rec = {"kind": "ingest", "campaign": trial.campaign_id, "trial": trial.id, "scenario": trial.scenario,
           "dataset": trial.dataset, "level": trial.level, "budget": budget, "node": ctx.node, "status": status,
           "applied_limit": ctx.provider.applied_limit(trial.id),
           "message": message, "t_start": t0, "t_end": t1, "fingerprint": manifest.fingerprint,
           "seconds": report.seconds if report else t1 - t0,
           "rows": report.rows if report else {}, "rows_per_s": report.rows_per_s if report else 0.0,
           "bytes_on_disk": report.bytes_on_disk if report else 0, "backend": report.backend if report else "",
           "details": report.details if report else {}, "counts": counts,
           "engines": {k: {"version": e.version, "memory_limit": e.extra.get("memory_limit"),
                           "cgroup_version": e.extra.get("cgroup_version"),
                           "settings": e.extra.get("settings", {})} for k, e in endpoints.items()},
           "environment": environment_fingerprint({k: e.version for k, e in endpoints.items()})}
    ledger.add(trial.campaign_id, f"{trial.id}/ingest", rec)
    valid = None
    if status == "ok" and campaign.protocol.validate_answers:
        valid, status = validate_trial(ctx, trial, campaign, scenario, path)
    if scenario:
        scenario.close()
    final = "measuring" if status == "ok" and valid is not False else ("invalid" if status == "ok" else status)
    ledger.update_trial(trial.campaign_id, trial.id, status=final, ingest_status=status, valid=valid,
                        message=message)
    return {"status": status, "valid": valid, "message": message}


def validate_trial(ctx: NodeContext, trial: Trial, campaign: Campaign, scenario: Scenario,
                   path: Path) -> tuple[bool | None, str]:
    """The gate: every query × binding once, compared with the oracle. A mismatch stops the trial.

    Returns (all answers matched, ingest status): an OOM kill during the gate ends it with status oom.
    """
    from btb.dataset.answers import same_answer_for
    from btb.dataset.oracle import answer

    ok_all = True
    for qid in campaign.query_ids:
        for bi, params in enumerate(load_bindings(path, qid, campaign.protocol.bindings)):
            oom_before = ctx.provider.oom_kills(trial.id) or 0
            out = scenario.run(qid, params)
            if out.status == "error" and _failure_status(ctx, trial, oom_before)[0] == "oom":
                return None, "oom"  # the budget, not the answer, failed: the trial is an OOM result
            expected = answer(path, qid, params)
            same, diff = (same_answer_for(qid, expected, out.rows) if out.status == "ok" else (False, out.message))
            ok_all &= same
            ctx.ledger.add(trial.campaign_id, f"{trial.id}/validate/{qid}/b{bi}", {
                "kind": "validation", "campaign": trial.campaign_id, "trial": trial.id, "scenario": trial.scenario,
                "dataset": trial.dataset, "level": trial.level, "query": qid, "binding": bi, "params": params,
                "status": out.status, "match": same, "diff": diff[:2000], "n_rows": len(out.rows or []),
                "n_expected": len(expected)})
    return ok_all, "ok"


def run_batch(ctx: NodeContext, trial: Trial, campaign: Campaign, qid: str) -> dict:
    """Warm-ups then measured runs of one query over the trial's bindings; OOM → status oom + restart."""
    ledger = ctx.ledger
    state = ledger.trials(trial.campaign_id).get(trial.id, {})
    if state.get("status") != "measuring":  # ingest failed, OOM-killed or failed validation
        return {"status": "skipped", "reason": state.get("status")}
    endpoints = ctx.provider.current(trial.id)
    if endpoints is None:
        # the engine died between tasks (OOM or crash): restart in place, data dir is intact
        endpoints = ctx.provider.restart(trial.id)
    scenario = scenario_for(trial, endpoints, RunOptions(timeout_s=campaign.protocol.timeout_s))
    path = dataset_dir(ctx, trial.profile, trial.seed)
    p = campaign.protocol
    t_batch0 = _now()
    statuses: dict[str, int] = {}
    for bi, params in enumerate(load_bindings(path, qid, p.bindings)):
        for ri in range(p.warmups + p.runs):
            warm = ri < p.warmups
            rid = f"{trial.id}/run/{qid}/b{bi}/{'w' if warm else 'r'}{ri if warm else ri - p.warmups}"
            if ledger.has(trial.campaign_id, rid):
                continue  # redelivered batch: keep what was recorded, never count twice
            before = ctx.provider.oom_kills(trial.id) or 0
            t0 = _now()
            out = scenario.run(qid, params)
            status, message = out.status, out.message
            if status == "error":
                failure, why = _failure_status(ctx, trial, before)
                if failure == "oom":
                    status, message = "oom", f"{why}: {message}"
            ledger.add(trial.campaign_id, rid, {
                "kind": "run", "campaign": trial.campaign_id, "trial": trial.id, "scenario": trial.scenario,
                "dataset": trial.dataset, "level": trial.level, "query": qid, "binding": bi, "warmup": warm,
                "run": ri, "status": status, "seconds": out.seconds, "n_rows": len(out.rows or []),
                "phases": out.phases, "message": message, "t_start": t0, "t_end": _now(), "node": ctx.node})
            statuses[status] = statuses.get(status, 0) + 1
            if status == "oom":
                scenario.close()
                endpoints = ctx.provider.current(trial.id) or ctx.provider.restart(trial.id)
                scenario = scenario_for(trial, endpoints, RunOptions(timeout_s=campaign.protocol.timeout_s))
                break  # the next binding gets a fresh engine; this binding is recorded as oom
    scenario.close()
    ledger.add(trial.campaign_id, f"{trial.id}/batch/{qid}", {
        "kind": "batch", "campaign": trial.campaign_id, "trial": trial.id, "scenario": trial.scenario,
        "dataset": trial.dataset, "level": trial.level, "query": qid, "t_start": t_batch0, "t_end": _now(),
        "statuses": statuses, "node": ctx.node})
    return {"status": "done", "statuses": statuses}


def finish(ctx: NodeContext, trial: Trial, monitor_wait_s: float = 10.0) -> dict:
    """Stop the monitor, tear the engines down, free the node for the next trial."""
    ledger = ctx.ledger
    ledger.set_flag(f"stop:{trial.id}", ttl_s=7 * 24 * 3600)
    deadline = _now() + monitor_wait_s
    while _now() < deadline and not ledger.flag(f"monitor-done:{trial.id}"):
        time.sleep(0.1)
    ctx.provider.stop()
    runs = [r for r in ledger.records(trial.campaign_id, "run") if r["trial"] == trial.id]
    bad = sorted({r["status"] for r in runs if r["status"] != "ok"})
    state = ledger.trials(trial.campaign_id).get(trial.id, {})
    final = state.get("status", "")
    if final == "measuring":
        final = "oom" if "oom" in bad else ("completed" if not bad else "completed-with-errors")
    ledger.update_trial(trial.campaign_id, trial.id, status=final, finished=_now(),
                        monitor=bool(ledger.flag(f"monitor-done:{trial.id}")))
    ledger.release_node(ctx.node, trial.id)
    return {"status": final}


def monitor(ctx: NodeContext, trial_id: str, targets: list[dict[str, Any]], hz: float, max_seconds: float) -> dict:
    """Sample the trial's engines until the finish step raises the stop flag; store samples as we go."""
    from btb.monitor.sampler import Sampler, Target

    ledger = ctx.ledger
    sampler = Sampler([Target(t["name"], t.get("cgroup"), tuple(t.get("pids", ())), t.get("container"))
                       for t in targets], hz=hz)
    t_end = _now() + max_seconds
    n = 0
    t0 = _now()
    try:
        while _now() < t_end and not ledger.flag(f"stop:{trial_id}"):
            rows = sampler.run(stop=lambda: bool(ledger.flag(f"stop:{trial_id}")), max_seconds=1.0)
            ledger.push_samples(trial_id, [r.as_dict() for r in rows])
            sampler.rows.clear()  # pushed: keep memory flat over long trials
            n += len(rows)
        # one last sample after the stop: its interval peak covers the tail of the final phase
        final = sampler.sample_once()
        ledger.push_samples(trial_id, [r.as_dict() for r in final])
        n += len(final)
    finally:
        sampler.close()
        campaign_id = trial_id.rsplit(".", 1)[0]
        ledger.add(campaign_id, f"{trial_id}/monitor", {
            "kind": "monitor", "campaign": campaign_id, "trial": trial_id, "node": ctx.node, "hz": hz,
            "samples": n, "t_start": t0, "t_end": _now(), "ticks": sampler.ticks, "missed_ticks": sampler.missed_ticks,
            "sources": {k: asdict(v) for k, v in sampler.info.items()}})
        ledger.set_flag(f"monitor-done:{trial_id}", ttl_s=7 * 24 * 3600)
    return {"samples": n}
