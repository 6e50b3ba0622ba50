"""Faults injected into a running campaign, on the real stack (Redis, Celery workers, PostgreSQL in
cgroups): whatever dies, every trial ends (re-run once, or with a visible status), the campaign
completes, and no run record is lost or duplicated (counted per trial × query × binding)."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest
from btbtest import run_counts, submit_background, wait_until

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
    p = submit_background(_campaign_file(tmp_path, name), tmp_path)
    cid = wait_until(lambda: next((c for c in ledger.campaigns(5) if c.startswith(f"{name}-")), None), 60,
                     "the campaign to be submitted")
    tid = f"{cid}.t000"
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
