"""A trial always ends visibly: a dataset that cannot be prepared, or an engine OOM-killed in the middle
of a query batch, end the trial (error / oom) within seconds, and the node takes the next trial."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid

import pytest
from btbtest import background_campaign, campaign_id, hungry_query, wait_until, write_campaign

from btb.campaign import Campaign, plan
from btb.results.store import Ledger
from btb.workflow.attempt import NodeContext
from btb.workflow.runner import run_trial
from btb.trials.board import TrialBoard

pytestmark = pytest.mark.integration


def test_a_dataset_that_cannot_be_made_ends_its_trial_with_error(redis_server):
    s = redis_server
    ctx = NodeContext.from_settings(s, node=f"n{uuid.uuid4().hex[:4]}")
    camp = Campaign.model_validate({"name": "ds", "datasets": [{"profile": "tiny-1d", "seed": 3}],
                                    "scenarios": ["P1"]})
    cid = f"ds-{uuid.uuid4().hex[:6]}"
    trials = [t.to_dict() | {"seed": -1} for t in plan(camp, cid)]  # the generator refuses seed -1
    ctx.ledger.create_campaign(cid, camp.model_dump(mode="json", by_alias=True), len(trials), {})
    eset = f"none{uuid.uuid4().hex[:4]}"
    ctx.board.add_trials(cid, trials, {t["id"]: eset for t in trials})
    out = run_trial(ctx, ctx.board.claim(eset, ctx.node, ttl_s=30))
    t = ctx.board.trial(trials[0]["id"])
    assert out["status"] == "error" == t["status"] and "seed" in t["message"], t
    assert not ctx.board.running() or trials[0]["id"] not in ctx.board.running()  # lease released


def test_engine_oom_killed_mid_batch_ends_the_trial_oom_and_the_campaign_goes_on(workers, tmp_path):
    s = workers
    board, ledger = TrialBoard(s.redis_url), Ledger(s.redis_url)
    camp = write_campaign(tmp_path, """
