"""Plateau stop: a level is skipped only when the two levels below it completed and more memory did not
improve any query's median beyond noise (records in a real Redis ledger)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from btb.campaign import Campaign, plan
from btb.results.aggregate import summarize_trial
from btb.results.store import Ledger
from btb.workflow.attempt import NodeContext, plateau_skip
from btb.trials.board import TrialBoard

pytestmark = pytest.mark.integration


def _setup(settings, lat_by_rank: dict[int, float], plateau_stop=True):
    ledger, board = Ledger(settings.redis_url), TrialBoard(settings.redis_url)
    camp = Campaign.model_validate({
        "name": "p", "datasets": [{"profile": "tiny-1d", "seed": 1}], "scenarios": ["P1"], "queries": ["Q6"],
        "memory": {"levels": ["64MiB", "128MiB", "256MiB"], "plateau_stop": plateau_stop}})
    cid = f"p-{uuid.uuid4().hex[:6]}"
    trials = plan(camp, cid)
    ledger.create_campaign(cid, camp.model_dump(mode="json", by_alias=True), len(trials), {})
    board.add_trials(cid, [t.to_dict() for t in trials], {t.id: f"x{cid}" for t in trials})
    rng = np.random.default_rng(3)
    for t in trials[:2]:
        board.r.hset(f"btb:trial:{t.id}", "status", '"completed"')
        runs = [{"kind": "run", "trial": t.id, "query": "Q6", "warmup": False, "status": "ok", "seconds": float(x)}
                for x in rng.normal(lat_by_rank[t.level_rank], 0.001, size=20)]
        ledger.put_trial_summary(t.id, summarize_trial(board.trial(t.id), runs, []))  # as `finish` reduces it
    return NodeContext(settings, "n", ledger, board, provider=None), camp, trials[2]


def test_flat_medians_skip_the_next_level(redis_server):
    ctx, camp, third = _setup(redis_server, {0: 0.050, 1: 0.050})
    reason = plateau_skip(ctx, third, camp)
    assert reason and "64MiB" in reason and "128MiB" in reason


def test_improving_medians_keep_climbing(redis_server):
    ctx, camp, third = _setup(redis_server, {0: 0.080, 1: 0.040})
    assert plateau_skip(ctx, third, camp) is None


def test_off_by_default(redis_server):
    ctx, camp, third = _setup(redis_server, {0: 0.050, 1: 0.050}, plateau_stop=False)
    assert plateau_skip(ctx, third, camp) is None
