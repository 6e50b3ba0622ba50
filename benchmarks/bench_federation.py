"""How should a hybrid hand point ids from the graph engine to PostgreSQL? The federation's two transfer paths
and its adaptive choice between them, measured in one run at 1, 10, 100, 1k, 10k, 100k and 1M ids, contiguous
and scattered:

  graph      FalkorDB returns the ids (`MATCH (p:Point) WHERE p.grp < $n RETURN p.idx`), every row parsed;
             the same for every path (run once per case and round), shown for scale
  any        btb.engines.federation, path `any`: the ids as one binary array parameter, `unnest` as the CTE
             `fed` in front of the join; transfer = building the array (client), the bytes travel in `sql`
  temp       path `temp_table`: the session table `fed` cleared (DELETE after a small load, else TRUNCATE),
             binary COPY, ANALYZE (statistics target 10), then the same join reads it
  auto       `auto`: `any` below the threshold, `temp` from it on; the thresholds calibrated first (after a
             checkpoint and one warm-up pass of every case), on this engine and these data, by the code a
             hybrid's load runs (btb.engines.fed_calibration)
  ANY(%s)    reference: `... WHERE t.point_id = ANY(%s)` (the statement without a CTE), not used by btb

The question: count and sum of the samples of the chosen points in a window (2 of each point's 4 samples).
Data: --points points x 4 samples in `ts` (index on (point_id, time)), the same points on FalkorDB nodes.
Like with like: each case (layout, size) runs all its rounds together after one warm-up round, so every
variant finds the same warm state (the session table holding a load of this size, whichever variant made it);
a round runs the graph part once, then any, temp and auto on the same key rows in an order that cycles through
all six permutations, then the reference. Rounds per case: as many as take about --case-seconds, within
[--reps, --small-reps], at least 2 x --reps within 4x of a threshold. Statistic (the calibration's,
btb.engines.fed_crossing): each column's fastest run over the rounds, auto / the better fixed path as the
ratio of the fastest runs with a 95 % bootstrap interval over the rounds; beside it the ratio of medians.
(Other jobs on the machine slow a run, never speed it up: the fastest run reads what a path costs, the
median how often it was interrupted.) The answers of every path are checked equal in every round. Both engines started by the local provider in one
slot (--budget-mb: sized settings; default unlimited = fixed). Load average printed before and after.

    python benchmarks/bench_federation.py [--points 1000000] [--reps 9] [--small-reps 61] [--case-seconds 12]
                                          [--root /tmp/bench-fed] [--budget-mb N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import psycopg

from btb.engines import fed_calibration, fed_crossing, federation
from btb.engines.graph.client import FalkorSession
from btb.infra.local import LocalProvider

SIZES = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)
SAMPLES = 4
T0 = "2024-01-08 00:00:00+00"
LO_US, HI_US = 1704672000_000_000 + 3_600_000_000, 1704672000_000_000 + 3 * 3_600_000_000
SQL_FED = ("select count(*), sum(t.value) from fed f join ts t on t.point_id = f.idx "
           "where t.time >= %(lo)s and t.time < %(hi)s")
SQL_ANY = ("select count(*), sum(t.value) from ts t where t.point_id = any(%(ids)s) "
           "and t.time >= %(lo)s and t.time < %(hi)s")
# `grp < n`: n contiguous ids (0..n-1, adjacent in ts and its index); `spread < n`: n ids scattered over the
# whole range (spread = idx * SPREAD_MUL mod points, a permutation), as a building's or a class's points are.
LAYOUTS = {"contiguous": "grp", "scattered": "spread"}
SPREAD_MUL = 999_983  # prime: coprime with any --points that it does not divide
CY_IDS = "MATCH (p:Point) WHERE p.{prop} < $n RETURN p.idx"


def load(pg: psycopg.Connection, g: FalkorSession, points: int) -> dict[str, float]:
    out = {}
    t0 = time.perf_counter()
    pg.execute("drop table if exists ts")
    pg.execute("create table ts (point_id int not null, time timestamptz not null, value float8 not null)")
    pg.execute(f"insert into ts select i / {SAMPLES}, timestamptz '{T0}' + (i % {SAMPLES}) * interval '1 hour', "
               f"((i / {SAMPLES}) % 97) * 0.5 from generate_series(0, {points * SAMPLES - 1}) i")
    pg.execute("create index on ts (point_id, time)")
    pg.execute("vacuum analyze ts")
    out["pg_load_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    g.delete_graph()
    g.write("CREATE INDEX FOR (p:Point) ON (p.grp)")
    g.write("CREATE INDEX FOR (p:Point) ON (p.spread)")
    if points % SPREAD_MUL == 0:
        raise SystemExit(f"--points must not be a multiple of {SPREAD_MUL}")
    for lo in range(0, points, 50_000):
        rows = [{"idx": i, "grp": i, "spread": i * SPREAD_MUL % points} for i in range(lo, min(points, lo + 50_000))]
        g.write("UNWIND $rows AS r CREATE (:Point {idx: r.idx, grp: r.grp, spread: r.spread})", {"rows": rows})
    out["graph_load_s"] = time.perf_counter() - t1
    return out


def calibrate(fed: federation.Federation, points: int, params: dict) -> fed_calibration.Calibration:
    """The threshold for `auto`, by the calibration a hybrid's load runs (its own rounds), on this benchmark's join."""
    # wall clock: the fastest of "wall - run-queue waits" read 0.02-0.1 ms at 1k-4k ids in a 1M run (waits
    # over-subtracted), so the calibration's statistic (the fastest run) is not taken on it
    return fed_calibration.calibrate(points, federation.calibration_run(fed, SQL_FED, params))


ORDERS = tuple(itertools.permutations(("any", "temp", "auto")))


def rounds_for(n: int, warm_s: float, cal, a) -> int:
    """Rounds of a case: as many as take about --case-seconds by its warm-up round, within [--reps,
    --small-reps]; at least 2 x --reps within 4x of a threshold (where the paths are close)."""
    near = any(t is not None and t / 4 <= n <= t * 4 for t in (cal.thresholds.values() if cal else ()))
    lo = a.reps * (2 if near else 1)
    return max(lo, min(a.small_reps, int(a.case_seconds / max(warm_s, 1e-6))))


def one_round(pg, g, feds, lay: str, n: int, params: dict, order: Sequence[str], any_text: str) -> dict:
    """One round of a case: the graph part once, then the variants in `order` and the reference last, on
    the same key rows; seconds per column (`<name>_q`: of it, the client's and backend's run-queue waits),
    auto's path; every variant's answer checked equal to `any`'s."""
    queued = fed_calibration.run_queue_clock(pg)
    assert queued is not None, "the benchmark needs /proc/<pid>/schedstat of its PostgreSQL backend"
    t0 = time.perf_counter()
    ids = [r[0] for r in g.query(CY_IDS.format(prop=LAYOUTS[lay]), {"n": n}, timeout_ms=600_000)]
    out: dict = {"graph": time.perf_counter() - t0}
    keyrows = [(i,) for i in ids]
    got = {}
    for name in (*order, "ref"):
        q0 = queued()
        if name == "ref":
            t = time.perf_counter()
            got[name] = pg.execute(SQL_ANY, {**params, "ids": ids}).fetchone()
            out[name] = time.perf_counter() - t
            out[f"{name}_q"] = queued() - q0
            continue
        ans = feds[{"temp": "temp_table"}.get(name, name)].run(lambda: keyrows, ("idx",), SQL_FED, any_text, params)
        out[f"{name}_q"] = queued() - q0
        got[name], ph = ans.rows[0], ans.phases
        out[name] = ph["transfer"] + ph["sql"]
        out[f"{name}_t"], out[f"{name}_s"] = ph["transfer"], ph["sql"]
        if name == "auto":
            out["auto_path"] = ans.notes["federation"]
    first = got["any"]
    assert len(ids) == n and first[0] == 2 * n, (lay, n, first)
    for name, row in got.items():
        assert row[0] == first[0] and abs(row[1] - first[1]) <= 1e-6 * max(1.0, abs(first[1])), (name, row, first)
    return out


