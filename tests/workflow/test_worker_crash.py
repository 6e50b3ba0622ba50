"""A worker process killed in the middle of a query batch loses nothing and duplicates nothing: the
batch is redelivered (late ack, reject on worker loss), recorded runs are kept, the rest are run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from btb.results.store import Ledger

pytestmark = pytest.mark.integration


def _bench_pool_children(settings) -> list[psutil.Process]:
    pid = int((settings.state_dir / "run" / f"worker-bench-{settings.node}.pid").read_text())
    return psutil.Process(pid).children()


def test_killed_worker_child_neither_loses_nor_duplicates_runs(workers, tmp_path):
    s = workers
    out = tmp_path / "results"
    camp = tmp_path / "crash.yaml"
    runs, bindings = 25, 2
    camp.write_text(f"""
name: crash
datasets: [{{profile: tiny-1d, seed: 5}}]
scenarios: [P1]
protocol: {{warmups: 0, runs: {runs}, timeout_s: 30, bindings: {bindings}, validate: false}}
queries: [Q7, Q12]
output_dir: {out}
""")
    p = subprocess.Popen([sys.executable, "-m", "btb.cli.main", "submit", str(camp), "--wait"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    ledger = Ledger(s.redis_url)
    deadline = time.time() + 300
    killed = None
    cid = None
    while time.time() < deadline and killed is None:
        if not (cid or "").startswith("crash-"):
            cid = ledger.latest_campaign()  # until our submit has created its campaign
        if cid and cid.startswith("crash-"):
            n = sum(1 for r in ledger.records(cid, "run") if r["query"] == "Q7")
            if 3 <= n < runs * bindings - 5:  # mid-batch
                children = _bench_pool_children(s)
                assert children, "bench worker has no pool process"
                killed = children[0].pid
                os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    assert killed, "never caught the batch running"
    stdout, stderr = p.communicate(timeout=600)
    assert p.returncode == 0, stdout[-2000:] + stderr[-2000:]
    summary = json.loads((out / cid / "summary.json").read_text())
    rows = {r["query"]: r for r in summary["rows"]}
    for q in ("Q7", "Q12"):
        assert rows[q]["statuses"] == {"ok": runs * bindings}, rows[q]
    records = [json.loads(x) for x in (out / cid / "records.jsonl").read_text().splitlines()]
    ids = [r["record_id"] for r in records if r["kind"] == "run"]
    assert len(ids) == len(set(ids)) == 2 * runs * bindings
    assert next(iter(summary["trials"].values()))["status"] == "completed"
    assert killed not in [c.pid for c in _bench_pool_children(s)]  # it really was replaced
