"""A second node as a separate host: node B runs `btb worker` in its own network namespace (own loopback,
address and host name, own state and engine dirs; its PostgreSQL even uses the same port as node A's)
and reaches node A's broker over a veth pair. It joins a *running* campaign and pulls trials node A has
not claimed; killed mid-trial, its trial is re-run once on node A with nothing lost or counted twice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from btbtest import background_campaign, campaign_id, run_counts, wait_until

from btb.infra import netns
from btb.infra.local import LocalProvider
from btb.results.store import Ledger
from btb.trials.board import TrialBoard
from btb.trials.lifecycle import FINAL_VALUES as FINAL_TRIAL_STATES

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(bool(netns.available()), reason=netns.available() or "")]


@contextmanager
def node_on_separate_host(s, name: str, index: int, log: Path):
    """Node `name`'s workers (`btb worker`) in a network namespace of their own, against the session's
    broker, which also listens on the veth address for as long as the node lives. Yields the Popen of
    the node's process group; at exit the node is stopped, its engines too, the namespace removed."""
    r = redis.Redis.from_url(s.redis_url)
    bind = r.config_get("bind")["bind"]
    state = Path(tempfile.mkdtemp(prefix=f"btb-test-{name}-"))
    engines = state / "engines"
    engines.mkdir(mode=0o755)
    state.chmod(0o755)  # engines run as the 'postgres' OS user under root
    with netns.separate_host(name, index) as host:
        r.config_set("bind", f"{bind} {host.peer}")
        u = urlsplit(s.redis_url)
        broker = urlunsplit(u._replace(netloc=f"{u.netloc.rsplit('@', 1)[0]}@{host.peer}:{u.port}"))
        env = {k: v for k, v in os.environ.items() if k != "BTB_NODE"} | {
            "BTB_STATE_DIR": str(state), "BTB_ENGINES_DIR": str(engines), "BTB_BROKER_URL": broker}
        p = subprocess.Popen(host.argv([sys.executable, "-m", "btb.cli.main", "worker", "--node", name]), env=env,
                             stdout=subprocess.DEVNULL, stderr=open(log, "w"), start_new_session=True)
        try:
            yield p
        finally:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            prov = LocalProvider(engines, name, s)
            for tid in prov.trials():
                prov.stop(tid)
            r.config_set("bind", bind)
    shutil.rmtree(state, ignore_errors=True)


def _campaign(tmp_path, name: str, scenarios: str, levels: str, runs: int) -> Path:
    camp = tmp_path / f"{name}.yaml"
    camp.write_text(f"""
name: {name}
datasets: [{{profile: tiny-1d, seed: 5}}]
scenarios: {scenarios}
memory: {{levels: {levels}}}
protocol: {{warmups: 0, runs: {runs}, timeout_s: 30, bindings: 2, validate: false}}
queries: [Q7, Q12]
output_dir: {tmp_path / 'results'}
""")
    return camp


def test_second_node_joins_a_running_campaign(workers, btb_cli, tmp_path):
    s = workers
    board = TrialBoard(s.redis_url)
    out = tmp_path / "results"
    camp = _campaign(tmp_path, "two", "[P1, P2]", "[192MiB, 256MiB, 512MiB, unlimited]", 10)
    cid = campaign_id(btb_cli("submit", camp).stdout)
    # node B starts once the campaign is under way (node A holds its first trial)
    wait_until(lambda: board.trial(f"{cid}.t000").get("node"), 60, "node A to claim the first trial")
    with node_on_separate_host(s, "nodeb", 1, tmp_path / "nodeb.log"):
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            trials = board.trials(cid)
            if all(t.get("status") in FINAL_TRIAL_STATES for t in trials.values()):
                break
            time.sleep(0.5)
    btb_cli("report", cid)
    summary = json.loads((out / cid / "summary.json").read_text())
    nodes = {t["node"] for t in summary["trials"].values()}
    assert nodes == {s.node, "nodeb"}, (summary["trials"], (tmp_path / "nodeb.log").read_text()[-2000:])
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


RUNS = 30


def test_a_node_killed_mid_trial_has_its_trial_rerun_once_elsewhere(workers, tmp_path):
    s = workers
    board, ledger = TrialBoard(s.redis_url), Ledger(s.redis_url)
    with node_on_separate_host(s, "nodeb", 2, tmp_path / "nodeb.log") as node_b:
        wait_until(lambda: "nodeb" in board.nodes(), 90, "node B to register")
        p, cid, _ = background_campaign(_campaign(tmp_path, "kill", "[P1]", "[unlimited, 512MiB, 384MiB]", RUNS), tmp_path, ledger, "kill")

        def measuring_on_b():
            for tid, t in board.trials(cid).items():
                if t.get("node") == "nodeb" and t.get("status") == "measuring" and sum(
                        1 for r in ledger.trial_records(tid, "run") if r["query"] == "Q7") >= 3:
                    return tid
            return None

        tid = wait_until(measuring_on_b, 120, "node B to measure a trial")
        os.killpg(node_b.pid, signal.SIGKILL)  # the node dies: its workers, all at once, no goodbye
        assert p.wait(timeout=300) == 0, (tmp_path / "submit.err").read_text()[-2000:]
    trials = board.trials(cid)
    t = trials[tid]
    assert (t["attempt"], t["status"], t["node"]) == (2, "completed", s.node), t  # re-run once, on node A
    assert all(x["attempt"] == 1 for k, x in trials.items() if k != tid), trials
    assert {x["status"] for x in trials.values()} == {"completed"}, trials
    counts = run_counts(ledger, cid)  # every run once: RUNS per binding, plus one cold run on binding 0
    assert counts == {(k, q, b): RUNS + (b == 0) for k in trials for q in ("Q7", "Q12") for b in range(2)}, counts
    assert ledger.summary(cid)["status"] == "done"
