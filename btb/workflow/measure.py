"""The steps of one attempt: prepare → load (once per dataset × scenario × node) → serve under the budget.

**Load once, measure many.** The first trial of a (dataset, scenario) on a node ingests it — under the
ingest budget (unlimited by default), its own phase and figures — and runs the answer gate; the engines
are then parked with their data. Every trial (that one included) restarts them from that data under its
own level's budget, with settings sized to it, so a level measures *serving* under the budget, not
loading. Each query's first execution runs on a cold engine (clean restart, its files evicted from the
page cache) and is summarised apart from the warm runs.

Returns the trial's final (status, message); raises only what `runner.run_trial` handles.
"""

from __future__ import annotations

import json
import os
import time

from btb.campaign import level_bytes
from btb.dataset.format import Manifest, load_bindings, load_unbound
from btb.engines.registry import scenario_class
from btb.envinfo import environment_fingerprint
from btb.monitor.own import give_back
from btb.trials.lifecycle import TrialStatus as S
from btb.validate import check_query
from btb.workflow import loadrecords, storecheck
from btb.workflow.readprofile import record_read_profile
from btb.workflow.attempt import (Attempt, budget_of, dataset_path, load_id, monitor_targets, plateau_skip,
                                  scenario_for)


def measure(att: Attempt) -> tuple[S, str]:
    ctx, trial, campaign = att.ctx, att.trial, att.campaign
    att.status(S.PREPARING)
    t0 = time.time()
    try:
        path = dataset_path(ctx, trial)
        manifest = Manifest.read(path)
        every_binding = load_bindings(path)
    except Exception as e:  # noqa: BLE001 - named in one line: which dataset, and why
        return S.ERROR, f"dataset {trial.profile} seed {trial.seed}: {type(e).__name__}: {e}"[:1000]
    first = ctx.ledger.first_fingerprint(trial.campaign_id, trial.dataset, manifest.fingerprint)
    # how many bindings each query has in the dataset: what the report's run-count check expects
    att.record(f"dataset/{ctx.node}", {"kind": "dataset", "fingerprint": manifest.fingerprint,
                                       "counts": manifest.counts, "bytes": manifest.bytes, "seconds": time.time() - t0,
                                       "format_version": manifest.format_version,
                                       "bindings": {q: len(b) for q, b in every_binding.items()}})
    if first != manifest.fingerprint:
        return S.ERROR, (f"dataset {trial.dataset} on node {ctx.node} has fingerprint {manifest.fingerprint[:12]}, "
                         f"campaign expects {first[:12]}: generator versions differ between nodes")
    skip = plateau_skip(ctx, trial, campaign)
    if skip:
        return S.SKIPPED, skip
    att.checkpoint()
    bindings = {q: b[:campaign.protocol.bindings] for q, b in every_binding.items()}  # the first n of each query
    unbound = load_unbound(path)  # imported models: queries no binding can exist for, recorded, never run
    for qid in campaign.query_ids:
        if qid in unbound:
            att.record(f"unbound/{qid}", {"kind": "unbound", "query": qid, "status": "no_binding",
                                          "message": unbound[qid]})
    verdict = ensure_load(att, path, manifest, bindings)
    if verdict:
        return verdict
    att.checkpoint()
    return serve(att, manifest, bindings, path)


