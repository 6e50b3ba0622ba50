"""The trial board on a real Redis: plan-ordered claiming, leases that lapse, fenced and keyed records."""

from __future__ import annotations

import time
import uuid

import pytest

from btb.results.samples import decode_block, encode_block
from btb.results.store import Ledger
from btb.trials.lifecycle import BadTransition
from btb.trials import fence
from btb.trials.board import LeaseLost, TrialBoard

pytestmark = pytest.mark.integration


def _campaign(board, n=4, eset=None):
    cid = f"st-{uuid.uuid4().hex[:6]}"
    eset = eset or f"test{uuid.uuid4().hex[:4]}"
    trials = [{"id": f"{cid}.t{i:03d}", "campaign_id": cid, "index": i, "scenario": "P1", "dataset": "d",
               "level": "unlimited", "level_rank": 0} for i in range(n)]
    board.add_trials(cid, trials, {t["id"]: eset for t in trials})
    return cid, eset, [t["id"] for t in trials]


def _board(settings) -> TrialBoard:
    """A board in a database of its own: the session's workers run a sweeper that reaps lapsed leases
    on the default database, and would race these tests."""
    return TrialBoard(settings.redis_url.rsplit("/", 1)[0] + "/6")


def test_claims_follow_plan_order_and_are_exclusive(redis_server):
    board = _board(redis_server)
    cid, eset, ids = _campaign(board)
    got = [board.claim(eset, f"n{i % 2}", ttl_s=30) for i in range(5)]
    assert [c.trial_id for c in got[:4]] == ids and got[4] is None
    assert all(c.attempt == 1 for c in got[:4])
    assert board.trial(ids[0])["status"] == "claimed" and board.trial(ids[1])["node"] == "n1"


def test_a_lapsed_lease_requeues_once_with_its_plan_score_then_errors(redis_server):
    board = _board(redis_server)
    cid, eset, ids = _campaign(board, n=2)
    first = board.claim(eset, "a", ttl_s=0.3)
    time.sleep(0.5)
    assert (ids[0], "requeued") in board.reap()
    again = board.claim(eset, "b", ttl_s=0.3)  # before t001: it keeps its place in the plan
    assert again.trial_id == ids[0] and again.attempt == 2
    with pytest.raises(LeaseLost):  # the first attempt is fenced out
        board.add_record(first, "run/Q1/b0/r0", {"kind": "run"})
    time.sleep(0.5)
    assert (ids[0], "error") in board.reap()
    assert board.trial(ids[0])["status"] == "error" and "re-run was already spent" in board.trial(ids[0])["message"]


def test_release_and_give_back_are_compare_and_set(redis_server):
    board = _board(redis_server)
    cid, eset, ids = _campaign(board, n=1)
    c = board.claim(eset, "a", ttl_s=30)
    forged = type(c)(c.trial_id, c.attempt, "someone-else")
    assert not board.release(forged) and board.holds(c)
    assert board.give_back(c, "drained")  # a drained node gives its trial back, not counted as an attempt
    assert board.trial(ids[0])["status"] == "queued" and board.trial(ids[0])["attempt"] == 0
    assert board.claim(eset, "b", ttl_s=30).attempt == 1


def test_records_are_written_once_under_the_lease(redis_server):
    board, ledger = _board(redis_server), Ledger(redis_server.redis_url.rsplit("/", 1)[0] + "/6")
    cid, eset, ids = _campaign(board, n=1)
    c = board.claim(eset, "a", ttl_s=30)
    assert board.add_record(c, "run/Q1/b0/r0", {"kind": "run", "seconds": 1.0})
    assert not board.add_record(c, "run/Q1/b0/r0", {"kind": "run", "seconds": 99.0})  # a retried write
    assert [r["seconds"] for r in ledger.records(cid, "run")] == [1.0]


def test_status_changes_follow_the_lifecycle(redis_server):
    board = _board(redis_server)
    cid, eset, ids = _campaign(board, n=1)
    board.set(ids[0], status="cancelled")
    with pytest.raises(BadTransition):
        board.set(ids[0], status="measuring")


