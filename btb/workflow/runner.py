"""What a node does for a trial, as plain functions (the Celery tasks in `tasks.py` are thin shells).

One attempt of a trial runs wholly in one call of `run_trial`, under a lease renewed by a heartbeat:
prepare the dataset → start the engines under the budget → ingest → answer gate → one batch per query
→ stop. Every path out of it, whatever raised, ends the trial visibly in `finally`: monitor stopped,
*that trial's* engines stopped, trial reduced, status final (or queued again when the node was drained),
lease released. A lost lease means another attempt owns the trial: this one stops writing at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from btb.campaign import Campaign, Trial, level_bytes
from btb.config import Settings
from btb.engines.base import Endpoint, RunOptions, Scenario
from btb.engines.registry import scenario_class
from btb.infra.provider import Provider
from btb.results.store import Ledger
from btb.trials import lifecycle
from btb.trials.lifecycle import TrialStatus as S
from btb.trials.board import Claim, LeaseLost, TrialBoard


class Interrupted(RuntimeError):
    """The node is being drained (`btb down`) or the campaign cancelled: stop this attempt cleanly."""

    def __init__(self, why: str, requeue: bool):
        super().__init__(why)
        self.requeue = requeue


@dataclass
class NodeContext:
    """Everything a task needs on this node; `start_monitor`/`after_trial` are given by the task layer."""

    settings: Settings
    node: str
    ledger: Ledger
    board: TrialBoard
    provider: Provider
    start_monitor: Callable[[str, int, list[dict], float], None] = lambda *a: None
    after_trial: Callable[[str], None] = lambda cid: None
    send_token: Callable[[str], None] = lambda eset: None
    on_phase: Callable[..., None] = lambda status, **fields: None  # live progress (Flower), best effort

    @classmethod
    def from_settings(cls, settings: Settings, node: str | None = None, **kw) -> "NodeContext":
        from btb.providers import make_provider

        node = node or settings.node
        return cls(settings, node, Ledger(settings.redis_url), TrialBoard(settings.redis_url),
                   make_provider(settings, node), **kw)


def campaign_of(ctx: NodeContext, campaign_id: str) -> Campaign:
    c = ctx.ledger.campaign(campaign_id)
    if c is None:
        raise RuntimeError(f"campaign {campaign_id} is not in the ledger")
    return Campaign.model_validate(c["spec"])


def _targets(endpoints: dict[str, Endpoint]) -> list[dict]:
    return [{"name": k, "cgroup": e.cgroup, "pids": list(e.pids), "container": e.container} for k, e in endpoints.items()]


class Heartbeat(threading.Thread):
    """Renews the trial's lease every ttl/3; notices when it was lost (then the attempt must stop)."""

    def __init__(self, board: TrialBoard, claim: Claim, ttl_s: float):
        super().__init__(daemon=True, name=f"lease-{claim.trial_id}")
        self.board, self.claim, self.ttl_s = board, claim, ttl_s
        self.stopped = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self.stopped.wait(self.ttl_s / 3):
            try:
                if not self.board.renew(self.claim, self.ttl_s):
                    self.lost = True
                    return
            except Exception:  # noqa: BLE001 - broker away: keep trying; the TTL decides
                continue

    def stop(self) -> None:
        self.stopped.set()