# --- the load: ingest + gate, once per (dataset, scenario) on this node ---------------------------------
def ensure_load(att: Attempt, path, manifest: Manifest, bindings) -> tuple[S, str] | None:
    ctx, trial = att.ctx, att.trial
    lid = load_id(trial)
    key = f"btb:load:{ctx.node}:{lid}"
    state = ctx.board.r.hgetall(key)
    if state.get("status") == "ready" and lid in ctx.provider.trials():
        att.validated_rows = json.loads(state.get("rows") or "{}")
        if state.get("trial") == trial.id:  # loaded by a lost attempt of this trial: its check comes back
            loadrecords.restore(att, key)
        att.store_bytes = int(state["store_bytes"]) if state.get("store_bytes") else None
        return _load_verdict(state)
    if state.get("status") in ("failed", "invalid") and state.get("trial") != trial.id:
        return _load_verdict(state)
    ctx.board.r.hset(key, mapping={"status": "ingesting", "trial": trial.id})
    loadrecords.start(att, key)
    try:
        verdict = _ingest(att, lid, path, manifest, bindings)
    finally:
        loadrecords.stop(att)
    status = "ready" if verdict is None else ("invalid" if verdict[0] == S.INVALID else "failed")
    ctx.board.r.hset(key, mapping={"status": status, "trial": trial.id, "rows": json.dumps(att.validated_rows),
                                   "store_bytes": att.store_bytes or "",
                                   "message": verdict[1] if verdict else "", "outcome": verdict[0].value if verdict else ""})
    if verdict is None:
        loadrecords.keep_resources(att, key)
        ctx.provider.park(lid)
    else:
        ctx.provider.stop(lid)
    return verdict


def _load_verdict(state: dict) -> tuple[S, str] | None:
    if state.get("status") == "ready":
        return None
    where = f"(loaded by trial {state.get('trial')})"
    outcome = S(state["outcome"]) if state.get("outcome") else S.ERROR
    return outcome, f"{state.get('message', '')} {where}"[:1000]


def _ingest(att: Attempt, lid: str, path, manifest: Manifest, bindings) -> tuple[S, str] | None:
    ctx, trial, campaign = att.ctx, att.trial, att.campaign
    cls = scenario_class(trial.scenario)
    ingest_budget = level_bytes(campaign.memory.ingest, manifest.bytes, campaign.memory.auto_count)
    att.status(S.PROVISIONING, ingest_budget=ingest_budget)
    ctx.provider.stop(lid)  # a half-made load (an attempt that died while loading) starts over
    try:
        started = ctx.provider.start(lid, tuple(cls.engines), ingest_budget)
    except Exception as e:  # noqa: BLE001
        kills = getattr(e, "oom_kills", None)
        why = f"OOM-killed while starting for ingest under {campaign.memory.ingest} (oom_kill {kills})" if kills else ""
        return (S.ERROR, f"ingest: {why or 'engines could not start'}: {e}"[:1000])
    att.status(S.INGESTING)
    mon = att.start_monitor(monitor_targets(started.endpoints))
    time.sleep(0.5)  # a few idle samples first: the engines' baseline before loading
    scenario = scenario_for(trial, started.endpoints, campaign)
    report, counts, status, message = None, {}, "ok", ""
    t0 = time.time()
    try:
        report = scenario.ingest(path)
        counts = scenario.counts()
    except Exception as e:  # noqa: BLE001 - recorded as the load's status, never as a result
        kills = ctx.provider.oom_kills(lid)
        status = "oom" if kills else "error"
        message = (f"OOM-killed during ingest under {campaign.memory.ingest} (oom_kill {kills}): " if kills else "") + \
            f"{type(e).__name__}: {e}"
        message = message[:1000]
    t1 = time.time()
    give_back()  # the load's buffers, before the gate and the level (after t1: outside the ingest's time)
    mismatched = {k: (v, manifest.counts.get(k)) for k, v in counts.items()
                  if k in manifest.counts and manifest.counts[k] != v}
    if status == "ok" and mismatched:
        status, message = "error", f"stored counts differ from the dataset (stored, expected): {mismatched}"
    eps = started.endpoints
    att.record("ingest", {
        "kind": "ingest", "load": lid, "budget": ingest_budget, "ingest_level": campaign.memory.ingest,
        "status": status, "message": message, "t_start": t0, "t_end": t1,
        "applied_limit": started.applied_limit, "budget_mode": started.budget_mode, "fingerprint": manifest.fingerprint,
        "seconds": report.seconds if report else None, "rows": report.rows if report else {},
        "rows_per_s": report.rows_per_s if report else None,
        "bytes_on_disk": report.bytes_on_disk if report else None, "backend": report.backend if report else "",
        **store_size(report.bytes_on_disk if report else None, manifest),
        "details": report.details if report else {}, "counts": counts,
        "engines": _engines_info(eps), "environment": environment_fingerprint({k: e.version for k, e in eps.items()})})
    if status != "ok":
        scenario.close()
        att.stop_monitor(mon)
        return S.ERROR, f"ingest {status}: {message}"[:1000]
    att.store_bytes = report.bytes_on_disk if report else None
    verdict = None
    if campaign.protocol.validate_answers:
        att.status(S.VALIDATING)
        verdict = _gate(att, scenario, path, bindings)
    scenario.close()
    att.stop_monitor(mon)
    return verdict


