"""The load-workload path of a trial (campaign `workload.read: mix | sessions`, or ingest alone), beside
the isolated per-query batches of `measure.serve`: after the engines are up under the level's budget, run
each load step on this node — closed-loop steps by clients, then open-loop steps by rate — and record
each step (`kind: load_step`). Progress names the step; an OOM kill during a step ends the trial as `oom`.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import asdict

from btb.trials.lifecycle import TrialStatus as S
from btb.workflow.attempt import Attempt, run_options, scenario_for
from btb.workload.spec import INGEST_MODULE, WorkloadSpec
from btb.workload.step import StepPlan, run_step


def plans(w: WorkloadSpec, bindings: dict[str, list[dict]], expect: dict[str, int]) -> list[StepPlan]:
    """The trial's steps in order: per read workload (mix, then sessions), closed loop by ascending clients,
    then open loop by ascending rate; sessions by ascending operators."""
    L = w.load
    common = dict(seed=w.seed, burn_in_s=L.burn_in_s, duration_s=L.duration_s, drain_s=L.drain,
                  tolerance_s=L.start_tolerance_ms / 1000, on_schedule=L.on_schedule, arrival=L.arrival,
                  weights=dict(w.mix.weights), session=w.sessions.model_dump(), clients_as=L.clients_as,
                  bindings={q: bindings.get(q, []) for q in w.queries()}, expect_rows=expect)
    out: list[StepPlan] = []
    for read in w.reads:
        if read == "mix":
            out += [StepPlan("mix", "closed", c, None, len(out) + i, **common) for i, c in enumerate(w.mix.clients)]
            out += [StepPlan("mix", "open", w.mix.open_clients, r, len(out) + i, **common)
                    for i, r in enumerate(w.mix.rate)]
        else:
            out += [StepPlan("sessions", "sessions", c, None, len(out) + i, **common)
                    for i, c in enumerate(w.sessions.operators)]
    return out


def serve_load(att: Attempt, endpoints: dict, bindings: dict[str, list[dict]]) -> tuple[S, str]:
    w, trial = att.campaign.workload, att.trial
    steps = plans(w, bindings, att.validated_rows)
    spawn = {"scenario": trial.scenario, "endpoints": {k: asdict(e) for k, e in endpoints.items()},
             "options": asdict(run_options(att.campaign))}
    bad: dict[str, int] = {}
    for plan in steps or [None]:
        att.checkpoint()
        label = plan.label if plan else "ingest alone"
        att.ctx.board.set(att.tid, load_step=label)
        att.phase("load", step=label, workload=plan.workload if plan else "ingest", rate=plan.rate if plan else None,
                  clients=plan.clients if plan else None)
        live = _start_ingest(att, endpoints) if w.ingest is not None else None
        rec = run_step(plan, lambda: scenario_for(trial, endpoints, att.campaign), spawn) if plan else None
        if plan is None:
            time.sleep(w.load.burn_in_s + w.load.duration_s)
        if live is not None:
            att.record(f"ingest_step/{label}", {"kind": "ingest_step", "step": label} | live.stop())
        if rec is not None:
            att.record(f"load/{rec['step']:02d}", rec)
            for status, n in rec["statuses"].items():
                if status != "ok":
                    bad[status] = bad.get(status, 0) + n
            if rec["missed"]:
                bad["missed"] = bad.get("missed", 0) + rec["missed"]
        oom = att.oom_since(att.oom_base)
        if oom:
            return S.OOM, f"{oom} during load step {label}"
        att.ensure_monitor()
    if "invalid" in bad:
        return S.INVALID, f"{bad['invalid']} load ops answered differently from the load's validated answers"
    if bad:
        return S.COMPLETED_WITH_ERRORS, "load ops not ok: " + ", ".join(f"{k} {v}" for k, v in sorted(bad.items()))
    return S.COMPLETED, ""


def _start_ingest(att: Attempt, endpoints: dict):
    """Live appends beside the step, by the write path's generator (`btb.workload.ingest`: `start(scenario
    factory, dataset dir, IngestSpec, seed)` → a handle whose `stop()` returns the ingest step's figures)."""
    from btb.workflow.attempt import dataset_path

    try:
        live = importlib.import_module(INGEST_MODULE)
    except ModuleNotFoundError as e:
        raise RuntimeError(f"workload.ingest: live ingest is not available in this build ({INGEST_MODULE} "
                           "missing)") from e
    w = att.campaign.workload
    return live.start(lambda: scenario_for(att.trial, endpoints, att.campaign), dataset_path(att.ctx, att.trial),
                      w.ingest, w.seed)
