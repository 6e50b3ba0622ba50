"""The steps of one attempt, in order: prepare → provision → ingest → answer gate → query batches.

Returns the trial's final (status, message); raises only what the lifecycle in `runner.run_trial`
handles (lease lost, interrupted, unexpected errors). Every figure is recorded under the attempt's lease.
"""

from __future__ import annotations

import time

from btb.dataset.format import Manifest
from btb.envinfo import environment_fingerprint
from btb.dataset.format import load_bindings
from btb.validate import check_query
from btb.trials.lifecycle import TrialStatus as S
from btb.workflow.runner import Attempt, _targets, budget_of, dataset_path, plateau_skip, scenario_for


def measure(att: Attempt) -> tuple[S, str]:
    ctx, trial, campaign = att.ctx, att.trial, att.campaign
    att.status(S.PREPARING)
    t0 = time.time()
    try:
        path = dataset_path(ctx, trial)
        manifest = Manifest.read(path)
    except Exception as e:  # noqa: BLE001 - named in one line: which dataset, and why
        return S.ERROR, f"dataset {trial.profile} seed {trial.seed}: {type(e).__name__}: {e}"[:1000]
    first = ctx.ledger.first_fingerprint(trial.campaign_id, trial.dataset, manifest.fingerprint)
    att.record(f"dataset/{ctx.node}", {"kind": "dataset", "fingerprint": manifest.fingerprint,
                                       "counts": manifest.counts, "bytes": manifest.bytes, "seconds": time.time() - t0,
                                       "format_version": manifest.format_version})
    if first != manifest.fingerprint:
        return S.ERROR, (f"dataset {trial.dataset} on node {ctx.node} has fingerprint {manifest.fingerprint[:12]}, "
                         f"campaign expects {first[:12]}: generator versions differ between nodes")
    skip = plateau_skip(ctx, trial, campaign)
    if skip:
        return S.SKIPPED, skip
    att.checkpoint()

    # --- provision: every engine of the scenario under ONE budget --------------------------------------
    budget = budget_of(trial, campaign, manifest.bytes)
    cls = scenario_for_class(trial.scenario)
    att.status(S.PROVISIONING, budget=budget)
    try:
        started = ctx.provider.start(trial.id, tuple(cls.engines), budget)
    except Exception as e:  # noqa: BLE001 - a budget too small to even start is a finding
        kills = getattr(e, "oom_kills", None)
        if kills:
            return S.OOM, f"OOM-killed under {trial.level} while starting (cgroup oom_kill 0→{kills}): {e}"[:1000]
        return S.ERROR, f"engines could not start: {e}"[:1000]
    targets = _targets(started.endpoints)
    att.status(S.INGESTING, targets=targets, applied_limit=started.applied_limit, budget_mode=started.budget_mode)
    att.start_monitor(targets)
    time.sleep(0.5)  # a few idle samples first: the engines' baseline before the first phase

    # --- ingest --------------------------------------------------------------------------------------
    scenario = scenario_for(trial, started.endpoints, campaign)
    report, counts, status, message = None, {}, "ok", ""
    t0 = time.time()
    try:
        report = scenario.ingest(path)
        counts = scenario.counts()
    except Exception as e:  # noqa: BLE001 - recorded as the trial's status, never as a result
        why = att.oom_since(0)
        status = "oom" if why else "error"
        message = f"{why + ': ' if why else ''}{type(e).__name__}: {e}"[:1000]
    t1 = time.time()
    mismatched = {k: (v, manifest.counts.get(k)) for k, v in counts.items()
                  if k in manifest.counts and manifest.counts[k] != v}
    if status == "ok" and mismatched:
        status, message = "error", f"stored counts differ from the dataset (stored, expected): {mismatched}"
    eps = started.endpoints
    att.record("ingest", {
        "kind": "ingest", "budget": budget, "status": status, "message": message, "t_start": t0, "t_end": t1,
        "applied_limit": started.applied_limit, "budget_mode": started.budget_mode, "fingerprint": manifest.fingerprint,
        "seconds": report.seconds if report else None, "rows": report.rows if report else {},
        "rows_per_s": report.rows_per_s if report else None,
        "bytes_on_disk": report.bytes_on_disk if report else None, "backend": report.backend if report else "",
        "details": report.details if report else {}, "counts": counts,
        "engines": {k: {"version": e.version, "memory_limit": e.extra.get("memory_limit"),
                        "cgroup_version": e.extra.get("cgroup_version"), "settings": e.extra.get("settings", {})}
                    for k, e in eps.items()},
        "environment": environment_fingerprint({k: e.version for k, e in eps.items()})})
    if status != "ok":
        scenario.close()
        return (S.OOM if status == "oom" else S.ERROR), message
    att.checkpoint()

    # --- answer gate -----------------------------------------------------------------------------------
    p = campaign.protocol
    bindings = load_bindings(path, n=p.bindings)
    if p.validate_answers:
        att.status(S.VALIDATING)
        verdict = _gate(att, scenario, path, bindings)
        if verdict:
            scenario.close()
            return verdict
    # --- measured batches --------------------------------------------------------------------------------
    att.status(S.MEASURING)
    att.oom_base = att.oom_kills()  # any kill from now on means this level cannot serve the workload
    bad: dict[str, int] = {}
    try:
        for qid in campaign.query_ids:
            scenario, oom = _batch(att, scenario, qid, bindings[qid], bad)
            if oom:
                return S.OOM, oom
    finally:
        scenario.close()
    if bad:
        return S.COMPLETED_WITH_ERRORS, "measured runs not ok: " + ", ".join(f"{k} {v}" for k, v in sorted(bad.items()))
    return S.COMPLETED, ""


