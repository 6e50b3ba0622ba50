"""Answers after the write workload, in a campaign: a trial that ran live ingest beside its load steps holds
its store, after the last step, to the oracle updated with what the steps committed (every query × binding,
windows stretched over the appends, and the sample count); a difference ends the level `invalid` saying what
changed. A load that took writes is not reused: the next level loads afresh and runs the gate again."""

from __future__ import annotations

import json

import psycopg
import pytest
from btbtest import background_campaign, campaign_id, wait_until

from btb.infra.factory import make_provider
from btb.results.store import Ledger
from btb.trials.board import TrialBoard

pytestmark = pytest.mark.integration


def _campaign(path, out, name: str, levels: str, duration_s: float) -> None:
    path.write_text(f"""
name: {name}
datasets: [{{profile: tiny-1d, seed: 5}}]
scenarios: [P1]
memory: {{levels: {levels}}}
protocol: {{timeout_s: 30, bindings: 2}}
workload:
  read: mix
  mix: {{clients: [], rate: [4], open_clients: 4}}
  load: {{burn_in_s: 1, duration_s: {duration_s}, drain_s: 3}}
  ingest: {{speedup: 600, batch_interval_s: 0.5, metadata_share: 0.05}}
  seed: 3
output_dir: {out}
""")


def test_every_level_is_checked_against_the_updated_oracle_and_loads_afresh(workers, btb_cli, tmp_path):
    s = workers
    ledger = Ledger(s.redis_url)
    out = tmp_path / "results"
    camp = tmp_path / "w.yaml"
    _campaign(camp, out, "writecheck", "[unlimited, 1GiB]", 4)
    r = btb_cli("submit", camp, "--wait")
    cid = campaign_id(r.stdout)
    assert ", 0 failed" in r.stdout, r.stdout
    summary = json.loads((out / cid / "summary.json").read_text())
    assert {t["status"] for t in summary["trials"].values()} == {"completed"}, summary["trials"]
    for tid in (f"{cid}.t000", f"{cid}.t001"):
        gate = ledger.trial_records(tid, "validation")
        assert gate, f"{tid}: no gate of its own (the written load was reused)"
        (ing,) = ledger.trial_records(tid, "ingest_step")
        assert ing["status"] == "ok" and ing["batches"] > 0, ing
        (check,) = ledger.trial_records(tid, "store_check")
        assert check["after_writes"] and check["status"] == "ok", check
        # the check judged the store with the appends: the samples it expects are the dataset's plus these
        assert check["appended_samples"] > 0 and check["counts"]["samples"] == (
            summary_samples(ledger, tid) + check["appended_samples"])
        # every query × binding the gate checked is checked again (Q5 has one binding: 25)
        assert sorted(check["answers_sampled"]) == sorted(f"{g['query']}#{g['binding']}" for g in gate), check
        assert not check["answers_changed"] and not check["answers_not_checked"], check
    records = [json.loads(x) for x in (out / cid / "records.jsonl").read_text().splitlines()]
    assert sorted(x["trial"] for x in records if x["kind"] == "store_check") == [f"{cid}.t000", f"{cid}.t001"]


def summary_samples(ledger: Ledger, tid: str) -> int:
    (ds,) = ledger.trial_records(tid, "dataset")
    return int(ds["counts"]["samples"])


def test_a_store_changed_beside_the_writes_ends_the_level_invalid_saying_what(workers, tmp_path):
    s = workers
    board, ledger = TrialBoard(s.redis_url), Ledger(s.redis_url)
    camp = tmp_path / "drift.yaml"
    _campaign(camp, tmp_path / "results", "writedrift", "[unlimited]", 20)
    p, cid, tid = background_campaign(camp, tmp_path, ledger, "writedrift")
    wait_until(lambda: board.trial(tid).get("load_step"), 300, "the load step to start")
    gate = next(g for g in ledger.trial_records(tid, "validation") if g["query"] == "Q6" and g["binding"] == 0)
    eps = make_provider(s, s.node).current(f"load~{cid}~{board.trial(tid)['dataset']}~P1")
    with psycopg.connect(eps["postgres"].dsn, autocommit=True) as conn:  # a value changed and a sample added
        pid = conn.execute("SELECT idx FROM points WHERE id = %s", (gate["params"]["point"],)).fetchone()[0]
        n = conn.execute("UPDATE ts SET value = value + 100 WHERE point_id = %s AND time < %s",
                         (pid, gate["params"]["end"])).rowcount
        # one microsecond after the point's first sample: inside an existing partition (native partitions have
        # none outside the data's days), at a time no generated or appended sample has
        conn.execute("INSERT INTO ts (point_id, time, value) SELECT point_id, min(time) + interval '1 microsecond', 1 "
                     "FROM ts WHERE point_id = %s GROUP BY point_id", (pid,))
    assert n > 0
    assert p.wait(timeout=600) in (0, 1), (tmp_path / "submit.err").read_text()[-2000:]
    t = board.trial(tid)
    assert t["status"] == "invalid", t
    assert t["message"].startswith("after the write workload: samples "), t["message"]
    assert "answers of Q6#0" in t["message"] and "differ from the oracle updated with the writes" in t["message"]
    (check,) = ledger.trial_records(tid, "store_check")
    assert check["after_writes"] and check["status"] == "changed" and "Q6#0" in check["answers_changed"], check
    want, got = check["counts_changed"]["samples"]
    assert got == want + 1, check["counts_changed"]  # exactly the one row written behind the workload's back
    (ing,) = ledger.trial_records(tid, "ingest_step")
    assert ing["status"] == "ok" and ing["batches"] > 0  # the workload's own writes were all committed