@dataclass
class Attempt:
    """One attempt of one trial on this node: the lease, the trial, and how to record under the lease."""

    ctx: NodeContext
    claim: Claim
    trial: Trial
    campaign: Campaign
    heartbeat: Heartbeat
    monitor_started: float | None = None
    monitor_restarts: int = 0
    targets: list[dict] = field(default_factory=list)
    _checked: float = 0.0
    oom_base: int = 0
    engines_id: str = ""  # the provider's id of the engines this attempt uses (its load)
    validated_rows: dict[str, int] = field(default_factory=dict)  # "<query>/<binding>" -> rows the load's gate accepted
    monitor_session: str = ""
    _sessions: int = 0

    @property
    def tid(self) -> str:
        return self.trial.id

    def checkpoint(self) -> None:
        """Between steps and runs: stop at once if the lease is gone, the node drains or the campaign is cancelled."""
        if self.heartbeat.lost:
            raise LeaseLost(f"trial {self.tid}: lease lost")
        b = self.ctx.board
        if b.flag(f"drain:{self.ctx.node}"):
            raise Interrupted(f"node {self.ctx.node} drained (btb down) during attempt {self.claim.attempt}: "
                              "queued again", requeue=True)
        if b.flag(f"cancel:{self.trial.campaign_id}"):
            raise Interrupted("campaign cancelled", requeue=False)

    def status(self, status: S, **fields: Any) -> None:
        if self.heartbeat.lost:
            raise LeaseLost(f"trial {self.tid}: lease lost")
        self.ctx.board.set(self.tid, status=status, **fields)
        self.phase(str(status))

    def phase(self, phase: str) -> None:
        """Tell the live monitor (Flower) what this trial is doing; never fails the trial."""
        try:
            self.ctx.on_phase(phase, trial=self.tid, scenario=self.trial.scenario, level=self.trial.level,
                              dataset=self.trial.dataset, attempt=self.claim.attempt)
        except Exception:  # noqa: BLE001 - progress display only
            pass

    def record(self, rid: str, rec: dict) -> bool:
        base = {"campaign": self.trial.campaign_id, "trial": self.tid, "scenario": self.trial.scenario,
                "dataset": self.trial.dataset, "level": self.trial.level, "node": self.ctx.node,
                "attempt": self.claim.attempt}
        return self.ctx.board.add_record(self.claim, rid, base | rec)

    def oom_kills(self) -> int:
        return self.ctx.provider.oom_kills(self.engines_id) or 0

    def oom_since(self, before: int) -> str | None:
        """Why this failure is an OOM kill (the cgroup counter rose), or None."""
        after = self.ctx.provider.oom_kills(self.engines_id)
        if after is not None and after > before:
            return f"OOM-killed under {self.trial.level} (cgroup oom_kill {before}→{after})"
        return None

    # --- the monitor belongs to the trial ----------------------------------------------------------
    def start_monitor(self, targets: list[dict]) -> str:
        """A monitor session on these engines (a new one whenever the engines' cgroup changes)."""
        self._sessions += 1
        self.monitor_session = f"{self.claim.attempt}.{self._sessions}"
        self._launch_monitor(targets)
        return self.monitor_session

    def _launch_monitor(self, targets: list[dict]) -> None:
        self.targets = targets
        self.monitor_started = time.monotonic()
        self.ctx.start_monitor(self.tid, self.monitor_session, targets, self.ctx.settings.monitor_hz)

    def stop_monitor(self, session: str | None = None) -> None:
        _stop_monitor(self.ctx, self.tid, session or self.monitor_session)
        if (session or self.monitor_session) == self.monitor_session:
            self.monitor_started = None

    def ensure_monitor(self) -> None:
        """A monitor that stopped heart-beating is started again (counted: the trial's resources are then
        flagged incomplete, never silently complete)."""
        now = time.monotonic()
        if self.monitor_started is None or now - self.monitor_started < 10 or now - self._checked < 2:
            return
        self._checked = now
        if not self.ctx.board.r.exists(monitor_lease_key(self.tid, self.monitor_session)):
            self.monitor_restarts = self.ctx.board.incr(self.tid, "monitor_restarts")
            self._launch_monitor(self.targets)


def monitor_lease_key(tid: str, session: str) -> str:
    return f"btb:monlease:{tid}:{session}"


def dataset_path(ctx: NodeContext, trial: Trial) -> Path:
    """The trial's dataset on this node, generated if missing, verified against its fingerprint: a damaged
    one is refused by name (DatasetError), never silently measured nor silently regenerated."""
    if trial.model:  # an imported Brick model (campaign `datasets: - model: …`)
        from btb.dataset.brick_import.build import ensure_import

        return ensure_import(trial.model, trial.duration or "1w", trial.seed, ctx.settings.datasets_dir, repair=False)
    from btb.dataset.generator import ensure_dataset

    return ensure_dataset(trial.profile, trial.seed, ctx.settings.datasets_dir, repair=False)


