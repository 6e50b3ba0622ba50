"""One attempt of a trial on this node: its context, its lease, how it records, its monitor, and what it
derives from its trial (where the dataset is, the budget, the scenario adapter, the load's id).

Shared by `runner` (which opens and closes an attempt) and `measure` (which runs its steps), so the two
do not import each other both ways: runner imports measure, measure never imports runner.
"""

from __future__ import annotations

import json
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
    start_monitor: Callable[[str, str, list[dict], float, str], None] = lambda *a: None  # (…, lease token)
    after_trial: Callable[[str], None] = lambda cid: None
    send_token: Callable[[str], None] = lambda eset: None
    on_phase: Callable[..., None] = lambda status, **fields: None  # live progress (Flower), best effort

    @classmethod
    def from_settings(cls, settings: Settings, node: str | None = None, **kw) -> "NodeContext":
        from btb.infra.factory import make_provider

        node = node or settings.node
        return cls(settings, node, Ledger(settings.redis_url), TrialBoard(settings.redis_url),
                   make_provider(settings, node), **kw)


def monitor_targets(endpoints: dict[str, Endpoint]) -> list[dict]:
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
    load_records_key: str = ""  # while loading: where the load keeps its own records (`loadrecords`)

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
        self.ctx.board.set(self.tid, self.claim, status=status, **fields)
        self.phase(str(status))

    def phase(self, phase: str, **extra: Any) -> None:
        """Tell the live monitor (Flower) what this trial is doing (a load step adds step, workload, rate,
        clients); never fails the trial."""
        try:
            self.ctx.on_phase(phase, trial=self.tid, scenario=self.trial.scenario, level=self.trial.level,
                              dataset=self.trial.dataset, attempt=self.claim.attempt, **extra)
        except Exception:  # noqa: BLE001 - progress display only
            pass

    def record(self, rid: str, rec: dict) -> bool:
        base = {"campaign": self.trial.campaign_id, "trial": self.tid, "scenario": self.trial.scenario,
                "dataset": self.trial.dataset, "level": self.trial.level, "node": self.ctx.node,
                "attempt": self.claim.attempt}
        stored = self.ctx.board.add_record(self.claim, rid, base | rec)
        if self.load_records_key:  # the load's own record (ingest, answer gate): kept by the load too
            self.ctx.board.r.hset(self.load_records_key, rid, json.dumps(base | rec | {"record_id": rid}))
        return stored

    def set(self, **fields: Any) -> None:
        """State fields of the trial, under this attempt's lease."""
        self.ctx.board.set(self.tid, self.claim, **fields)

    def incr(self, name: str, by: int = 1) -> int:
        return self.ctx.board.incr(self.claim, name, by)

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
        self.ctx.start_monitor(self.tid, self.monitor_session, targets, self.ctx.settings.monitor_hz, self.claim.token)

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
            self.monitor_restarts = self.ctx.board.incr(self.claim, "monitor_restarts")
            self._launch_monitor(self.targets)


def monitor_lease_key(tid: str, session: str) -> str:
    return f"btb:monlease:{tid}:{session}"


def _stop_monitor(ctx: NodeContext, tid: str, session: str, wait_s: float = 10.0) -> None:
    board = ctx.board
    board.set_flag(f"stop:{tid}:{session}")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and board.r.exists(monitor_lease_key(tid, session)) \
            and not board.flag(f"monitor-done:{tid}:{session}"):
        time.sleep(0.1)


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


def load_id(trial: Trial) -> str:
    """The engines' identity on a node: one load per (campaign, dataset, scenario)."""
    return f"load~{trial.campaign_id}~{trial.dataset}~{trial.scenario}"


def run_options(campaign: Campaign) -> RunOptions:
    p = campaign.protocol
    return RunOptions(timeout_s=p.timeout_s, prepare=p.prepare, federation=p.federation)


def scenario_for(trial: Trial, endpoints: dict[str, Endpoint], campaign: Campaign) -> Scenario:
    return scenario_class(trial.scenario)(endpoints, run_options(campaign))


def budget_of(trial: Trial, campaign: Campaign, dataset_bytes: int) -> int | None:
    return level_bytes(trial.level, dataset_bytes, campaign.memory.auto_count)

