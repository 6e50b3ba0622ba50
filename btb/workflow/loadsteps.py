"""The load-workload path of a trial (campaign `workload.read: mix | sessions`, or ingest alone), beside
the isolated per-query batches of `measure.serve`: after the engines are up under the level's budget, run
each load step on this node — closed-loop steps by clients, then open-loop steps by rate — and record
each step (`kind: load_step`). Progress names the step; an OOM kill during a step ends the trial as `oom`.
"""

from __future__ import annotations

import time
from dataclasses import asdict

from btb.monitor.own import give_back
from btb.trials.lifecycle import TrialStatus as S
from btb.workflow import storecheck
from btb.workflow.attempt import Attempt, load_id, run_options, scenario_for
from btb.workload.spec import WorkloadSpec
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


def serve_load(att: Attempt, endpoints: dict, bindings: dict[str, list[dict]], manifest=None,
               path=None) -> tuple[S, str]:
    w, trial = att.campaign.workload, att.trial
    # with live ingest, structure changes may change an answer: the overlay oracle judges them, not the gate's rows
    steps = plans(w, bindings, {} if w.ingest is not None else att.validated_rows)
    live = None
    if w.ingest is not None:
        from btb.workflow.liveingest import LiveIngest

        live = LiveIngest(att, endpoints, w.load.burn_in_s + w.load.duration_s, len(steps))
        written(att)  # from the first append on, this load is no longer the one its gate validated
    spawn = {"scenario": trial.scenario, "endpoints": {k: asdict(e) for k, e in endpoints.items()},
             "options": asdict(run_options(att.campaign))}
    bad: dict[str, int] = {}
    for index, plan in enumerate(steps or [None]):
        oom = _step(att, index, plan, live, endpoints, spawn, bad)
        if oom:
            return S.OOM, f"{oom} during load step {plan.label if plan else 'ingest alone'}"
    changed = (_check_store(att, endpoints, manifest, path, bindings, live, bad, steps)
               if manifest is not None else None)
    if changed:
        return S.INVALID, changed[:1000]
    if "invalid" in bad:
        return S.INVALID, f"{bad['invalid']} load ops answered differently from the load's validated answers"
    if bad:
        return S.COMPLETED_WITH_ERRORS, "load ops not ok: " + ", ".join(f"{k} {v}" for k, v in sorted(bad.items()))
    return S.COMPLETED, ""


def written(att: Attempt) -> None:
    """Mark this trial's load as written to: the next trial of its (dataset, scenario) loads afresh and runs
    the gate again (`measure.ensure_load` reloads any load not `ready`), so every level starts from the
    validated store and the ingest generator's building clock never writes a sample twice."""
    att.ctx.board.r.hset(f"btb:load:{att.ctx.node}:{load_id(att.trial)}", mapping={"status": "written",
                                                                                 "trial": att.trial.id})


def _step(att: Attempt, index: int, plan: StepPlan | None, live, endpoints: dict, spawn: dict,
          bad: dict[str, int]) -> str | None:
    """One load step (with its slice of the live ingest beside it), recorded; returns an OOM message or None."""
    w, trial = att.campaign.workload, att.trial
    att.checkpoint()
    label = plan.label if plan else "ingest alone"
    att.set(load_step=label)
    att.phase("load", step=label, workload=plan.workload if plan else "ingest", rate=plan.rate if plan else None,
              clients=plan.clients if plan else None)
    if live is not None:
        live.start(index)
    rec = run_step(plan, lambda: scenario_for(trial, endpoints, att.campaign), spawn) if plan else None
    if plan is None:
        time.sleep(w.load.burn_in_s + w.load.duration_s)
    if live is not None:
        ing = live.stop()
        att.record(f"ingest_step/{index:02d}", {"kind": "ingest_step", "step": index, "label": label,
                                                 "beside": plan.workload if plan else "none"} | ing)
        if ing.get("status") != "ok":
            bad["ingest"] = bad.get("ingest", 0) + int(ing.get("errors") or 1)
    if rec is not None:
        att.record(f"load/{rec['step']:02d}", rec)
        for status, n in rec["statuses"].items():
            if status != "ok":
                bad[status] = bad.get(status, 0) + n
        if rec["missed"]:
            bad["missed"] = bad.get("missed", 0) + rec["missed"]
    give_back()  # the step's clients' freed memory, before the next step (outside every window)
    oom = att.oom_since(att.oom_base)
    if not oom:
        att.ensure_monitor()
    return oom


def _check_store(att: Attempt, endpoints: dict, manifest, path, bindings, live, bad: dict[str, int],
                 steps: list) -> str | None:
    """The store check after the last step (`btb.workflow.storecheck`): with live ingest, against the oracle
    updated with what the steps committed; without, the read-only check of the isolated protocol."""
    last = steps[-1].label if steps else "ingest alone"  # Flower keeps naming the step the check follows
    att.phase("store_check", step=f"store check after {last}")
    scenario = scenario_for(att.trial, endpoints, att.campaign)
    try:
        if live is None:
            return storecheck.after_runs(att, scenario, path, manifest, bindings)
        reason, unchecked = storecheck.after_writes(att, scenario, path, manifest, bindings, live.overlay)
        if unchecked:
            bad["store_check_not_run"] = unchecked
        return reason
    finally:
        scenario.close()