def plateau_skip(ctx: NodeContext, trial: Trial, campaign: Campaign) -> str | None:
    """With `memory.plateau_stop`: a reason to skip this level when the two levels below it both completed
    and no query's median improved beyond the lower level's confidence interval (from trial summaries)."""
    if not campaign.memory.plateau_stop or trial.level_rank < 2:
        return None
    trials = ctx.board.trials(trial.campaign_id)
    lower = sorted((t for t in trials.values() if t["dataset"] == trial.dataset and t["scenario"] == trial.scenario
                    and t.get("repetition", 0) == trial.repetition and t["level_rank"] < trial.level_rank),
                   key=lambda t: t["level_rank"])[-2:]
    if len(lower) < 2 or any(t.get("status") != "completed" for t in lower):
        return None  # not known yet (or a level failed): keep climbing
    sums = ctx.ledger.trial_summaries([lower[0]["id"], lower[1]["id"]])
    if len(sums) < 2:
        return None
    prev = {r["query"]: r for r in sums[lower[0]["id"]]["rows"]}
    cur = {r["query"]: r for r in sums[lower[1]["id"]]["rows"]}
    for qid in campaign.query_ids:
        p, c = prev.get(qid), cur.get(qid)
        if not p or not c or not p.get("n") or not c.get("n") or c["p50"] < p["median_ci_low"]:
            return None
    return (f"plateau: no query's median improved from {lower[0]['level']} to {lower[1]['level']} "
            "beyond its 95% confidence interval")


# --- one attempt ---------------------------------------------------------------------------------
def run_trial(ctx: NodeContext, claim: Claim) -> dict:
    """Run one claimed attempt to its end. Never leaves the trial open, whatever raises."""
    from btb.workflow.measure import measure

    state = ctx.board.trial(claim.trial_id)
    trial = Trial.from_dict(state)
    s = ctx.settings
    hb = Heartbeat(ctx.board, claim, s.lease_ttl_s)
    hb.start()
    final: tuple[S, str] | None = None
    requeue_why = ""
    att = None
    try:
        campaign = campaign_of(ctx, trial.campaign_id)
        att = Attempt(ctx, claim, trial, campaign, hb)
        _stop_leftovers(ctx)
        if claim.attempt > 1:  # a lost attempt's partial runs would mix two engine lifetimes: start clean
            ctx.board.set(trial.id, dropped_records=ctx.board.drop_records(trial.id))
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
    out = _close(ctx, claim, trial, hb, final, requeue_why, att.campaign if att else None)
    hb.stop()
    ctx.after_trial(trial.campaign_id)
    return out


def _close(ctx: NodeContext, claim: Claim, trial: Trial, hb: Heartbeat, final: tuple[S, str] | None,
           requeue_why: str, campaign: Campaign | None = None) -> dict:
    from btb.results.aggregate import reduce_trial

    board = ctx.board
    if hb.lost or not board.holds(claim):
        return {"trial": trial.id, "status": "lease-lost"}
    if requeue_why:
        board.give_back(claim, requeue_why)
        return {"trial": trial.id, "status": "queued", "message": requeue_why}
    status, message = final or (S.ERROR, "attempt ended without a status")
    resources = _resources_verdict(ctx, trial.id, claim.attempt)
    board.set(trial.id, status=S.FINISHING)
    board.set(trial.id, resources=resources)
    board.set(trial.id, status=status, message=message, finished=time.time())
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
    import math

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
    from btb.workflow.measure import load_id

    siblings = [t for t in ctx.board.trials(trial.campaign_id).values()
                if t.get("dataset") == trial.dataset and t.get("scenario") == trial.scenario]
    if all(lifecycle.is_final(t.get("status")) for t in siblings):
        lid = load_id(trial)
        ctx.provider.stop(lid)
        ctx.board.r.delete(f"btb:load:{ctx.node}:{lid}")


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


def _stop_monitor(ctx: NodeContext, tid: str, session: str, wait_s: float = 10.0) -> None:
    board = ctx.board
    board.set_flag(f"stop:{tid}:{session}")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and board.r.exists(monitor_lease_key(tid, session)) \
            and not board.flag(f"monitor-done:{tid}:{session}"):
        time.sleep(0.1)


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


def run_options(campaign: Campaign) -> RunOptions:
    p = campaign.protocol
    return RunOptions(timeout_s=p.timeout_s, prepare=p.prepare)


def scenario_for(trial: Trial, endpoints: dict[str, Endpoint], campaign: Campaign) -> Scenario:
    return scenario_class(trial.scenario)(endpoints, run_options(campaign))


def budget_of(trial: Trial, campaign: Campaign, dataset_bytes: int) -> int | None:
    return level_bytes(trial.level, dataset_bytes, campaign.memory.auto_count)


def is_final(status: str | None) -> bool:
    return lifecycle.is_final(status)
