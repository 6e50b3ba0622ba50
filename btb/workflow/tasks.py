"""Celery tasks: thin shells over `btb.workflow.runner` and `btb.results.aggregate`.

Routing (DESIGN §7): the coordinator queues each trial in its engine set's plan-ordered pending set
and sends one *token* per trial to the engine set's queue (`engines.postgres`, …). A bench worker
(concurrency 1: one trial at a time per node) that takes a token claims the next pending trial of that
engine set in plan order and runs it whole. Tokens carry no trial: an extra token claims nothing, a
lost one is replaced by the sweeper, so order and completeness come from the board, not from the broker.

The sweeper is a thread in every bench worker's main process: it keeps the node registered (engine
sets it serves), re-queues trials whose lease lapsed (their node died) and tops up tokens when trials
wait with none in their queue.
"""

from __future__ import annotations

import threading

from celery import signals
from celery.utils.log import get_task_logger

from btb.campaign import Campaign
from btb.config import get_settings
from btb.routing import QUEUE_AGGREGATE, engine_set_queue, monitor_queue
from btb.workflow import runner
from btb.workflow.attempt import NodeContext
from btb.workflow.app import app

log = get_task_logger(__name__)
SWEEP_S = 5.0


def _ctx() -> NodeContext:
    s = get_settings()
    return NodeContext.from_settings(
        s, start_monitor=lambda tid, attempt, targets, hz, token: monitor_task.apply_async(
            args=[tid, attempt, targets, hz, token], queue=monitor_queue(s.node)),
        after_trial=lambda cid: aggregate_task.apply_async(args=[cid], queue=QUEUE_AGGREGATE),
        send_token=lambda eset: send_token(eset))


def trial_time_limit(campaign: Campaign) -> int:
    """Hard Celery limit of one trial from the protocol: every run may reach its timeout, plus set-up."""
    p = campaign.protocol
    runs = len(campaign.query_ids) * p.bindings * (p.warmups + p.runs + int(p.validate_answers))
    L = campaign.workload.load  # load steps: each is burn-in + window + drain, its last ops up to a timeout
    steps = campaign.workload.steps if campaign.workload.is_load else 0
    return int(4 * 3600 + runs * (p.timeout_s + 1.0) * 1.2 + steps * (L.burn_in_s + L.duration_s + L.drain + p.timeout_s))


class TrialFailed(Exception):
    """Raised (after the trial has ended and been recorded) so Flower counts an errored trial as failed."""


def send_token(eset: str, time_limit: int | None = None) -> None:
    trial_token_task.apply_async(args=[eset], queue=engine_set_queue(eset), time_limit=time_limit,
                                 shadow=f"btb.trial[{eset}]")


@app.task(name="btb.trial", bind=True)
def trial_token_task(self, eset: str) -> dict:
    """Claim the next pending trial of this engine set (plan order) and run it to its end."""
    ctx = _ctx()
    if ctx.board.flag(f"drain:{ctx.node}"):
        return {"claimed": None, "why": "node draining"}  # the sweeper sends a new token after `btb up`
    claim = ctx.board.claim(eset, ctx.node, ctx.settings.lease_ttl_s)
    if claim is None:
        return {"claimed": None}

    def on_phase(phase: str, **fields) -> None:
        # a custom task event: Flower shows the phase as the task's state and the trial in its name
        # (the token was sent before any trial was claimed, so its own name can only say the engine set)
        step = f" [{fields['step']}]" if fields.get("step") else ""  # a load step: workload, rate or clients
        self.send_event(f"task-{phase.lower()}", name=f"btb.trial {fields['scenario']}@{fields['level']} "
                        f"{fields['trial']}{step}", **fields)

    ctx.on_phase = on_phase
    log.info("node %s runs trial %s (attempt %d)", ctx.node, claim.trial_id, claim.attempt)
    out = runner.run_trial(ctx, claim)
    if out.get("status") in ("error", "invalid"):
        raise TrialFailed(f"{claim.trial_id} {out['status']}: {out.get('message', '')}"[:1000])
    return out


@app.task(name="btb.monitor", bind=True)
def monitor_task(self, trial_id: str, attempt: str, targets: list[dict], hz: float, token: str = "") -> dict:
    from btb.workflow.monitoring import monitor

    return monitor(_ctx(), trial_id, attempt, targets, hz, token)


@app.task(name="btb.aggregate", bind=True)
def aggregate_task(self, campaign_id: str) -> dict:
    from btb.results.aggregate import aggregate_campaign

    ctx = _ctx()
    summary = aggregate_campaign(ctx.ledger, ctx.board, campaign_id)
    return {"campaign": campaign_id, "rows": len(summary["rows"]), "status": summary["status"]}


def enqueue_campaign(board, campaign: Campaign, trials: list[dict], engine_sets: dict[str, str]) -> None:
    """Coordinator side: register the trials (plan order) and send one token per trial."""
    board.add_trials(trials[0]["campaign_id"], trials, engine_sets)
    limit = trial_time_limit(campaign)
    for t in trials:
        send_token(engine_sets[t["id"]], limit)


# --- the sweeper (bench worker main process) ---------------------------------------------------------
def sweep_once(ctx: NodeContext, esets: list[str]) -> list[tuple[str, str]]:
    """Register this node, re-queue trials whose lease lapsed, top up tokens for waiting trials."""
    board = ctx.board
    board.register_node(ctx.node, {"engine_sets": esets, "kinds": sorted(
        k for k, c in ctx.provider.capabilities().items() if c.available), "disk": _disk(ctx)}, ttl_s=4 * SWEEP_S)
    reaped = board.reap()
    for tid, what in reaped:
        t = board.trial(tid)
        log.warning("trial %s lost its node: %s", tid, what)
        if what == "requeued":
            send_token(t["engine_set"])
        else:
            aggregate_task.apply_async(args=[t["campaign_id"]], queue=QUEUE_AGGREGATE)
    if not board.flag(f"drain:{ctx.node}"):
        with app.connection_for_write() as conn:
            client = conn.channel().client
            for eset in esets:
                if board.pending(eset) and not client.llen(engine_set_queue(eset)):
                    send_token(eset)
    return reaped


def _disk(ctx: NodeContext) -> list[dict]:
    """This node's datasets and engines dirs with their free space: what `btb submit` sizes a campaign against."""
    from btb.planning.disk import node_dirs

    try:
        return [d.to_dict() for d in node_dirs(ctx.settings)]
    except OSError:
        return []


def _sweeper(stop: threading.Event) -> None:
    from btb.routing import runnable_engine_sets

    ctx = _ctx()
    esets = runnable_engine_sets(k for k, c in ctx.provider.capabilities().items() if c.available)
    while True:
        try:
            sweep_once(ctx, esets)
        except Exception as e:  # noqa: BLE001 - the broker may be restarting: try again next round
            log.warning("sweeper: %s: %s", type(e).__name__, e)
        if stop.wait(SWEEP_S):
            return


_STOP = threading.Event()


@signals.worker_ready.connect
def _start_sweeper(sender=None, **_):
    if sender is not None and sender.hostname.startswith("bench@"):
        threading.Thread(target=_sweeper, args=(_STOP,), daemon=True, name="btb-sweeper").start()


@signals.worker_shutting_down.connect
def _stop_sweeper(**_):
    _STOP.set()
