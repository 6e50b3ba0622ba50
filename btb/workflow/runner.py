"""What a node does for a trial, as plain functions (the Celery tasks in `tasks.py` are thin shells).

One attempt of a trial runs wholly in one call of `run_trial`, under a lease renewed by a heartbeat:
prepare the dataset → start the engines under the budget → ingest → answer gate → one batch per query
→ stop. Every path out of it, whatever raised, ends the trial visibly in `finally`: monitor stopped,
*that trial's* engines stopped, trial reduced, status final (or queued again when the node was drained),
lease released. A lost lease means another attempt owns the trial: this one stops writing at once, and
any write it still tries is refused by the board's fence (and counted in the trial).
"""

from __future__ import annotations

import math
import time

from btb.campaign import Campaign, Trial
from btb.monitor.own import OwnMemory, give_back
from btb.trials import lifecycle
from btb.trials.lifecycle import TrialStatus as S
from btb.trials.board import Claim, LeaseLost
from btb.workflow.attempt import Attempt, Heartbeat, Interrupted, NodeContext, load_id
from btb.workflow.measure import measure


def campaign_of(ctx: NodeContext, campaign_id: str) -> Campaign:
    c = ctx.ledger.campaign(campaign_id)
    if c is None:
        raise RuntimeError(f"campaign {campaign_id} is not in the ledger")
    return Campaign.model_validate(c["spec"])


# --- one attempt ---------------------------------------------------------------------------------
def run_trial(ctx: NodeContext, claim: Claim) -> dict:
    """Run one claimed attempt to its end. Never leaves the trial open, whatever raises."""
    state = ctx.board.trial(claim.trial_id)
    trial = Trial.from_dict(state)
    s = ctx.settings
    hb = Heartbeat(ctx.board, claim, s.lease_ttl_s)
    hb.start()
    final: tuple[S, str] | None = None
    requeue_why = ""
    att = None
    own = OwnMemory().start()  # btb's own RSS over the attempt, load included (issue 27: <= 1 GiB)
    try:
        campaign = campaign_of(ctx, trial.campaign_id)
        att = Attempt(ctx, claim, trial, campaign, hb)
        _stop_leftovers(ctx)
        if claim.attempt > 1:  # a lost attempt's partial runs would mix two engine lifetimes: start clean
            att.set(dropped_records=ctx.board.drop_records(trial.id, claim))
        final = measure(att)
    except LeaseLost:
        final = None  # another attempt owns the trial now: write nothing more
    except Interrupted as e:
        if e.requeue:
            requeue_why = str(e)
        else:
            final = (S.CANCELLED, str(e))
    except Exception as e:  # noqa: BLE001 - any failure ends the trial visibly
        oom = None
        try:
            kills = ctx.provider.oom_kills(att.engines_id) if att and att.engines_id else None
            oom = f"OOM-killed under {trial.level} (cgroup oom_kill {kills})" if kills else None
        except Exception:  # noqa: BLE001 - engines already gone: the error stands
            pass
        final = (S.OOM, f"{oom}: {type(e).__name__}: {e}"[:1000]) if oom else (S.ERROR, f"{type(e).__name__}: {e}"[:1000])
    finally:
        if att is not None and att.monitor_session:
            att.stop_monitor()
        try:
            if att is not None and att.engines_id:
                ctx.provider.park(att.engines_id)  # the load stays for the next level
        except Exception:  # noqa: BLE001 - engines may be gone already; the orphan sweep retries
            pass
        give_back()  # what the attempt freed goes back to the OS before the next trial (its start is recorded)
        own.stop()
    out = _close(ctx, claim, trial, hb, final, requeue_why, att.campaign if att else None, own.fields())
    hb.stop()
    ctx.after_trial(trial.campaign_id)
    return out


def _close(ctx: NodeContext, claim: Claim, trial: Trial, hb: Heartbeat, final: tuple[S, str] | None,
           requeue_why: str, campaign: Campaign | None = None, own: dict | None = None) -> dict:
    from btb.results.aggregate import reduce_trial

    board = ctx.board
    if requeue_why:
        if not board.give_back(claim, requeue_why):
            return {"trial": trial.id, "status": "lease-lost"}
        return {"trial": trial.id, "status": "queued", "message": requeue_why}
    status, message = final or (S.ERROR, "attempt ended without a status")
    try:  # every write fenced (compare-and-set on the lease and the status): a lost attempt's are refused
        board.set(trial.id, claim, status=S.FINISHING)
        board.set(trial.id, claim, resources=_resources_verdict(ctx, trial.id, claim.attempt), **(own or {}))
        board.set(trial.id, claim, status=status, message=message, finished=time.time())
    except LeaseLost:
        return {"trial": trial.id, "status": "lease-lost"}
    try:
        reduce_trial(ctx.ledger, board, trial.id)
        if campaign is not None:
            _bisect(ctx, trial, campaign)  # before the load is dropped: a new level may still need it
        _drop_finished_loads(ctx, trial)
    finally:
        board.release(claim)
    return {"trial": trial.id, "status": status.value, "message": message}


