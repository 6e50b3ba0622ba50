"""A second node joins a *running* campaign by starting `btb worker` against the same broker and pulls
trials the first node has not claimed: 8 trials start in plan order across both nodes, none is retried
or bounced for "node busy", and every trial runs wholly on one node."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from btbtest import campaign_id

from btb.trials.lifecycle import FINAL_VALUES as FINAL_TRIAL_STATES
from btb.trials.board import TrialBoard

pytestmark = pytest.mark.integration


def test_second_node_joins_a_running_campaign(workers, btb_cli, tmp_path):
    s = workers
    board = TrialBoard(s.redis_url)
    out = tmp_path / "results"
    camp = tmp_path / "two.yaml"
    camp.write_text(f"""
name: two
datasets: [{{profile: tiny-1d, seed: 5}}]
scenarios: [P1, P2]
memory: {{levels: [192MiB, 256MiB, 512MiB, unlimited]}}
protocol: {{warmups: 0, runs: 10, timeout_s: 30, bindings: 2, validate: false}}
queries: [Q7, Q12]
output_dir: {out}
""")
    cid = campaign_id(btb_cli("submit", camp).stdout)
    env = os.environ.copy()
    env.pop("BTB_NODE", None)
    node2 = subprocess.Popen([sys.executable, "-m", "btb.cli.main", "worker", "--node", "node2",
                              "--broker", s.redis_url], env=env, stdout=subprocess.DEVNULL,
                             stderr=open(tmp_path / "node2.log", "w"), start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            trials = board.trials(cid)
            if all(t.get("status") in FINAL_TRIAL_STATES for t in trials.values()):
                break
            time.sleep(0.5)
        btb_cli("report", cid)
        summary = json.loads((out / cid / "summary.json").read_text())
        nodes = {t["node"] for t in summary["trials"].values()}
        assert nodes == {s.node, "node2"}, summary["trials"]
        assert all(t["status"] == "completed" for t in summary["trials"].values()), summary["trials"]
        # a trial's runs all come from the node that provisioned its engines; each node loaded each
        # (dataset, scenario) it served once, whatever the number of levels it measured
        records = [json.loads(x) for x in (out / cid / "records.jsonl").read_text().splitlines()]
        prov_node = {x["trial"]: x["node"] for x in records if x["kind"] == "provision"}
        assert all(x["node"] == prov_node[x["trial"]] for x in records if x["kind"] == "run")
        loads = [(x["node"], x["scenario"]) for x in records if x["kind"] == "ingest"]
        assert len(loads) == len(set(loads)) and set(loads) <= {(n, sc) for n in nodes for sc in ("P1", "P2")}
        # plan order: claimed in the order of the plan, each once (no re-run, no retry)
        trials = board.trials(cid)
        by_claim = sorted(trials.values(), key=lambda t: t["claimed_at"])
        assert [t["index"] for t in by_claim] == sorted(t["index"] for t in trials.values()) and len(trials) == 8
        assert all(t["attempt"] == 1 for t in trials.values())
        assert not set(board.running()) & set(trials)  # every lease released
    finally:
        os.killpg(node2.pid, signal.SIGTERM)
        try:
            node2.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(node2.pid, signal.SIGKILL)