def measure(pg, g, feds, cases, params, a, cal) -> dict:
    """Per case, all its rounds together (each case in the warm state of its own size: the session table
    holds the previous round's load of this size when a temp-table run clears it, whichever variant ran
    before), after one warm-up round; the three variants' order cycles through all six permutations, so
    each follows each equally often. {case: {column: [seconds per round], "auto_path": {paths}}}."""
    any_text = federation.any_statement(("idx",), SQL_FED)
    res = {}
    for lay, n in cases:
        t = time.perf_counter()
        one_round(pg, g, feds, lay, n, params, ORDERS[0], any_text)  # warm-up, not recorded
        rounds = rounds_for(n, time.perf_counter() - t, cal, a) if cal is not None else 0
        r: dict = {"auto_path": set()}
        for rep in range(rounds):
            out = one_round(pg, g, feds, lay, n, params, ORDERS[rep % len(ORDERS)], any_text)
            r["auto_path"].add(out.pop("auto_path", None))
            for k, v in out.items():
                r.setdefault(k, []).append(v)
        res[(lay, n)] = r
    return res


def case_stats(r: dict) -> dict:
    """Per variant its own time (ms): wall clock less the client's and backend's run-queue waits, median
    over the rounds (`u`), its phases' medians; the better fixed path by `u`; auto / better by medians of
    `u` with a 95 % bootstrap interval (the criterion); beside it by wall-clock medians and fastest runs."""
    own = {k: [max(0.0, w - q) for w, q in zip(r[k], r[f"{k}_q"])] for k in ("any", "temp", "auto", "ref")}
    u = {k: statistics.median(v) * 1000 for k, v in own.items()}
    m = {k: statistics.median(v) * 1000 for k, v in r.items() if k != "auto_path"}
    best = "any" if u["any"] <= u["temp"] else "temp"
    wall_fast = min(r["auto"]) / min(min(r["any"]), min(r["temp"]))
    queued_share = statistics.median(q / w for k in ("any", "temp", "auto") for w, q in zip(r[k], r[f"{k}_q"]))
    return {"u": u, "m": m, "best": best, "ratio": fed_crossing.ratio_ci(own["auto"], own[best], q=0.5),
            "n": len(r["auto"]), "median_ratio": m["auto"] / min(m["any"], m["temp"]), "fast_ratio": wall_fast,
            "queued": queued_share}


