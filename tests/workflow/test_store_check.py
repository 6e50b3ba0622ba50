"""A store changed under a running trial (by the engine's owner, keeping every row count) ends the level
`invalid`, saying what changed: the store's fingerprint is taken again after the last run."""

from __future__ import annotations

import psycopg
import pytest
from btbtest import background_campaign, wait_until, write_campaign

from btb.infra.factory import make_provider
from btb.results.store import Ledger
from btb.trials.board import TrialBoard

pytestmark = pytest.mark.integration


def test_a_store_changed_under_a_trial_ends_it_invalid_with_the_reason(workers, tmp_path):
    s = workers
    board, ledger = TrialBoard(s.redis_url), Ledger(s.redis_url)
    camp = write_campaign(tmp_path, """
name: storedrift
datasets: [{profile: tiny-1d, seed: 5}]
scenarios: [P1]
memory: {levels: [unlimited]}
protocol: {warmups: 0, runs: 200, timeout_s: 30, bindings: 1, validate: true}
queries: [Q6]
""")
    p, cid, tid = background_campaign(camp, tmp_path, ledger, "storedrift")
    wait_until(lambda: board.trial(tid).get("status") == "measuring" and len(ledger.trial_records(tid, "run")) >= 5,
               300, "the trial to measure")
    (gate,) = ledger.trial_records(tid, "validation")
    assert gate["match"], gate
    eps = make_provider(s, s.node).current(f"load~{cid}~{board.trial(tid)['dataset']}~P1")
    with psycopg.connect(eps["postgres"].dsn, autocommit=True) as conn:  # every count stays as it was
        n = conn.execute("UPDATE ts SET value = value + 100 WHERE point_id = (SELECT idx FROM points WHERE id = %s)",
                         (gate["params"]["point"],)).rowcount
    assert n > 0
    assert p.wait(timeout=600) in (0, 1), (tmp_path / "submit.err").read_text()[-2000:]
    t = board.trial(tid)
    assert t["status"] == "invalid", t
    assert t["message"].startswith("the store changed under the trial (after its last run): answers of Q6#0 "
                                   "differ from the oracle"), t["message"]
    (check,) = ledger.trial_records(tid, "store_check")
    assert check["status"] == "changed" and check["counts_changed"] == {} and list(check["answers_changed"]) == ["Q6#0"]
    runs = [r for r in ledger.trial_records(tid, "run") if not r["cold"]]
    assert len(runs) == 200 and all(r["status"] == "ok" for r in runs)  # the runs alone could not tell
