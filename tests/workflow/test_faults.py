"""Faults injected into a running campaign, on the real stack (Redis, Celery workers, PostgreSQL in
cgroups): whatever dies, every trial ends (re-run once, or with a visible status), the campaign
completes, and no run record is lost or duplicated (counted per trial × query × binding)."""

from __future__ import annotations

import json
import os
import signal
import time

import psutil
import pytest
from btbtest import background_campaign, run_counts, wait_until, write_campaign

from btb.infra import stack
from btb.results.store import Ledger
from btb.trials.lifecycle import FINAL_VALUES
from btb.trials.board import TrialBoard

pytestmark = pytest.mark.integration
RUNS, BINDINGS = 40, 2


def _campaign_file(tmp_path, name: str, levels: str = "[unlimited]", queries: str = "[Q7, Q12]") -> os.PathLike:
    camp = tmp_path / f"{name}.yaml"
    camp.write_text(f"""
name: {name}
datasets: [{{profile: tiny-1d, seed: 5}}]
scenarios: [P1]
memory: {{levels: {levels}}}
protocol: {{warmups: 0, runs: {RUNS}, timeout_s: 30, bindings: {BINDINGS}, validate: false}}
queries: {queries}
output_dir: {tmp_path / 'results'}
""")
    return camp


def _pids(s, role: str) -> list[int]:
    pid = int((s.state_dir / "run" / f"worker-{role}-{s.node}.pid").read_text())
    try:
        return [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return [pid]


def _kill_all(pids: list[int]) -> None:
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _postmaster(board, tid) -> psutil.Process:
    t = board.trial(tid)
    return psutil.Process(t["targets"][0]["pids"][0])


def _backends(board, tid) -> list[psutil.Process]:
    return [c for c in _postmaster(board, tid).children() if " btb " in " ".join(c.cmdline()) + " "]


def _kill_main_worker(s, board, tid):
    _kill_all(_pids(s, "bench"))  # the whole worker, as when its node dies
    time.sleep(1)
    stack.start_workers(s, s.node)


def _kill_redis(s, board, tid):
    pid = int((s.state_dir / "run" / "redis.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    time.sleep(2)
    stack.start_redis(s)


def _kill_postmaster(s, board, tid):
    _postmaster(board, tid).kill()


def _kill_backend(s, board, tid):
    for b in _backends(board, tid):  # what the kernel's OOM killer does to one backend
        b.kill()


def _kill_monitor(s, board, tid):
    _kill_all(_pids(s, "monitor"))
    time.sleep(1)
    stack.start_workers(s, s.node)


def _down_up(s, board, tid, btb_cli=None):
    btb_cli("down")
    btb_cli("up")  # Flower too: later tests use it


FAULTS = {"main-process": _kill_main_worker, "redis": _kill_redis, "postmaster": _kill_postmaster,
          "backend": _kill_backend, "monitor": _kill_monitor, "down-up": _down_up}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_mid_trial_loses_and_duplicates_nothing(fault, workers, btb_cli, tmp_path):
    s = workers
    board, ledger = TrialBoard(s.redis_url), Ledger(s.redis_url)
    name = f"f{list(FAULTS).index(fault)}"
    p, cid, tid = background_campaign(_campaign_file(tmp_path, name), tmp_path, ledger, name)
    wait_until(lambda: board.trial(tid).get("status") == "measuring"
               and sum(1 for r in ledger.trial_records(tid, "run") if r["query"] == "Q7") >= 3,
               120, "the trial to measure")
    kw = {"btb_cli": btb_cli} if fault == "down-up" else {}
    FAULTS[fault](s, board, tid, **kw)
    assert p.wait(timeout=300) in (0, 1), (tmp_path / "submit.err").read_text()[-2000:]
    t = board.trial(tid)
    assert t["status"] in FINAL_VALUES, t
    counts = run_counts(ledger, cid)
    # every run once: RUNS measured per binding, plus the query's cold run on its first binding
    assert counts == {(tid, q, b): RUNS + (b == 0) for q in ("Q7", "Q12") for b in range(BINDINGS)}, counts
    if fault == "main-process":
        assert t["attempt"] == 2 and t["status"] == "completed", t  # re-run once, elsewhere or here
    elif fault in ("redis", "down-up"):
        assert t["status"] == "completed", t
    elif fault in ("postmaster", "backend"):
        assert t["status"] in ("completed", "completed-with-errors"), t
    elif fault == "monitor":
        assert t["status"] == "completed" and t["resources"].startswith("incomplete"), t
    assert ledger.summary(cid)["status"] == "done"


def _pool_children(s, role: str) -> list[psutil.Process]:
    """The worker's pool processes (where tasks run), not the engines they started."""
    main = psutil.Process(int((s.state_dir / "run" / f"worker-{role}-{s.node}.pid").read_text()))
    return [c for c in main.children() if "celery" in " ".join(c.cmdline()) or "btb" in " ".join(c.cmdline())]


def test_a_paused_attempt_past_its_lease_has_every_later_write_refused_and_counted(workers, tmp_path):
    """SIGSTOP the attempt (its bench and monitor processes) until its lease lapses and the trial is queued
    again, then SIGCONT: the woken attempt's records, samples and final status are refused by the fence and
    counted in the trial; the re-run measures every run once."""
    s = workers
    board, ledger = TrialBoard(s.redis_url), Ledger(s.redis_url)
    p, cid, tid = background_campaign(_campaign_file(tmp_path, "fstop"), tmp_path, ledger, "fstop")
    wait_until(lambda: board.trial(tid).get("status") == "measuring"
               and sum(1 for r in ledger.trial_records(tid, "run") if r["query"] == "Q7") >= 3,
               120, "the trial to measure")
    paused = _pool_children(s, "bench") + _pool_children(s, "monitor")
    assert len(paused) >= 2, paused
    for proc in paused:
        proc.send_signal(signal.SIGSTOP)
    try:
        wait_until(lambda: board.trial(tid).get("status") == "queued", 60, "the lapsed lease to be reaped")
    finally:
        for proc in paused:
            proc.send_signal(signal.SIGCONT)
    assert p.wait(timeout=300) in (0, 1), (tmp_path / "submit.err").read_text()[-2000:]
    t = board.trial(tid)
    assert t["status"] == "completed" and t["attempt"] == 2, t
    refused = {k: int(t.get(f"refused_{k}", 0)) for k in ("records", "samples", "status")}
    assert all(v >= 1 for v in refused.values()), refused  # each kind the woken attempt tried was refused
    assert run_counts(ledger, cid) == {(tid, q, b): RUNS + (b == 0) for q in ("Q7", "Q12") for b in range(BINDINGS)}
    # of attempt 1 only what belongs to the load it made (the re-run reuses it): restored, marked
    stale = [(r["record_id"], r.get("restored_by_attempt")) for r in ledger.trial_records(tid) if r["attempt"] != 2]
    assert stale == [("ingest", 2)], stale
    summary = ledger.summary(cid)
    (ing,) = summary["ingest"]  # restored, with the peak its load kept (attempt 1's samples are dropped)
    assert ing["res_peak_bytes"] > 0 and ing["res_n_samples"] > 0 and ing["res_kept_by_load"], ing
    (rec,) = ledger.trial_records(tid, "ingest")
    assert not [x for x in ledger.samples(tid) if rec["t_start"] <= x["t"] <= rec["t_end"]]  # so only the load had it
    assert summary["trials"][tid]["refused_writes"]["status"] >= 1, summary["trials"][tid]


@pytest.fixture
def supervised(workers):
    """The node's worker supervisor, as `btb up` starts it (it adopts the session's live workers)."""
    s = workers
    assert stack.start_supervisor(s, s.node) in ("started", "restarted")
    yield s
    stack.stop_pidfiles(s, "supervisor.pid")


def test_a_lost_loading_attempt_keeps_its_check_and_a_dead_worker_is_replaced(supervised, tmp_path):
    """SIGKILL of the bench worker's child during a hybrid's first (loading) trial, then of the worker
    main: nobody runs `btb up`, the supervisor starts the worker again, the re-run reuses the load with
    the load's answer check written back, every scenario is validated, no run lost or duplicated."""
    s = supervised
    board, ledger = TrialBoard(s.redis_url), Ledger(s.redis_url)
    camp = write_campaign(tmp_path, """
name: fload
datasets: [{profile: tiny-1d, seed: 5}]
scenarios: [F2]
memory: {levels: [2GiB, unlimited]}
protocol: {warmups: 0, runs: 30, timeout_s: 30, bindings: 1, validate: true}
queries: [Q2, Q7]
""")
    p, cid, tid = background_campaign(camp, tmp_path, ledger, "fload")
    wait_until(lambda: board.trial(tid).get("status") == "measuring" and len(ledger.trial_records(tid, "run")) >= 3,
               300, "the loading trial to measure")
    assert ledger.trial_records(tid, "validation") and ledger.trial_records(tid, "ingest")
    main = psutil.Process(int((s.state_dir / "run" / f"worker-bench-{s.node}.pid").read_text()))
    for child in _pool_children(s, "bench"):
        child.kill()
    time.sleep(1)
    main.kill()  # the worker main too: only the supervisor can bring the node back
    wait_until(lambda: not psutil.pid_exists(main.pid) or main.status() == psutil.STATUS_ZOMBIE, 10, "main to die")
    assert p.wait(timeout=600) in (0, 1), (tmp_path / "submit.err").read_text()[-2000:]
    trials = board.trials(cid)
    assert {t["status"] for t in trials.values()} == {"completed"}, trials
    t = trials[tid]
    assert t["attempt"] == 2 and t.get("load_records_restored", 0) >= 3, t  # ingest + validations came back
    validated = {(r["scenario"], r["query"]) for r in ledger.records(cid, "validation") if r["match"]}
    assert validated == {("F2", "Q2"), ("F2", "Q7")}, validated
    assert run_counts(ledger, cid) == {(x, q, 0): 30 + 1 for x in trials for q in ("Q2", "Q7")}
    summary = ledger.summary(cid)
    assert [m["status"] for m in summary["minimum_viable"]] == ["measured"], summary["minimum_viable"]
    workers_state = json.loads(board.r.get(f"btb:workers:{s.node}"))["workers"]
    assert workers_state["bench"]["restarts"] >= 1 and workers_state["bench"]["state"] == "running", workers_state