name: om
datasets: [{profile: tiny-1d, seed: 5}]
scenarios: [P1]
memory: {levels: [256MiB, unlimited]}
protocol: {warmups: 0, runs: 2000, timeout_s: 30, bindings: 1, validate: false}
queries: [Q7, Q12]
""")
    p, cid, tid = background_campaign(camp, tmp_path, ledger, "om")
    wait_until(lambda: board.trial(tid).get("status") == "measuring" and len(ledger.trial_records(tid, "run")) >= 5,
               120, "the 256 MiB trial to measure")
    from btb.infra.factory import make_provider

    from btb.campaign import Trial as _Trial
    from btb.workflow.attempt import load_id

    endpoints = make_provider(s, s.node).current(load_id(_Trial.from_dict(board.trial(tid))))
    hog = threading.Thread(target=hungry_query, args=(endpoints["postgres"].dsn,), daemon=True)
    hog.start()
    t_fault = time.monotonic()
    try:
        try:
            wait_until(lambda: board.trial(tid).get("status") == "oom", 60, "the trial to end oom")
        except AssertionError:
            runs = ledger.trial_records(tid, "run")
            raise AssertionError(f"trial={board.trial(tid)} statuses={[r['status'] for r in runs][-5:]} n={len(runs)}")
        took = time.monotonic() - t_fault
    finally:
        hog.join(timeout=60)
    assert p.wait(timeout=300) in (0, 1), (tmp_path / "submit.err").read_text()[-2000:]
    t = board.trial(tid)
    assert "oom_kill" in t["message"] and took < 30, (t, took)
    runs = ledger.trial_records(tid, "run")
    assert any(r["status"] == "oom" for r in runs) and len(runs) < 2 * 2000  # it stopped mid-batch
    nxt = board.trial(f"{cid}.t001")
    assert nxt["status"] == "completed", nxt  # the node took the next trial
    summary = json.loads((tmp_path / "results" / cid / "summary.json").read_text())
    assert summary["status"] == "done" and summary["minimum_viable"][0]["minimum_viable_level"] == "unlimited"
    assert os.path.exists(tmp_path / "results" / cid / "records.jsonl")
    assert campaign_id(f"campaign {cid}: 2 trial(s)") == cid


def test_a_trial_refuses_a_corrupted_dataset_by_name(redis_server):
    """4 KiB corrupted in a series file at the same size: the trial ends error naming the file; nothing is
    measured on it and it is not silently regenerated."""
    from btb.dataset.format import series_files
    from btb.dataset.generator import ensure_dataset

    s = redis_server
    ds = ensure_dataset("tiny-1d", 9, s.datasets_dir)
    f = series_files(ds)[0]
    data = bytearray(f.read_bytes())
    at = len(data) // 2 // 4096 * 4096
    data[at:at + 4096] = bytes(b ^ 0x5A for b in data[at:at + 4096])
    f.write_bytes(bytes(data))
    ctx = NodeContext.from_settings(s, node=f"n{uuid.uuid4().hex[:4]}")
    camp = Campaign.model_validate({"name": "bad", "datasets": [{"profile": "tiny-1d", "seed": 9}], "scenarios": ["P1"]})
    cid = f"bad-{uuid.uuid4().hex[:6]}"
    trials = [t.to_dict() for t in plan(camp, cid)]
    ctx.ledger.create_campaign(cid, camp.model_dump(mode="json", by_alias=True), len(trials), {})
    eset = f"none{uuid.uuid4().hex[:4]}"
    ctx.board.add_trials(cid, trials, {t["id"]: eset for t in trials})
    run_trial(ctx, ctx.board.claim(eset, ctx.node, ttl_s=30))
    t = ctx.board.trial(trials[0]["id"])
    assert t["status"] == "error" and f.name in t["message"], t
    assert not ctx.ledger.trial_records(trials[0]["id"], "run")
    assert f.read_bytes() == bytes(data)  # refused, not regenerated behind the user's back


def test_a_level_whose_answers_differ_from_the_validated_load_ends_invalid(redis_server):
    """Every level's answers are held to the row counts the load's oracle gate accepted: a level whose
    engines answer differently (here: the load's record of a validated answer changed between two levels,
    as a level with answer-changing settings would) ends `invalid`, its runs say why, and nothing is
    summarised as a latency of a wrong answer."""
    from btb.campaign import Trial
    from btb.workflow.attempt import load_id

    s = redis_server
    ctx = NodeContext.from_settings(s, node=f"n{uuid.uuid4().hex[:4]}")
    camp = Campaign.model_validate({"name": "drift", "datasets": [{"profile": "tiny-1d", "seed": 3}],
                                    "scenarios": ["P1"], "queries": ["Q3"],
                                    "memory": {"levels": ["unlimited", "512MiB"]},
                                    "protocol": {"warmups": 0, "runs": 2, "bindings": 2, "cold": False}})
    cid = f"drift-{uuid.uuid4().hex[:6]}"
    trials = [t.to_dict() for t in plan(camp, cid)]
    ctx.ledger.create_campaign(cid, camp.model_dump(mode="json", by_alias=True), len(trials), {})
    eset = f"p{uuid.uuid4().hex[:4]}"
    ctx.board.add_trials(cid, trials, {t["id"]: eset for t in trials})
    try:
        first = run_trial(ctx, ctx.board.claim(eset, ctx.node, ttl_s=30))
        assert first["status"] == "completed", ctx.board.trial(trials[0]["id"])
        key = f"btb:load:{ctx.node}:{load_id(Trial.from_dict(trials[0]))}"
        rows = json.loads(ctx.board.r.hget(key, "rows"))
        assert set(rows) == {"Q3/0", "Q3/1"} and all(n > 0 for n in rows.values()), rows
        ctx.board.r.hset(key, "rows", json.dumps({**rows, "Q3/1": rows["Q3/1"] + 1}))
        second = run_trial(ctx, ctx.board.claim(eset, ctx.node, ttl_s=30))
        t = ctx.board.trial(trials[1]["id"])
        assert second["status"] == "invalid" == t["status"] and "answered differently" in t["message"], t
        runs = ctx.ledger.trial_records(trials[1]["id"], "run")
        assert {r["binding"]: r["status"] for r in runs} == {0: "ok", 1: "invalid"}, runs
        assert all("validated at load" in r["message"] for r in runs if r["binding"] == 1)
    finally:
        from btb.infra.factory import make_provider

        make_provider(s, ctx.node).stop(load_id(Trial.from_dict(trials[0])))