def store_size(bytes_on_disk: int | None, manifest: Manifest) -> dict:
    """The store's size per sample, and beside the dataset's own Parquet: what `btb plan` sizes disks from."""
    samples = int(manifest.counts.get("samples") or 0)
    if not bytes_on_disk or not samples:
        return {"samples": samples, "bytes_per_sample": None, "dataset_bytes": manifest.bytes, "x_dataset": None}
    return {"samples": samples, "bytes_per_sample": bytes_on_disk / samples, "dataset_bytes": manifest.bytes,
            "x_dataset": bytes_on_disk / manifest.bytes if manifest.bytes else None}


def _engines_info(eps) -> dict:
    return {k: {"version": e.version, "memory_limit": e.extra.get("memory_limit"),
                "cgroup_version": e.extra.get("cgroup_version"), "settings": e.extra.get("settings", {}),
                "tuning": e.extra.get("tuning"), "series_backend": e.extra.get("series_backend")}
            for k, e in eps.items()}


def _gate(att: Attempt, scenario, path, bindings) -> tuple[S, str] | None:
    """Every query × binding once against the oracle, on the freshly loaded engines. Only a real mismatch
    makes the load (and so its trials) invalid; timeouts and errors stay what they are."""
    from btb.dataset.answer_store import ensure_answers

    t0 = time.time()
    stored = ensure_answers(path)  # once per dataset, beside it: every node and load reuses it
    att.record("oracle", {"kind": "oracle", "seconds": stored.seconds, "source": stored.source,
                          "t_start": t0, "t_end": time.time()})
    mismatches = []
    rows: dict[str, int] = {}
    for qid in att.campaign.query_ids:
        for bi, params in enumerate(bindings[qid]):
            att.checkpoint()
            c = check_query(scenario, qid, bi, params, stored.get(qid, bi, params))
            if c.status == "ok":
                rows[f"{qid}/{bi}"] = c.got_rows
            att.record(f"validate/{qid}/b{bi}", {
                "kind": "validation", "query": qid, "binding": bi, "params": params, "status": c.status,
                "match": c.status == "ok", "diff": c.message[:2000], "n_rows": c.got_rows,
                "n_expected": c.expected_rows})
            if c.status == "mismatch":
                mismatches.append(f"{qid}#{bi}")
    att.validated_rows = rows  # ensure_load keeps them with the load: every level's answers are held to them
    if mismatches:
        return S.INVALID, "answers differ from the oracle: " + ", ".join(mismatches)
    return None


