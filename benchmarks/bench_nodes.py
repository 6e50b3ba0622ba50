"""One node vs two: the same campaign (P1 + P2 × 3 memory levels = 6 trials on tiny-1d by default) run
on one node, then on two nodes, each node a separate host (its own network namespace, state and engine
dirs; btb.infra.netns) joined to one broker over veth. Same run, interleaved when --repeat > 1.

    python benchmarks/bench_nodes.py [--repeat 2] [--runs 20] [--levels unlimited 512MiB 256MiB]

Wall time is from `btb submit` until every trial is final (the report is not part of it). Each
configuration starts from fresh node state, so each node generates the dataset and loads each
(dataset, scenario) it serves once: the cost a real second node pays. Target (issue 19): two-node /
one-node ≤ 0.6. Note that both "hosts" share this machine's cores: each node runs its own engines, so
on a 2-core machine the nodes compete for CPU; the load average and CPU use of each run are printed.
Needs root (network namespaces).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import redis

from btb.config import Settings
from btb.infra import netns, stack
from btb.infra.local import LocalProvider
from btb.infra.ports import free_port
from btb.trials.board import TrialBoard
from btb.trials.lifecycle import FINAL_VALUES


def cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    f = [float(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = f[3] + f[4]
    return sum(f) - idle, sum(f)


class Node:
    """`btb worker` on a separate host, with fresh state; stopped and cleaned by close()."""

    def __init__(self, host: netns.Host, name: str, broker_url: str, work: Path, aggregator: bool):
        self.name, self.state = name, work / name
        self.engines = self.state / "engines"
        self.engines.mkdir(parents=True)
        for d in (work, self.state, self.engines):
            d.chmod(0o755)  # engines run as the 'postgres' OS user under root
        cfg = work / "empty.env"
        cfg.touch()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BTB_")} | {
            "BTB_STATE_DIR": str(self.state), "BTB_ENGINES_DIR": str(self.engines), "BTB_BROKER_URL": broker_url,
            "BTB_CONFIG": str(cfg), "BTB_RESULTS_DIR": str(work / "results")}
        argv = [sys.executable, "-m", "btb.cli.main", "worker", "--node", name] + (["--aggregator"] if aggregator else [])
        self.proc = subprocess.Popen(host.argv(argv), env=env, stdout=subprocess.DEVNULL,
                                     stderr=open(work / f"{name}.log", "w"), start_new_session=True)

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        prov = LocalProvider(self.engines, self.name)
        for tid in prov.trials():
            prov.stop(tid)
        shutil.rmtree(self.state, ignore_errors=True)


def campaign_file(work: Path, runs: int, levels: list[str], scenarios: list[str]) -> Path:
    f = work / "nodes.yaml"
    f.write_text(f"""