def _bisect(ctx: NodeContext, trial: Trial, campaign: Campaign) -> None:
    """When every level of this (dataset, scenario, repetition) has ended, add one more between the highest
    failing and the lowest passing budget until the bracket is within the campaign's resolution."""
    from btb.results.gradient import next_bisection
    from btb.units import format_size

    if not campaign.memory.bisecting:
        return
    group = [t for t in ctx.board.trials(trial.campaign_id).values()
             if (t.get("dataset"), t.get("scenario"), t.get("repetition", 0)) ==
             (trial.dataset, trial.scenario, trial.repetition)]
    if not all(lifecycle.is_final(t.get("status")) for t in group):
        return
    levels = {}
    for t in group:
        b = math.inf if t.get("level") == "unlimited" else t.get("budget")
        if b is not None:
            levels[float(b)] = t["status"]
    mid = next_bisection(levels, campaign.memory.resolution)
    if mid is None:
        return
    key = f"btb:bisect:{trial.campaign_id}:{trial.dataset}:{trial.scenario}:{trial.repetition}:{mid}"
    if not ctx.board.r.set(key, "1", nx=True, ex=30 * 24 * 3600):
        return  # another node added it
    index = ctx.ledger.add_trial_slot(trial.campaign_id)
    passed_rank = min((t["level_rank"] for t in group if t.get("status") == "completed"), default=trial.level_rank)
    new = Trial(trial.campaign_id, index, trial.dataset, trial.profile, trial.seed, trial.scenario,
                format_size(mid), passed_rank, trial.repetition, model=trial.model, duration=trial.duration)
    eset = ctx.board.trial(trial.id)["engine_set"]
    ctx.board.add_trials(trial.campaign_id, [new.to_dict() | {"bisection": True}], {new.id: eset})
    ctx.send_token(eset)


def _drop_finished_loads(ctx: NodeContext, trial: Trial) -> None:
    """A load is kept while some trial of its (campaign, dataset, scenario) may still use it."""
    siblings = [t for t in ctx.board.trials(trial.campaign_id).values()
                if t.get("dataset") == trial.dataset and t.get("scenario") == trial.scenario]
    if all(lifecycle.is_final(t.get("status")) for t in siblings):
        lid = load_id(trial)
        ctx.provider.stop(lid)
        ctx.board.r.delete(f"btb:load:{ctx.node}:{lid}", f"btb:load:{ctx.node}:{lid}:records")


def _resources_verdict(ctx: NodeContext, tid: str, attempt: int) -> str:
    """'complete' only when the monitor sampled the whole trial without a gap; else why not."""
    st = ctx.board.trial(tid)
    restarts = int(st.get("monitor_restarts", 0) or 0)
    ts = sorted(x["t"] for x in ctx.ledger.samples(tid))
    if not ts:
        return "incomplete: no monitor samples"
    gap = max((b - a for a, b in zip(ts, ts[1:])), default=0.0)
    limit = max(2.0, 5.0 / ctx.settings.monitor_hz)
    if restarts or gap > limit:
        return f"incomplete: monitor restarted {restarts}×, longest gap between samples {gap:.1f} s"
    return "complete"


def _stop_leftovers(ctx: NodeContext) -> None:
    """A node runs one trial at a time, so any engine still running here is left by a killed attempt:
    loads of campaigns still running are parked (their data is kept for the next level), anything else
    (a finished campaign's load, a half-made start) is removed."""
    for eid in ctx.provider.trials():
        cid = eid.split("~")[1] if eid.startswith("load~") and eid.count("~") == 3 else None
        camp = ctx.ledger.campaign(cid) if cid else None
        if camp and camp.get("status") not in ("done", "cancelled"):
            ctx.provider.park(eid)
        else:
            ctx.provider.stop(eid)