def scenario_for_class(scenario_id: str):
    from btb.engines.registry import scenario_class

    return scenario_class(scenario_id)


def _gate(att: Attempt, scenario, path, bindings) -> tuple[S, str] | None:
    """Every query × binding once against the oracle. Only a real mismatch makes the trial invalid; an OOM
    kill ends it oom; timeouts and errors stay what they are (the measured runs will show them)."""
    from btb.dataset.oracle import answer

    mismatches = []
    for qid in att.campaign.query_ids:
        for bi, params in enumerate(bindings[qid]):
            att.checkpoint()
            before = att.oom_kills()
            c = check_query(scenario, qid, bi, params, answer(path, qid, params))
            if c.status in ("error", "timeout"):
                why = att.oom_since(before)
                if why:
                    return S.OOM, f"{why} while checking {qid} binding {bi}"
            att.record(f"validate/{qid}/b{bi}", {
                "kind": "validation", "query": qid, "binding": bi, "params": params, "status": c.status,
                "match": c.status == "ok", "diff": c.message[:2000], "n_rows": c.got_rows,
                "n_expected": c.expected_rows})
            if c.status == "mismatch":
                mismatches.append(f"{qid}#{bi}")
    if mismatches:
        return S.INVALID, "answers differ from the oracle: " + ", ".join(mismatches)
    return None


def _batch(att: Attempt, scenario, qid: str, bindings: list[dict], bad: dict[str, int]):
    """Warm-ups then measured runs of one query over its bindings. An OOM kill ends the trial (the level
    cannot serve the workload); any other failure is recorded, the engine made healthy, and runs go on."""
    ctx, p = att.ctx, att.campaign.protocol
    t_batch0 = time.time()
    statuses: dict[str, int] = {}
    for bi, params in enumerate(bindings):
        for ri in range(p.warmups + p.runs):
            att.checkpoint()
            warm = ri < p.warmups
            rid = f"run/{qid}/b{bi}/{'w' if warm else 'r'}{ri if warm else ri - p.warmups}"
            t0 = time.time()
            out = scenario.run(qid, params)
            t1 = time.time()
            status, message = out.status, out.message
            # a kill between two runs shows as the *next* run's error (the postmaster resets every backend)
            oom = att.oom_since(att.oom_base) if status in ("error", "timeout") else None
            if oom:
                status, message = "oom", f"{oom}: {message}"
            att.record(rid, {"kind": "run", "query": qid, "binding": bi, "warmup": warm, "run": ri, "status": status,
                             "seconds": out.seconds, "n_rows": len(out.rows or []), "phases": out.phases,
                             "message": message, "t_start": t0, "t_end": t1, "prepare": p.prepare})
            statuses[status] = statuses.get(status, 0) + 1
            if not warm and status != "ok":
                bad[status] = bad.get(status, 0) + 1
            if oom:
                _batch_record(att, qid, t_batch0, statuses)
                return scenario, f"{oom} during {qid} binding {bi}"
            if status == "error":
                scenario = _healthy(att, scenario)
            att.ensure_monitor()
    _batch_record(att, qid, t_batch0, statuses)
    ctx.board.incr(att.tid, "batches_done")
    return scenario, None


def _batch_record(att: Attempt, qid: str, t0: float, statuses: dict[str, int]) -> None:
    att.record(f"batch/{qid}", {"kind": "batch", "query": qid, "t_start": t0, "t_end": time.time(),
                                "statuses": statuses})


def _healthy(att: Attempt, scenario):
    """After an error the engine may be recovering (a killed backend) or dead (a killed postmaster): wait
    for it, or restart it in place from its data; the next runs then get a fresh client."""
    ctx = att.ctx
    scenario.close()
    endpoints = ctx.provider.current(att.tid, wait_s=15.0)
    if endpoints is None:
        endpoints = ctx.provider.restart(att.tid)
        ctx.board.incr(att.tid, "engine_restarts")
    return scenario_for(att.trial, endpoints, att.campaign)
