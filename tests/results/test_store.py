"""The ledger on a real Redis: records are written once, whatever happens to the task that writes them."""

from __future__ import annotations

import uuid

import pytest

from btb.results.store import Ledger

pytestmark = pytest.mark.integration


@pytest.fixture
def ledger(redis_server):
    return Ledger(redis_server.redis_url)


def test_records_are_append_only_and_keyed(ledger):
    cid = f"t-{uuid.uuid4().hex[:6]}"
    ledger.create_campaign(cid, {"name": "t"}, [{"id": f"{cid}.t000", "scenario": "P1"}], {})
    assert ledger.add(cid, "a/run/1", {"kind": "run", "seconds": 1.0})
    # a redelivered task writes the same key again: refused, first value kept
    assert not ledger.add(cid, "a/run/1", {"kind": "run", "seconds": 99.0})
    assert ledger.add(cid, "a/run/2", {"kind": "run", "seconds": 2.0})
    recs = ledger.records(cid, "run")
    assert [r["seconds"] for r in recs] == [1.0, 2.0]
    assert ledger.trials(cid)[f"{cid}.t000"]["status"] == "queued"
    ledger.update_trial(cid, f"{cid}.t000", status="measuring")
    assert ledger.trials(cid)[f"{cid}.t000"]["status"] == "measuring"
    assert ledger.latest_campaign() == cid


def test_node_lock_is_exclusive_and_reentrant(ledger):
    node = f"n-{uuid.uuid4().hex[:6]}"
    assert ledger.acquire_node(node, "trial-a", ttl_s=60)
    assert ledger.acquire_node(node, "trial-a", ttl_s=60)  # redelivered task of the same trial
    assert not ledger.acquire_node(node, "trial-b", ttl_s=60)
    ledger.release_node(node, "trial-b")  # not the holder: no effect
    assert ledger.node_trial(node) == "trial-a"
    ledger.release_node(node, "trial-a")
    assert ledger.acquire_node(node, "trial-b", ttl_s=60)