# --- serving under the level's budget -------------------------------------------------------------------
def serve(att: Attempt, manifest: Manifest, bindings, path=None) -> tuple[S, str]:
    ctx, trial, campaign = att.ctx, att.trial, att.campaign
    lid = load_id(trial)
    att.engines_id = lid
    try:
        budget = budget_of(trial, campaign, manifest.bytes, att.store_bytes)
    except ValueError as e:  # a relative level on a load that measured no store size
        return S.ERROR, str(e)[:1000]
    att.status(S.PROVISIONING, budget=budget, store_bytes=att.store_bytes or "")
    try:
        started = ctx.provider.resume(lid, budget, campaign.memory.tuning, campaign.protocol.timeout_s)
    except Exception as e:  # noqa: BLE001 - a budget too small to even start is a finding
        kills = getattr(e, "oom_kills", None)
        if kills:
            return S.OOM, f"OOM-killed under {trial.level} while starting (cgroup oom_kill 0→{kills}): {e}"[:1000]
        return S.ERROR, f"engines could not start: {e}"[:1000]
    targets = monitor_targets(started.endpoints)
    att.status(S.MEASURING, targets=targets, applied_limit=started.applied_limit, budget_mode=started.budget_mode)
    att.record("provision", {"kind": "provision", "budget": budget, "level": trial.level, "store_bytes": att.store_bytes,
                             "applied_limit": started.applied_limit,
                             "budget_mode": started.budget_mode, "sizing": dict(started.sizing),
                             "engines": _engines_info(started.endpoints), "load": lid, "t": time.time()})
    att.start_monitor(targets)
    time.sleep(0.5)  # idle samples: the engines' baseline under this budget
    att.oom_base = att.oom_kills()  # any kill from now on means this level cannot serve the workload
    bad: dict[str, int] = {}
    scenario = None
    load0 = machine_load()
    if campaign.workload.is_load:  # mix / sessions / ingest: timed load steps instead of per-query batches
        from btb.workflow.loadsteps import serve_load

        try:
            return serve_load(att, started.endpoints, bindings, manifest, path)
        finally:
            _record_load(att, load0, machine_load())
    try:
        for qid in campaign.query_ids:
            scenario, oom = _batch(att, scenario, qid, bindings[qid], bad)
            if oom:
                return S.OOM, oom
        changed = storecheck.after_runs(att, scenario, path, manifest, bindings) if scenario is not None else None
    finally:
        if scenario is not None:
            scenario.close()
        _record_load(att, load0, machine_load())
    if changed:
        return S.INVALID, changed[:1000]
    if "invalid" in bad:
        return S.INVALID, f"{bad['invalid']} measured runs answered differently from the load's validated answers"
    if bad:
        return S.COMPLETED_WITH_ERRORS, "measured runs not ok: " + ", ".join(f"{k} {v}" for k, v in sorted(bad.items()))
    return S.COMPLETED, ""


def machine_load() -> dict:
    """Load average and cumulative CPU steal (jiffies) of this machine, for the trial's noise flag."""
    out: dict = {"t": time.time()}
    try:
        out["load1"] = float(open("/proc/loadavg").read().split()[0])
        cpu = open("/proc/stat").readline().split()[1:]
        out["total"], out["steal"] = sum(int(x) for x in cpu), int(cpu[7]) if len(cpu) > 7 else 0
    except (OSError, ValueError, IndexError):
        pass
    return out


def _record_load(att: Attempt, a: dict, b: dict) -> None:
    """A trial measured while the machine was busy is flagged: load average above 1.5× its cores (a trial
    itself keeps about one core busy: more means someone else ran), or more than 5 % of CPU stolen."""
    cpus = os.cpu_count() or 1
    load = max(a.get("load1", 0.0), b.get("load1", 0.0))
    dt = (b.get("total", 0) - a.get("total", 0)) or 1
    steal = 100.0 * (b.get("steal", 0) - a.get("steal", 0)) / dt
    att.set(load_avg_1m=load, cpu_steal_pct=round(steal, 2),
           busy=bool(load > 1.5 * cpus or steal > 5.0), cpus=cpus)


def _cold_engine(att: Attempt, scenario):
    """A clean restart (empty engine caches) with the engines' files evicted from the page cache."""
    ctx = att.ctx
    if scenario is not None:
        scenario.close()
    endpoints = ctx.provider.restart(att.engines_id, clean=True)
    dropped = ctx.provider.drop_cache(att.engines_id)
    return scenario_for(att.trial, endpoints, att.campaign), dropped


