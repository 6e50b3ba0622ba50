"""Celery tasks: thin shells over `btb.workflow.runner` and `btb.results.aggregate`.

Routing (DESIGN §7): dataset tasks on `dataset`; a trial's ingest on its engine queue (any node that can
run that engine takes it); the trial's query batches and teardown on the node-own queue of whichever
node ingested it (the engine holds the data there); sampling on `monitor.<node>`; reduction on
`aggregate`. A node runs one trial at a time: an ingest that finds its node busy is re-queued.
"""

from __future__ import annotations

from celery import chain, group
from celery.utils.log import get_task_logger

from btb.campaign import Campaign, Trial
from btb.config import get_settings
from btb.workflow import runner
from btb.workflow.app import QUEUE_AGGREGATE, QUEUE_DATASET, app, monitor_queue, node_queue

log = get_task_logger(__name__)
MONITOR_HZ = 10.0


def _ctx() -> runner.NodeContext:
    return runner.NodeContext.from_settings(get_settings())


def _campaign(ctx: runner.NodeContext, campaign_id: str) -> Campaign:
    c = ctx.ledger.campaign(campaign_id)
    if c is None:
        raise RuntimeError(f"campaign {campaign_id} is not in the ledger")
    return Campaign.model_validate(c["spec"])


def engine_queue(scenario_id: str) -> str:
    """Queue of a scenario's first engine kind: nodes subscribe to the engines they can run."""
    from btb.engines.registry import scenario_class

    return scenario_class(scenario_id).engines[0]


def _end_trial(ctx: runner.NodeContext, trial: Trial, status: str, message: str) -> None:
    """A trial that ends before its batches (skipped, failed to provision): say why, stop its monitor,
    free the node, refresh the summary."""
    ctx.ledger.update_trial(trial.campaign_id, trial.id, status=status, message=message[:1000])
    ctx.ledger.set_flag(f"stop:{trial.id}", ttl_s=7 * 24 * 3600)
    ctx.ledger.release_node(ctx.node, trial.id)
    aggregate_task.apply_async(args=[trial.campaign_id], queue=QUEUE_AGGREGATE)


@app.task(name="btb.dataset", bind=True)
def dataset_task(self, campaign_id: str, profile: str, seed: int) -> dict:
    ctx = _ctx()
    try:
        return runner.prepare_dataset(ctx, campaign_id, profile, seed)
    except Exception as e:
        # the chained ingests will never run: their trials end here, visibly, instead of waiting forever
        for tid, t in ctx.ledger.trials(campaign_id).items():
            if t["dataset"] == f"{profile}-s{seed}" and t.get("status") == "queued":
                ctx.ledger.update_trial(campaign_id, tid, status="error",
                                        message=f"dataset {profile} seed {seed}: {type(e).__name__}: {e}"[:1000])
        aggregate_task.apply_async(args=[campaign_id], queue=QUEUE_AGGREGATE)
        raise


@app.task(name="btb.ingest", bind=True, max_retries=None)
def ingest_task(self, dataset_result: dict | None, trial_d: dict) -> dict:
    ctx = _ctx()
    trial = Trial.from_dict(trial_d)
    s = ctx.settings
    if not ctx.ledger.acquire_node(ctx.node, trial.id, ttl_s=s.visibility_timeout_s):
        # another trial holds this node's engines: hand this one back so a free node can take it
        raise self.retry(countdown=3)
    campaign = _campaign(ctx, trial.campaign_id)
    skip = runner.plateau_skip(ctx, trial, campaign)
    if skip:
        _end_trial(ctx, trial, "skipped", skip)
        return {"status": "skipped", "message": skip}
    fingerprint = (dataset_result or {}).get("fingerprint")

    def start_monitor(targets: list[dict]) -> None:
        monitor_task.apply_async(args=[trial.id, targets, MONITOR_HZ], queue=monitor_queue(ctx.node))

    try:
        out = runner.ingest(ctx, trial, campaign, fingerprint, on_engines=start_monitor)
    except Exception as e:
        ctx.provider.stop()
        _end_trial(ctx, trial, "error", f"{type(e).__name__}: {e}")
        raise
    q = node_queue(ctx.node)
    steps = [query_batch_task.si(trial_d, qid).set(queue=q) for qid in campaign.query_ids]
    chain(*steps, finish_trial_task.si(trial_d).set(queue=q)).apply_async()
    return out


@app.task(name="btb.query_batch", bind=True)
def query_batch_task(self, trial_d: dict, qid: str) -> dict:
    ctx = _ctx()
    trial = Trial.from_dict(trial_d)
    return runner.run_batch(ctx, trial, _campaign(ctx, trial.campaign_id), qid)


@app.task(name="btb.finish_trial", bind=True)
def finish_trial_task(self, trial_d: dict) -> dict:
    ctx = _ctx()
    trial = Trial.from_dict(trial_d)
    out = runner.finish(ctx, trial)
    aggregate_task.apply_async(args=[trial.campaign_id], queue=QUEUE_AGGREGATE)
    return out


@app.task(name="btb.monitor", bind=True)
def monitor_task(self, trial_id: str, targets: list[dict], hz: float = MONITOR_HZ) -> dict:
    ctx = _ctx()
    return runner.monitor(ctx, trial_id, targets, hz, max_seconds=ctx.settings.visibility_timeout_s)


@app.task(name="btb.aggregate", bind=True)
def aggregate_task(self, campaign_id: str) -> dict:
    from btb.results.aggregate import aggregate_campaign

    summary = aggregate_campaign(_ctx().ledger, campaign_id)
    return {"campaign": campaign_id, "rows": len(summary["rows"]), "status": summary["status"]}


def enqueue_campaign(campaign: Campaign, trials: list[Trial]) -> None:
    """Coordinator side: per dataset, one dataset task chained into the ingests of its trials."""
    by_ds: dict[str, list[Trial]] = {}
    for t in trials:
        by_ds.setdefault(t.dataset, []).append(t)
    for ds in campaign.datasets:
        ts = by_ds.get(ds.key, [])
        ds_sig = dataset_task.si(trials[0].campaign_id, ds.profile, ds.seed).set(queue=QUEUE_DATASET)
        ingests = [ingest_task.s(t.to_dict()).set(queue=engine_queue(t.scenario)) for t in ts]
        chain(ds_sig, group(ingests)).apply_async(ignore_result=True)  # results live in the ledger
