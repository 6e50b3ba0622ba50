"""Campaign control on the real stack: `btb list`, `btb cancel` mid-trial (no engine process, no cgroup, no
half-written record left), `btb submit --resume` (only the missing trials run), `btb status` naming the
work, and Ctrl-C on `submit --wait` saying that the campaign goes on and how to cancel it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from btbtest import campaign_id, run_counts, wait_until

pytestmark = pytest.mark.integration

RUN_FIELDS = {"kind", "query", "binding", "warmup", "run", "status", "seconds", "t_start", "t_end", "record_id",
              "trial", "campaign"}


def _engine_processes(settings) -> list[str]:
    import psutil

    root = str(settings.engines_dir)
    out = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
        except (psutil.Error, TypeError):
            continue
        if root in cmd and "postgres" in cmd:
            out.append(cmd)
    return out


def _cgroups(prefix: str) -> list[str]:
    found = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        if top.count("/") > 9:
            dirs[:] = []
            continue
        found += [os.path.join(top, d) for d in dirs if d.startswith(prefix)]
    return found


def test_cancel_mid_trial_then_resume_runs_only_the_missing_trials(workers, btb_cli, tmp_path):
    from btb.results.store import Ledger
    from btb.trials.board import TrialBoard

    s = workers
    camp = tmp_path / "cx.yaml"
    camp.write_text(f"""
name: cx
datasets: [{{profile: tiny-1d, seed: 5}}]
scenarios: [P1, P2]
memory: {{levels: [unlimited]}}
protocol: {{warmups: 0, runs: 1000, timeout_s: 30, bindings: 2, validate: true}}
queries: [Q1, Q7]
output_dir: {tmp_path / 'out'}
""")
    r = btb_cli("submit", camp)
    cid = campaign_id(r.stdout)
    board, ledger = TrialBoard(s.redis_url), Ledger(s.redis_url)
    first = f"{cid}.t000"
    # wait until the first trial is measuring and has recorded some runs, then cancel
    wait_until(lambda: board.trial(first).get("status") == "measuring" and len(ledger.trial_records(first, "run")) > 5,
               300, "the first trial to measure")
    st = btb_cli("status", cid).stdout
    assert "run" in st and " of 2000" in st and "measuring" in st, st  # phase names the query and run k of N
    lst = btb_cli("list").stdout
    assert cid in lst and "running" in lst
    t0 = time.monotonic()
    out = btb_cli("cancel", cid, timeout=300).stdout
    stop_s = time.monotonic() - t0
    trials = board.trials(cid)
    assert {t["status"] for t in trials.values()} == {"cancelled"}, trials
    assert "resume" in out and stop_s < 60, (out, stop_s)
    # nothing left behind: engines, cgroups, the node's lease
    assert not _engine_processes(s), _engine_processes(s)
    assert not _cgroups(f"btb-{cid}"), _cgroups(f"btb-{cid}")
    assert not [t for t in board.running() if t.startswith(cid)]
    # every record of the cancelled trial is whole (one JSON object with every field), none duplicated
    for rec in ledger.trial_records(first, "run"):
        assert RUN_FIELDS <= set(rec), rec
    assert all(n == 1 for n in _per_run(ledger, cid).values())
    assert "cancelled" in btb_cli("list").stdout

    # resume: only the cancelled trials run, and they run whole
    r = btb_cli("submit", "--resume", cid, "--wait", timeout=900)
    assert "resumed 2 trial(s)" in r.stdout, r.stdout
    trials = board.trials(cid)
    assert {t["status"] for t in trials.values()} == {"completed"}, trials
    counts = run_counts(ledger, cid)
    # no lost, no duplicated run: 1000 per binding, plus each query's cold run on its first binding
    assert len(counts) == 2 * 2 * 2 and counts == {k: 1000 + (k[2] == 0) for k in counts}, counts
    again = btb_cli("submit", "--resume", cid).stdout
    assert "nothing to resume" in again


def _per_run(ledger, cid):
    out = {}
    for r in ledger.records(cid, "run"):
        k = (r["trial"], r["query"], r["binding"], r.get("cold", False), r["warmup"], r["run"])
        out[k] = out.get(k, 0) + 1
    return out


def test_ctrl_c_on_wait_says_the_campaign_goes_on(workers, tmp_path):
    from btb.trials.board import TrialBoard

    camp = tmp_path / "cc.yaml"
    camp.write_text("name: cc\ndatasets: [{profile: tiny-1d, seed: 5}]\nscenarios: [P1]\n"
                    "protocol: {warmups: 0, runs: 30, bindings: 2}\nqueries: [Q1, Q6]\n"
                    f"output_dir: {tmp_path / 'out'}\n")
    p = subprocess.Popen([sys.executable, "-m", "btb.cli.main", "submit", str(camp), "--wait"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
                         # a suite started in the background inherits SIGINT ignored: the CLI must get it
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    cid = None
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline and not cid:
        line = p.stdout.readline()
        if line.startswith("campaign "):
            cid = line.split()[1].rstrip(":")
    assert cid, line
    time.sleep(2)
    p.send_signal(signal.SIGINT)
    out, errs = p.communicate(timeout=30)
    assert p.returncode == 130, (out, errs)
    assert f"campaign {cid} goes on" in errs and f"btb cancel {cid}" in errs and "Traceback" not in errs, errs
    board = TrialBoard(workers.redis_url)
    board.set_flag(f"cancel:{cid}")  # leave the stack clean for the next test
    board.cancel_pending(cid)
    wait_until(lambda: all(t.get("status") in ("cancelled", "completed") for t in board.trials(cid).values()), 120,
               "the campaign to stop")