def test_sample_blocks_round_trip_and_are_compact():
    rows = [{"target": "postgres", "source": "cgroup_v1", "peak_scope": "interval", "t": 1700000000.0 + i / 10,
             "mem_bytes": 100_000_000 + i * 4096, "mem_peak_bytes": None, "cpu_s": 1.5 + i / 100, "oom_kills": 0,
             "extra": {}} for i in range(10)]
    blob = encode_block(rows)
    back = decode_block(blob)
    assert back[3]["mem_bytes"] == rows[3]["mem_bytes"] and back[3]["t"] == rows[3]["t"]
    assert back[3]["mem_peak_bytes"] is None and back[3]["target"] == "postgres"
    assert len(blob) < 60 * len(rows)  # vs ~500 B per sample as JSON


def _zombie(board, eset):
    """Attempt 1 lapses, is reaped and re-claimed: the first claim is now a zombie's."""
    first = board.claim(eset, "a", ttl_s=0.3)
    time.sleep(0.5)
    assert board.reap()
    return first, board.claim(eset, "b", ttl_s=30)


def test_every_write_of_a_lost_attempt_is_refused_and_counted(redis_server):
    board, ledger = _board(redis_server), Ledger(redis_server.redis_url.rsplit("/", 1)[0] + "/6")
    cid, eset, ids = _campaign(board, n=1)
    zombie, rerun = _zombie(board, eset)
    assert rerun.trial_id == ids[0] and rerun.attempt == 2
    board.add_record(rerun, "run/Q1/b0/r0", {"kind": "run", "seconds": 1.0})
    board.push_samples(rerun, encode_block([{"target": "pg", "t": 1.0, "mem_bytes": 5}]), 1)
    board.set(ids[0], rerun, status="preparing")
    writes = {"records": lambda: board.add_record(zombie, "run/Q1/b0/r1", {"kind": "run"}),
              "samples": lambda: board.push_samples(zombie, encode_block([{"target": "pg", "t": 2.0}]), 1),
              "status": lambda: board.set(ids[0], zombie, status="completed"),
              "fields": lambda: board.set(ids[0], zombie, resources="complete"),
              "counters": lambda: board.incr(zombie, "batches_done"),
              "drops": lambda: board.drop_records(ids[0], zombie)}
    for write in writes.values():
        with pytest.raises(LeaseLost):
            write()
    t = board.trial(ids[0])
    assert fence.refused(t) == {k: 1 for k in writes}
    assert t["status"] == "preparing" and "resources" not in t and t["monitor_samples"] == 1
    assert [r["seconds"] for r in ledger.records(cid, "run")] == [1.0] and len(ledger.samples(ids[0])) == 1
    with pytest.raises(LeaseLost):  # nor may anyone drop the records of a trial someone holds
        board.drop_records(ids[0])
    assert board.drop_records(ids[0], rerun) == 1 and ledger.samples(ids[0]) == []


def test_a_status_is_compare_and_set_on_the_status_it_was_checked_against(redis_server):
    board = _board(redis_server)
    cid, eset, ids = _campaign(board, n=1)
    c = board.claim(eset, "a", ttl_s=30)
    script = board._fenced_set
    # the lease holds but the status moved since it was read: the write does not happen
    assert script(keys=[f"btb:lease:{ids[0]}", f"btb:trial:{ids[0]}"],
                  args=[c.token, "status", '"measuring"', "status", '"completed"']) == -2
    assert board.trial(ids[0])["status"] == "claimed"
    board.set(ids[0], c, status="preparing")
    assert board.trial(ids[0])["status"] == "preparing"


def test_a_lapsed_lease_of_an_ended_trial_does_not_requeue_it(redis_server):
    board = _board(redis_server)
    cid, eset, ids = _campaign(board, n=1)
    c = board.claim(eset, "a", ttl_s=0.4)
    board.set(ids[0], c, status="completed")  # ended, then the worker died before releasing its lease
    time.sleep(0.6)
    assert ids[0] not in dict(board.reap()) and ids[0] not in board.running()
    assert board.trial(ids[0])["status"] == "completed"