name: nodes
datasets: [{{profile: tiny-1d, seed: 3}}]
scenarios: [{', '.join(scenarios)}]
memory: {{levels: [{', '.join(levels)}]}}
protocol: {{warmups: 0, runs: {runs}, timeout_s: 30, bindings: 2, validate: false}}
queries: [Q7, Q12]
output_dir: {work / 'results'}
""")
    return f


def run_once(label: str, hosts: list[netns.Host], s: Settings, camp: Path, work: Path, tag: str) -> dict:
    board = TrialBoard(s.redis_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BTB_")} | {
        "BTB_BROKER_URL": s.redis_url, "BTB_STATE_DIR": str(s.state_dir), "BTB_CONFIG": str(work / "empty.env"),
        "BTB_RESULTS_DIR": str(work / "results")}
    with ExitStack() as stack_:
        nodes = []
        for i, h in enumerate(hosts):
            url = s.redis_url.replace(f"@{s.redis_host}:", f"@{h.peer}:")
            n = Node(h, f"{h.name}-{tag}", url, work, aggregator=i == 0)
            stack_.callback(n.close)
            nodes.append(n)
        deadline = time.monotonic() + 180
        while not all(n.name in board.nodes() for n in nodes):
            if time.monotonic() > deadline:
                raise SystemExit(f"{label}: nodes did not register within 180 s; see {work}/*.log")
            time.sleep(0.2)
        load0, (b0, t0_) = os.getloadavg()[0], cpu_busy()
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "btb.cli.main", "submit", str(camp)], capture_output=True,
                           text=True, env=env, cwd=work)
        if r.returncode:
            raise SystemExit(f"{label}: submit failed: {r.stdout[-1000:]}{r.stderr[-1000:]}")
        cid = r.stdout.split()[1].rstrip(":")
        while True:
            trials = board.trials(cid)
            if trials and all(t.get("status") in FINAL_VALUES for t in trials.values()):
                break
            if time.monotonic() - t0 > 3600:
                raise SystemExit(f"{label}: campaign {cid} did not finish within an hour")
            time.sleep(0.2)
        wall = time.monotonic() - t0
        b1, t1_ = cpu_busy()
        load1 = os.getloadavg()[0]
    by_node: dict[str, int] = {}
    for t in trials.values():
        by_node[t["node"]] = by_node.get(t["node"], 0) + 1
    bad = {k: t["status"] for k, t in trials.items() if t["status"] != "completed"}
    return {"label": label, "wall": wall, "trials": len(trials), "by_node": by_node, "bad": bad,
            "cpu": (b1 - b0) / max(1.0, t1_ - t0_), "load": (load0, load1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=1, help="rounds of (one node, two nodes)")
    ap.add_argument("--runs", type=int, default=20, help="measured runs per query and binding")
    ap.add_argument("--levels", nargs="+", default=["unlimited", "512MiB", "256MiB"])
    ap.add_argument("--scenarios", nargs="+", default=["P1", "P2"])
    args = ap.parse_args()
    why = netns.available()
    if why:
        raise SystemExit(f"bench_nodes: {why}")

    work = Path(tempfile.mkdtemp(prefix="btb-bench-nodes-"))
    work.chmod(0o755)
    s = Settings(state_dir=work / "broker", redis_port=free_port(), redis_password=secrets.token_hex(12),
                 flower_password="unused", _env_file=None)
    camp = campaign_file(work, args.runs, args.levels, args.scenarios)
    results: list[dict] = []
    with ExitStack() as es:
        stack.start_redis(s)
        es.callback(stack.stop_redis, s)
        hosts = [es.enter_context(netns.separate_host(f"btbbench{i}", 100 + i)) for i in (1, 2)]
        redis.Redis.from_url(s.redis_url).config_set("bind", " ".join([s.redis_host] + [h.peer for h in hosts]))
        n_trials = len(args.levels) * len(args.scenarios)
        print(f"campaign: {' + '.join(args.scenarios)} × {len(args.levels)} levels = {n_trials} trials on tiny-1d, "
              f"Q7 Q12 × 2 bindings × {args.runs} runs; {os.cpu_count()} cores")
        for rep in range(args.repeat):
            for label, hs in (("one node", hosts[:1]), ("two nodes", hosts)):
                res = run_once(label, hs, s, camp, work, f"r{rep}{len(hs)}")
                results.append(res)
                print(f"  {label:9s}  wall {res['wall']:6.1f} s  trials {res['by_node']}  cpu {res['cpu']:.0%} of "
                      f"{os.cpu_count()} cores  load {res['load'][0]:.1f}→{res['load'][1]:.1f}"
                      + (f"  NOT COMPLETED: {res['bad']}" if res["bad"] else ""), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    one = [r["wall"] for r in results if r["label"] == "one node"]
    two = [r["wall"] for r in results if r["label"] == "two nodes"]
    paired = [b / a for a, b in zip(one, two)]  # each round's two-node run against the one-node run just before
    print(f"median wall: one node {statistics.median(one):.1f} s, two nodes {statistics.median(two):.1f} s; "
          f"ratio two/one {statistics.median(two) / statistics.median(one):.2f} (target ≤ 0.6); "
          f"per round: {', '.join(f'{x:.2f}' for x in paired)}")


if __name__ == "__main__":
    main()
