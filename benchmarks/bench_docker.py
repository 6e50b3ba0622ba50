"""Docker provider costs, measured side by side in one run (issue 19):

1. engine image builds: `btb images build` cached (every image present with its recipe), and with
   `--fresh` a full rebuild (`--rebuild`: base debootstrap + PostgreSQL/TimescaleDB + FalkorDB + Oxigraph);
2. start-to-ready of each engine kind: `start()` of the Docker provider (volume, container create, start,
   first authenticated answer) vs the local provider (process in a cgroup), alternated, medians;
3. one P1 trial on tiny-1d under a 256 MiB budget run by the workflow (`run_trial`, monitor beside it)
   with the Docker provider and with the local provider, same run, alternated: trial wall time, ingest,
   and the median of each query's measured runs, with the Docker/local ratio.

    python benchmarks/bench_docker.py [--reps 3] [--trial-reps 1] [--fresh]

Needs a Docker engine (scripts/dockerd.sh) and redis-server; starts a scratch Redis in a temp state dir.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

STATE = Path(tempfile.mkdtemp(prefix="btb-bench-docker-"))
ENGINES = Path(tempfile.mkdtemp(prefix="btb-bench-docker-engines-"))
ENGINES.chmod(0o755)
REPO = Path(__file__).resolve().parents[1]


def _env() -> None:
    from btb.infra.ports import free_port

    os.environ.update(BTB_STATE_DIR=str(STATE), BTB_REDIS_PORT=str(free_port()), BTB_NODE="benchdocker",
                      BTB_ENGINES_DIR=str(ENGINES), BTB_RESULTS_DIR=str(STATE / "results"))
    os.environ.pop("BTB_BROKER_URL", None)
    os.environ.pop("BTB_REDIS_PASSWORD", None)


def build_times(fresh: bool) -> list[tuple[str, float]]:
    out = []
    runs = [("fresh (--rebuild)", ["--rebuild"])] if fresh else []
    runs.append(("cached", []))
    for what, extra in runs:
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "btb.cli.main", "images", "build", *extra], capture_output=True,
                           text=True, timeout=3600)
        took = time.monotonic() - t0
        if r.returncode != 0:
            raise SystemExit(f"btb images build failed:\n{r.stdout[-3000:]}\n{r.stderr[-2000:]}")
        rows = [ln for ln in r.stdout.splitlines() if ln.startswith("│ ") and ("built" in ln or "cached" in ln)]
        print(f"images build {what}: {took:.1f} s")
        for ln in rows:
            print("   ", " ".join(ln.replace("│", " ").split()))
        out.append((what, took))
    return out


def start_to_ready(reps: int) -> None:
    from btb.infra.docker.provider import DockerProvider
    from btb.infra.local import LocalProvider

    dp = DockerProvider(ENGINES, "benchdocker")
    lp = LocalProvider(ENGINES, "benchlocal")
    print(f"\nstart-to-ready (start() wall, s; median of {reps}, alternated; docker ready_s = container start → "
          "first authenticated answer)")
    print(f"{'kind':10} {'docker start()':>15} {'docker ready_s':>15} {'local start()':>14} {'ratio':>7}")
    for kind in ("postgres", "falkordb", "oxigraph"):
        d, r, loc = [], [], []
        for i in range(reps):
            for name, p, acc in (("docker", dp, d), ("local", lp, loc)):
                tid = f"bench~{kind}~{name}~{i}"
                t0 = time.monotonic()
                p.start(tid, (kind,), 256 << 20)
                acc.append(time.monotonic() - t0)
                if name == "docker":
                    r.append(p._load(tid)["engines"][kind]["ready_s"])
                p.stop(tid)
        md, ml = statistics.median(d), statistics.median(loc)
        print(f"{kind:10} {md:15.2f} {statistics.median(r):15.2f} {ml:14.2f} {md / ml:7.1f}")


def one_trial(provider, settings, label: str) -> dict:
    from btb.campaign import Campaign, plan
    from btb.results.store import Ledger
    from btb.trials.board import TrialBoard
    from btb.workflow import monitoring
    from btb.workflow.attempt import NodeContext
    from btb.workflow.runner import run_trial

    def start_monitor(tid, session, targets, hz):
        threading.Thread(target=monitoring.monitor, args=(ctx, tid, session, targets, hz), daemon=True).start()

    ctx = NodeContext(settings, provider.node, Ledger(settings.redis_url), TrialBoard(settings.redis_url), provider,
                      start_monitor=start_monitor)
    camp = Campaign.model_validate({
        "name": f"bench{label}", "datasets": [{"profile": "tiny-1d", "seed": 11}], "scenarios": ["P1"],
        "memory": {"levels": ["256MiB"]},
        "protocol": {"warmups": 1, "runs": 5, "bindings": 1, "timeout_s": 60, "validate": True}})
    cid = f"bench{label}-{uuid.uuid4().hex[:6]}"
    trials = [t.to_dict() for t in plan(camp, cid)]
    ctx.ledger.create_campaign(cid, camp.model_dump(mode="json", by_alias=True), len(trials), {})
    eset = f"bench{uuid.uuid4().hex[:6]}"
    ctx.board.add_trials(cid, trials, {t["id"]: eset for t in trials})
    t0 = time.monotonic()
    run_trial(ctx, ctx.board.claim(eset, ctx.node, ttl_s=120))
    wall = time.monotonic() - t0
    tid = trials[0]["id"]
    st = ctx.board.trial(tid)
    runs = [r for r in ctx.ledger.trial_records(tid, "run") if not r["warmup"] and not r["cold"] and r["status"] == "ok"]
    per_q: dict[str, list[float]] = {}
    for r in runs:
        per_q.setdefault(r["query"], []).append(r["seconds"])
    ingest = next((r for r in ctx.ledger.trial_records(tid, "ingest")), {})
    srcs = {s["source"] for s in ctx.ledger.samples(tid)}
    for t in provider.trials():
        provider.stop(t)
    return {"status": st.get("status"), "wall": wall, "ingest": ingest.get("seconds"), "sources": srcs,
            "p50": {q: statistics.median(v) for q, v in per_q.items()}}


def trials(reps: int) -> None:
    from btb.config import get_settings
    from btb.infra import stack
    from btb.infra.docker.provider import DockerProvider
    from btb.infra.local import LocalProvider

    s = get_settings()
    stack.start_redis(s)
    try:
        res: dict[str, list[dict]] = {"docker": [], "local": []}
        for i in range(reps):
            for label, p in (("docker", DockerProvider(ENGINES, f"bd{i}")), ("local", LocalProvider(ENGINES, f"bl{i}"))):
                res[label].append(one_trial(p, s, label))
        d, loc = res["docker"][-1], res["local"][-1]
        print(f"\none P1 trial, tiny-1d, 256 MiB, warmups 1, runs 5, 1 binding, 13 queries (last of {reps}):")
        print(f"  status docker {d['status']} / local {loc['status']}; monitor sources docker {sorted(d['sources'])} "
              f"/ local {sorted(loc['sources'])}")
        print(f"  trial wall  docker {d['wall']:7.1f} s   local {loc['wall']:7.1f} s   ratio {d['wall'] / loc['wall']:.2f}")
        print(f"  ingest      docker {d['ingest']:7.2f} s   local {loc['ingest']:7.2f} s   ratio "
              f"{d['ingest'] / loc['ingest']:.2f}")
        print(f"  {'query':6} {'docker p50 ms':>14} {'local p50 ms':>13} {'ratio':>6}")
        for q in sorted(set(d["p50"]) | set(loc["p50"]), key=lambda x: int(x[1:])):
            a, b = d["p50"].get(q), loc["p50"].get(q)
            ratio = f"{a / b:6.2f}" if a and b else "     -"
            print(f"  {q:6} {a * 1e3 if a else float('nan'):14.2f} {b * 1e3 if b else float('nan'):13.2f} {ratio}")
    finally:
        stack.stop_redis(s)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3, help="start-to-ready repetitions per kind and provider")
    ap.add_argument("--trial-reps", type=int, default=1, help="P1 trials per provider (alternated)")
    ap.add_argument("--fresh", action="store_true", help="also time a full rebuild of every image (~5 min)")
    a = ap.parse_args()
    _env()
    r = subprocess.run(["bash", str(REPO / "scripts" / "dockerd.sh")], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    try:
        build_times(a.fresh)
        start_to_ready(a.reps)
        trials(a.trial_reps)
    finally:
        shutil.rmtree(STATE, ignore_errors=True)
        shutil.rmtree(ENGINES, ignore_errors=True)


if __name__ == "__main__":
    main()