def _batch(att: Attempt, scenario, qid: str, bindings: list[dict], bad: dict[str, int]):
    """The query's cold run, then warm-ups and measured runs over its bindings. An OOM kill ends the
    trial (the level cannot serve the workload); any other failure is recorded, the engine made healthy,
    and runs go on."""
    p = att.campaign.protocol
    t_batch0 = time.time()
    att.phase(qid)
    statuses: dict[str, int] = {}
    plan = []
    if bindings and p.cold:
        plan.append((0, bindings[0], "cold", 0))
    plan += [(bi, params, "warmup" if ri < p.warmups else "run", ri if ri < p.warmups else ri - p.warmups)
             for bi, params in enumerate(bindings) for ri in range(p.warmups + p.runs)]
    dropped = None
    for bi, params, kind, k in plan:
        att.checkpoint()
        rid = f"run/{qid}/b{bi}/{ {'cold': 'c', 'warmup': 'w', 'run': 'r'}[kind] }{k}".replace(" ", "")
        if kind == "cold" or scenario is None:
            scenario, dropped = _cold_engine(att, scenario) if kind == "cold" else (_fresh(att), None)
        if plan[0][2] == "cold" and bi == k == 0:  # the cold run and the first after it: two monitor ticks apart
            time.sleep(2.0 / att.ctx.settings.monitor_hz)  # from what precedes, so IO is per window (results.hotset)
        t0 = time.time()
        out = scenario.run(qid, params)
        t1 = time.time()
        status, message = out.status, out.message
        # a kill between two runs shows as the *next* run's error (the postmaster resets every backend)
        oom = att.oom_since(att.oom_base) if status in ("error", "timeout") else None
        if oom:
            status, message = "oom", f"{oom}: {message}"
        want = att.validated_rows.get(f"{qid}/{bi}")
        if status == "ok" and want is not None and len(out.rows or []) != want:
            status, message = "invalid", (f"{len(out.rows or [])} rows under this level; the answer validated at load "
                                          f"had {want}: this level's engines answer differently")
        rec = {"kind": "run", "query": qid, "binding": bi, "warmup": kind == "warmup", "cold": kind == "cold",
               "run": k, "status": status, "seconds": out.seconds, "n_rows": len(out.rows or []),
               "phases": out.phases, "message": message, "t_start": t0, "t_end": t1, "prepare": p.prepare,
               "federation": p.federation, **({"notes": out.notes} if out.notes else {})}
        if kind == "cold":
            rec["page_cache_dropped"] = dropped
        att.record(rid, rec)
        statuses[status] = statuses.get(status, 0) + 1
        if (kind == "run" and status != "ok") or status == "invalid":
            bad[status] = bad.get(status, 0) + 1
        if oom:
            _batch_record(att, qid, t_batch0, statuses)
            return scenario, f"{oom} during {qid} binding {bi}"
        if status == "error":
            scenario = _healthy(att, scenario)
        att.ensure_monitor()
    _batch_record(att, qid, t_batch0, statuses)
    if scenario is not None and bindings:  # after the batch's window: what the engine read, never timed
        record_read_profile(att, scenario, qid, bindings[0])
    att.incr("batches_done")
    return scenario, None


def _fresh(att: Attempt):
    endpoints = att.ctx.provider.current(att.engines_id, wait_s=15.0) or att.ctx.provider.restart(att.engines_id)
    return scenario_for(att.trial, endpoints, att.campaign)


def _batch_record(att: Attempt, qid: str, t0: float, statuses: dict[str, int]) -> None:
    att.record(f"batch/{qid}", {"kind": "batch", "query": qid, "t_start": t0, "t_end": time.time(),
                                "statuses": statuses})


def _healthy(att: Attempt, scenario):
    """After an error the engine may be recovering (a killed backend) or dead (a killed postmaster): wait
    for it, or restart it in place from its data; the next runs then get a fresh client."""
    ctx = att.ctx
    scenario.close()
    endpoints = ctx.provider.current(att.engines_id, wait_s=15.0)
    if endpoints is None:
        endpoints = ctx.provider.restart(att.engines_id)
        att.incr("engine_restarts")
    return scenario_for(att.trial, endpoints, att.campaign)
