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
import statistics
import sys
from pathlib import Path

from btb.dataset.format import load_bindings
from btb.engines.base import QUERY_IDS
from side_by_side import alternating, each_ingested


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
    bindings = load_bindings(a.dataset)
    load0 = Path("/proc/loadavg").read_text().strip()
    out = []
    for sid, s in each_ingested(a.dataset, a.scenarios.split(","), "benchrpc"):
        conn = pg_session(s)
        for qid in QUERY_IDS:
            per_value: dict[str, list[float]] = {v: [] for v in values}
            statuses = set()
            for params in bindings[qid]:

                def once(value: str) -> float:
                    conn.execute(f"set random_page_cost = {float(value)}")  # outside the timing
                    r = s.run(qid, params)
                    statuses.add(r.status)
                    return r.seconds

                for v, sec in alternating(values, once, a.reps).items():
                    per_value[v].append(sec)
            med = {v: statistics.median(per_value[v]) * 1000 for v in values}
            out.append((sid, qid, len(bindings[qid]), med, ",".join(sorted(statuses))))
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
