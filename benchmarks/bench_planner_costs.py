"""Which random_page_cost should btb's PostgreSQL run with? Every query of the PostgreSQL-backed scenarios under
two values of the planner's random-page cost, same server, same data, same session, one run.

PostgreSQL's default random_page_cost = 4 prices a random page read at 4 sequential ones (spinning disks); on
SSDs and cached data 1.1 is the usual setting. The value decides, among others, whether the shared series SQL
joins its keys with `ts` by index probes or by a sequential scan of the window's chunks, and it weighs on the
hybrids (F2, O2), whose `fed` temp table carries exact statistics, otherwise than on P1/P2, whose CTE `fed`
is estimated. Per scenario, query and binding, both values alternate (SET in the scenario's PostgreSQL
session, outside the timing), warm, `--reps` times; printed: the median over bindings of each value's median
`Scenario.run` latency and their ratio, and the answers' status.

    python benchmarks/bench_planner_costs.py [--dataset DIR] [--scenarios P1,P2,F2,O2] [--values 4,1.1] [--reps 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

from btb.dataset.format import load_bindings
from btb.engines.base import QUERY_IDS, RunOptions
from btb.engines.registry import engines_of, scenario_class
from btb.infra.local import LocalProvider


def pg_session(s):
    """The scenario's PostgreSQL session: P1/P2 their own, hybrids their federating one."""
    return s.pg() if hasattr(s, "pg") else s.conn()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=Path.home() / ".local/state/btb/datasets/small-2d-s1")
    ap.add_argument("--scenarios", default="P1,P2,F2,O2")
    ap.add_argument("--values", default="4,1.1")
    ap.add_argument("--reps", type=int, default=7)
    a = ap.parse_args()
    values = a.values.split(",")
    root = Path(tempfile.mkdtemp(prefix="btb-bench-rpc-"))
    root.chmod(0o755)
    provider = LocalProvider(root, "benchrpc")
    bindings = load_bindings(a.dataset)
    load0 = Path("/proc/loadavg").read_text().strip()
    out = []
    try:
        for sid in a.scenarios.split(","):
            trial = f"bench-rpc-{sid}-{uuid.uuid4().hex[:6]}"
            started = provider.start(trial, engines_of(sid), None)
            try:
                s = scenario_class(sid)(started.endpoints, RunOptions(timeout_s=120))
                s.ingest(a.dataset)
                conn = pg_session(s)
                for qid in QUERY_IDS:
                    per_value: dict[str, list[float]] = {v: [] for v in values}
                    statuses = set()
                    for params in bindings[qid]:
                        times: dict[str, list[float]] = {v: [] for v in values}
                        for rep in range(a.reps + 1):  # the first round warms, not recorded
                            order = values if rep % 2 else values[::-1]
                            for v in order:
                                conn.execute(f"set random_page_cost = {float(v)}")
                                r = s.run(qid, params)
                                statuses.add(r.status)
                                if rep:
                                    times[v].append(r.seconds)
                        for v in values:
                            per_value[v].append(statistics.median(times[v]))
                    med = {v: statistics.median(per_value[v]) * 1000 for v in values}
                    out.append((sid, qid, len(bindings[qid]), med, ",".join(sorted(statuses))))
                s.close()
            finally:
                provider.stop(trial)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    load1 = Path("/proc/loadavg").read_text().strip()
    print(f"dataset {a.dataset.name}; median over bindings of each binding's median of {a.reps} warm runs, ms; "
          f"load before: {load0}; after: {load1}")
    print(f"{'':>4} {'query':>5} {'bindings':>8} " + " ".join(f"{'rpc ' + v:>10}" for v in values)
          + f" {values[-1] + '/' + values[0]:>10} status")
    for sid, qid, n, med, st in out:
        print(f"{sid:>4} {qid:>5} {n:>8} " + " ".join(f"{med[v]:>10.2f}" for v in values)
              + f" {med[values[-1]] / med[values[0]]:>9.2f}x {st}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