def report(res: dict, cases, cal, load0: str) -> None:
    load1 = Path("/proc/loadavg").read_text().strip()
    print(f"\nmedians of each case's interleaved rounds (n) of each variant's own time: wall clock less the "
          f"run-queue waits of client and backend; ms (same answers checked every round); load before: {load0}; "
          f"after: {load1}")
    print(f"auto's thresholds: {cal.thresholds} ids, band {cal.band}, {cal.status} (calibrated in {cal.seconds:.1f} s)")
    print(f"{'ids':>21} {'n':>3} {'graph':>8} | {'any: xfer':>9} {'sql':>8} {'own':>8} | {'temp: xfer':>10} "
          f"{'sql':>8} {'own':>8} | {'auto':>8} {'path':>10} {'auto/best [95%]':>21} | wall: {'medians':>7} "
          f"{'fastest':>7} {'queued':>6} | {'ANY(%s)':>8}")
    worst = {"own": 0.0, "median": 0.0, "fast": 0.0}
    for lay, n in cases:
        r, st = res[(lay, n)], case_stats(res[(lay, n)])
        u, m, (lo, ratio, hi) = st["u"], st["m"], st["ratio"]
        worst = {"own": max(worst["own"], ratio), "median": max(worst["median"], st["median_ratio"]),
                 "fast": max(worst["fast"], st["fast_ratio"])}
        label = "all points" if lay == "contiguous" and n == max(c[1] for c in cases) and \
            ("scattered", n) not in cases else lay
        print(f"{label:>10} {n:>10,} {st['n']:>3} {m['graph']:>8.2f} | {m['any_t']:>9.3f} {m['any_s']:>8.2f} "
              f"{u['any']:>8.2f} | {m['temp_t']:>10.3f} {m['temp_s']:>8.2f} {u['temp']:>8.2f} | {u['auto']:>8.2f} "
              f"{'/'.join(sorted(r['auto_path'])):>10} {ratio:>6.2f}x [{lo:.2f}-{hi:.2f}] {st['best']:>4} | "
              f"{st['median_ratio']:>12.2f}x {st['fast_ratio']:>6.2f}x {st['queued']:>6.0%} | {u['ref']:>8.2f}")
    print(f"\nauto against the better fixed path, worst case: {worst['own']:.2f}x by medians of own time (the "
          f"criterion), {worst['median']:.2f}x by wall-clock medians, {worst['fast']:.2f}x by fastest wall-clock runs; "
          f"within 1.1x at every size: {'yes' if worst['own'] <= 1.1 else 'NO'}")
    print(f"calibration ({cal.clock}; fastest runs, ms; their ratio temp/any [95% interval], rounds):")
    for lay in cal.any_ms:
        for i, s_ in enumerate(cal.sizes[lay]):
            lo, hi = cal.ratio_ci[lay][i]
            print(f"  {lay:>10} {s_:>9,} ids  any {cal.any_ms[lay][i]:>9.3f}  temp {cal.temp_ms[lay][i]:>9.3f}  "
                  f"temp/any {cal.ratio[lay][i]:.2f} [{lo:.2f}-{hi:.2f}] n={cal.rounds[lay][i]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=9, help="rounds of a case at least (2x within 4x of a threshold)")
    ap.add_argument("--small-reps", type=int, default=61, help="rounds of a case at most")
    ap.add_argument("--case-seconds", type=float, default=12.0,
                    help="rounds of a case: as many as take about this long, within [--reps, --small-reps]")
    ap.add_argument("--root", type=Path, default=Path("/tmp/btb-bench-federation"))
    ap.add_argument("--budget-mb", type=int, default=None,
                    help="trial budget (MiB) for both engines; default unlimited")
    ap.add_argument("--dump", type=Path, default=None, help="write every round's seconds (JSON) here")
    a = ap.parse_args()
    a.root.mkdir(parents=True, exist_ok=True)
    a.root.chmod(0o755)
    provider = LocalProvider(a.root, "benchfed")
    trial = f"bench-fed-{uuid.uuid4().hex[:6]}"
    load0 = Path("/proc/loadavg").read_text().strip()
    started = provider.start(trial, ("falkordb", "postgres"), a.budget_mb << 20 if a.budget_mb else None)
    try:
        eps = started.endpoints
        print(f"engines: {eps['falkordb'].version}; {eps['postgres'].version}")
        g = FalkorSession(eps["falkordb"], graph="benchfed")
        pg = psycopg.connect(eps["postgres"].dsn, autocommit=True,
                             options=f"-c timezone=UTC {federation.session_options()}")
        pg.prepare_threshold = None
        shown = {k: pg.execute(f"show {k}").fetchone()[0] for k in ("shared_buffers", "work_mem", "temp_buffers",
                                                                    "random_page_cost", "max_parallel_workers_per_gather")}
        print("postgres session:", shown)
        print("load:", {k: round(v, 1) for k, v in load(pg, g, a.points).items()})
        params = {"lo": datetime.fromtimestamp(LO_US / 1e6, timezone.utc),
                  "hi": datetime.fromtimestamp(HI_US / 1e6, timezone.utc)}
        pg.execute("checkpoint")  # as a hybrid's ingest does before it calibrates
        base = federation.Federation(pg, "any")
        feds = {"any": base, "temp_table": federation.Federation(pg, "temp_table", table=base.table)}
        sizes = [n for n in SIZES if n <= a.points]
        cases = [(lay, n) for lay in LAYOUTS for n in sizes if lay == "contiguous" or n < a.points]
        measure(pg, g, feds | {"auto": base}, cases, params, a, None)  # a warm-up pass: caches as measured below
        cal = calibrate(base, a.points, params)
        feds["auto"] = federation.Federation(pg, "auto", cal, table=base.table)  # one session table, as a hybrid
        res = measure(pg, g, feds, cases, params, a, cal)
        report(res, cases, cal, load0)
        if a.dump:
            a.dump.write_text(json.dumps({f"{lay} {n}": {k: sorted(v) if k == "auto_path" else v for k, v in r.items()}
                                          for (lay, n), r in res.items()} | {"calibration": cal.to_dict()}))
        g.close()
        pg.close()
    finally:
        provider.stop(trial)
    return 0


if __name__ == "__main__":
    sys.exit(main())
