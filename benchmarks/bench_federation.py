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
Medians of --reps rounds (--small-reps up to 1k ids) after one warm-up round, the paths in a shuffled order
each round (so that no path always follows the temp table's ANALYZE); the
answers of every path are checked equal in every round. Both engines started by the local provider in one
slot (--budget-mb: sized settings; default unlimited = fixed). Load average printed before and after.

    python benchmarks/bench_federation.py [--points 1000000] [--reps 5] [--root /tmp/bench-fed] [--budget-mb N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psycopg

from btb.engines import fed_calibration, federation
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
SMALL = 1_000
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


def calibrate(fed: federation.Federation, points: int, params: dict, reps: int) -> fed_calibration.Calibration:
    """The threshold for `auto`, by the calibration a hybrid's load runs, on this benchmark's join."""
    return fed_calibration.calibrate(points, federation.calibration_run(fed, SQL_FED, params), reps=reps)


def measure(pg, g, feds, cases, params, reps: int, small_reps: int) -> dict:
    """Per case: {column: [seconds per round]} and auto's paths. Sizes up to SMALL ids get `small_reps`
    rounds (their sub-millisecond medians need them; they cost little)."""
    keys = ("graph", "any_t", "any_s", "any", "temp_t", "temp_s", "temp", "auto", "ref")
    res = {c: {k: [] for k in keys} | {"auto_path": set()} for c in cases}
    any_text = federation.any_statement(("idx",), SQL_FED)
    for rep in range(max(reps, small_reps) + 1):  # round 0: warm-up, not recorded
        for lay, n in cases:
            if rep > (small_reps if n <= SMALL else reps):
                continue
            t0 = time.perf_counter()
            ids = [r[0] for r in g.query(CY_IDS.format(prop=LAYOUTS[lay]), {"n": n}, timeout_ms=600_000)]
            out = {"graph": time.perf_counter() - t0}
            keyrows = [(i,) for i in ids]
            got = {}

            def path(name: str):
                ans = feds[name].run(lambda: keyrows, ("idx",), SQL_FED, any_text, params)
                p = ans.phases
                return ans.rows[0], p["transfer"], p["sql"], ans.notes["federation"]

            def ref():
                t = time.perf_counter()
                row = pg.execute(SQL_ANY, {**params, "ids": ids}).fetchone()
                return row, 0.0, time.perf_counter() - t, "ref"

            runs = {"any": lambda: path("any"), "temp": lambda: path("temp_table"), "auto": lambda: path("auto"),
                    "ref": ref}
            order = list(runs)
            random.Random(rep * 7919 + n).shuffle(order)  # no path always follows the temp table's ANALYZE
            for name in order:
                row, tt, ts_, taken = runs[name]()
                got[name] = row
                out[name] = tt + ts_
                if name in ("any", "temp"):
                    out[f"{name}_t"], out[f"{name}_s"] = tt, ts_
                if name == "auto":
                    res[(lay, n)]["auto_path"].add(taken)
            first = got["any"]
            assert len(ids) == n and first[0] == 2 * n, (lay, n, first)
            for name, row in got.items():
                same = row[0] == first[0] and abs(row[1] - first[1]) <= 1e-6 * max(1.0, abs(first[1]))
                assert same, (name, row, first)
            if rep:
                for k, v in out.items():
                    res[(lay, n)][k].append(v)
    return res


def report(res: dict, cases, cal, load0: str) -> None:
    load1 = Path("/proc/loadavg").read_text().strip()
    print(f"\nmedian of the rounds (--reps; --small-reps up to {SMALL:,} ids), milliseconds (same answers checked "
          f"every round); load before: {load0}; after: {load1}")
    print(f"auto's thresholds: {cal.thresholds} ids (calibrated in {cal.seconds:.1f} s)")
    print(f"{'ids':>21} {'graph':>8} | {'any: xfer':>9} {'sql':>8} {'total':>8} | {'temp: xfer':>10} {'sql':>8} "
          f"{'total':>8} | {'auto':>8} {'path':>10} {'auto/best':>9} | {'ANY(%s)':>8} | min: {'any':>8} {'temp':>8} "
          f"{'auto':>8} {'auto/best':>9}")
    worst = {"median": 0.0, "min": 0.0}
    for lay, n in cases:
        r = res[(lay, n)]
        m = {k: statistics.median(v) * 1000 for k, v in r.items() if k != "auto_path"}
        lo = {k: min(r[k]) * 1000 for k in ("any", "temp", "auto")}
        ratio, ratio_min = m["auto"] / min(m["any"], m["temp"]), lo["auto"] / min(lo["any"], lo["temp"])
        worst["median"], worst["min"] = max(worst["median"], ratio), max(worst["min"], ratio_min)
        label = "all points" if lay == "contiguous" and n == max(c[1] for c in cases) and \
            ("scattered", n) not in cases else lay
        print(f"{label:>10} {n:>10,} {m['graph']:>8.2f} | {m['any_t']:>9.3f} {m['any_s']:>8.2f} {m['any']:>8.2f} | "
              f"{m['temp_t']:>10.3f} {m['temp_s']:>8.2f} {m['temp']:>8.2f} | {m['auto']:>8.2f} "
              f"{'/'.join(sorted(r['auto_path'])):>10} {ratio:>8.2f}x | {m['ref']:>8.2f} | "
              f"     {lo['any']:>8.2f} {lo['temp']:>8.2f} {lo['auto']:>8.2f} {ratio_min:>8.2f}x")
    print(f"\nauto against the better fixed path, worst case: {worst['median']:.2f}x (medians), "
          f"{worst['min']:.2f}x (minima: what the machine's other load did not add)")
    print("calibration (medians, ms):")
    for lay in cal.any_ms:
        for s, a, t in zip(cal.sizes, cal.any_ms[lay], cal.temp_ms[lay]):
            print(f"  {lay:>10} {s:>9,} ids  any {a:>9.3f}  temp {t:>9.3f}  temp/any {t / a:.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--small-reps", type=int, default=31, help=f"rounds for sizes up to {SMALL:,} ids")
    ap.add_argument("--root", type=Path, default=Path("/tmp/btb-bench-federation"))
    ap.add_argument("--budget-mb", type=int, default=None,
                    help="trial budget (MiB) for both engines; default unlimited")
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
        measure(pg, g, feds | {"auto": base}, cases, params, 0, 0)  # a warm-up pass: caches as measured below
        cal = calibrate(base, a.points, params, a.reps)
        feds["auto"] = federation.Federation(pg, "auto", cal, table=base.table)  # one session table, as a hybrid
        res = measure(pg, g, feds, cases, params, a.reps, a.small_reps)
        report(res, cases, cal, load0)
        g.close()
        pg.close()
    finally:
        provider.stop(trial)
    return 0


if __name__ == "__main__":
    sys.exit(main())
