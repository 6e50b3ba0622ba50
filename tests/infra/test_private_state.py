"""State private by default, checked as another local user during a running trial: the state dir, the
ledger (Redis AOF), logs, datasets and results are 0700/0600 and unreadable to it; the engines' OS user
passes through btb's dirs into its own work dir only."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess

import pytest
from btbtest import background_campaign, wait_until, write_campaign

from btb.results.store import Ledger
from btb.trials.board import TrialBoard

pytestmark = pytest.mark.integration
OTHER = "btbother"


@pytest.fixture(scope="module")
def other_user() -> str:
    """An unprivileged local user that is not btb's (made here when missing)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another local user (useradd, runuser): not root here")
    try:
        pwd.getpwnam(OTHER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OTHER], check=True)
    return OTHER


def as_other(user: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([shutil.which("runuser") or "runuser", "-u", user, "--", *argv],
                          capture_output=True, text=True, timeout=30)


def _private(paths) -> list[str]:
    """Paths whose group or other bits are set (should be none)."""
    return [f"{p} {oct(p.stat().st_mode & 0o777)}" for p in paths if p.stat().st_mode & 0o077]


def test_state_ledger_logs_and_results_are_private_during_a_trial(workers, other_user, btb_cli, tmp_path):
    s = workers
    board, ledger = TrialBoard(s.redis_url), Ledger(s.redis_url)
    results = tmp_path / "results"
    camp = write_campaign(tmp_path, """
name: private
datasets: [{profile: tiny-1d, seed: 5}]
scenarios: [P1]
memory: {levels: [unlimited]}
protocol: {warmups: 0, runs: 100, timeout_s: 30, bindings: 1, validate: false}
queries: [Q7]
""")
    p, cid, tid = background_campaign(camp, tmp_path, ledger, "private")
    wait_until(lambda: board.trial(tid).get("status") == "measuring" and len(ledger.trial_records(tid, "run")) >= 3,
               300, "the trial to measure")
    state = s.state_dir
    owned = [state / d for d in ("run", "logs", "redis", "datasets")]
    files = [f for d in owned for f in [d, *d.rglob("*")]]
    aof = [f for f in (state / "redis").rglob("*") if ".aof" in f.name]
    assert aof and (state / "logs" / f"worker-bench-{s.node}.log").exists() and list((state / "datasets").iterdir())
    assert _private(files) == [], _private(files)
    assert oct(state.stat().st_mode & 0o777) == "0o700"
    for path in [state, *aof, state / "redis" / "redis.conf", state / "logs" / f"worker-bench-{s.node}.log"]:
        r = as_other(other_user, "cat" if path.is_file() else "ls", str(path))
        assert r.returncode != 0 and "Permission denied" in r.stderr, (path, r)
    # the engines' dirs: others may pass (o+x) but neither list nor read; each engine's work dir is its own
    trial_dirs = [d for d in (s.engine_root / s.node / "trials").iterdir() if d.is_dir()]
    assert trial_dirs and all(oct(d.stat().st_mode & 0o777) == "0o711" for d in trial_dirs), trial_dirs
    for d in trial_dirs:
        assert as_other(other_user, "ls", str(d)).returncode != 0
        for work in (w for w in d.iterdir() if w.is_dir()):
            assert work.stat().st_mode & 0o077 == 0, work
            assert as_other(other_user, "ls", str(work)).returncode != 0, work
    assert p.wait(timeout=600) in (0, 1), (tmp_path / "submit.err").read_text()[-2000:]
    btb_cli("report", cid)
    written = [f for f in [results, *results.rglob("*")]]
    assert len(written) > 3 and _private(written) == [], _private(written)
