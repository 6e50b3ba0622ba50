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
a round runs the graph part once, then auto, any and temp on the same key rows in an order rotated round by
round (auto-any-temp, any-temp-auto, temp-auto-any), then the reference; the garbage collector is off during
a case's rounds. Rounds per case: as many as take about --case-seconds, within [--reps, --small-reps], at
least 2 x --reps within 4x of a threshold, rounded up to a multiple of 6. Statistic: medians of wall-clock
time over the rounds; the criterion auto / the better fixed path as the ratio of medians with a 95 %
bootstrap interval. Where auto took path X it ran X's code, so auto / X is noise or order; beside it X's
own noise: the ratio of the medians of its two halves (alternate rotations). A size over 1.1x is reported
as such, with "within the noise (same code)" when auto took the better path and the ratio is within that
noise. Per layout, the calibrated threshold is checked to lie between the sizes where either fixed path
wins by more than the noise. Beside: the ratio of the fastest runs, the run-queue waits' share of the
runs' wall time (schedstat of client and backend). The answers of every path are checked equal in every
round. Both engines started by the local provider in one slot (--budget-mb: sized settings; default
unlimited = fixed). Load average printed before and after.

    python benchmarks/bench_federation.py [--points 1000000] [--reps 9] [--small-reps 301] [--case-seconds 12]
                                          [--root /tmp/bench-fed] [--budget-mb N]
"""

from __future__ import annotations

import argparse
import gc
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


VARIANTS = ("auto", "any", "temp")
ORDERS = tuple(VARIANTS[i:] + VARIANTS[:i] for i in range(len(VARIANTS)))  # rotations: each variant in each place
BLOCK = len(ORDERS)  # rounds of one full rotation


def rounds_for(n: int, warm_s: float, cal, a) -> int:
    """Rounds of a case: as many as take about --case-seconds by its warm-up round, within [--reps,
    --small-reps]; at least 2 x --reps within 4x of a threshold (where the paths are close); a multiple of
    2 x BLOCK, so each half of the rounds (alternate rotations) holds every order equally often."""
    near = any(t is not None and t / 4 <= n <= t * 4 for t in (cal.thresholds.values() if cal else ()))
    lo = a.reps * (2 if near else 1)
    want = max(lo, min(a.small_reps, int(a.case_seconds / max(warm_s, 1e-6))))
    return -(-want // (2 * BLOCK)) * 2 * BLOCK


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
    before), after one warm-up round; the three variants' order rotates round by round (ORDERS), the
    garbage collector off during a case's rounds (as in timeit). {case: {column: [seconds per round],
    "auto_path": {paths}}}."""
    any_text = federation.any_statement(("idx",), SQL_FED)
    res = {}
    for lay, n in cases:
        gc.collect()
        gc.disable()
        try:
            t = time.perf_counter()
            one_round(pg, g, feds, lay, n, params, ORDERS[0], any_text)  # warm-up, not recorded
            rounds = rounds_for(n, time.perf_counter() - t, cal, a) if cal is not None else 0
            r: dict = {"auto_path": set()}
            for rep in range(rounds):
                out = one_round(pg, g, feds, lay, n, params, ORDERS[rep % BLOCK], any_text)
                r["auto_path"].add(out.pop("auto_path", None))
                for k, v in out.items():
                    r.setdefault(k, []).append(v)
        finally:
            gc.enable()
        res[(lay, n)] = r
    return res


def halves_ratio(xs: Sequence[float]) -> float:
    """The noise of one variant's runs: the ratio (>= 1) of the medians of its two halves, alternate
    rotations (rounds 0-2, 6-8, ... against 3-5, 9-11, ...), interleaved as auto and a fixed path are."""
    a = [x for i, x in enumerate(xs) if (i // BLOCK) % 2 == 0]
    b = [x for i, x in enumerate(xs) if (i // BLOCK) % 2 == 1]
    ma, mb = statistics.median(a), statistics.median(b)
    return max(ma / mb, mb / ma)


def case_stats(r: dict) -> dict:
    """Medians (ms) of every column; the better fixed path by them; auto / better as the ratio of medians
    with a 95 % bootstrap interval over the rounds (the criterion); the path auto took (`took`: "any" or
    "temp"), auto / that path (the same code: noise or order), and that path's own noise (`halves_ratio`);
    beside them the ratio of the fastest runs and the share of run-queue waits."""
    m = {k: statistics.median(v) * 1000 for k, v in r.items() if k != "auto_path"}
    best = "any" if m["any"] <= m["temp"] else "temp"
    paths = {"temp_table" if p == "temp_table" else "any" for p in r["auto_path"]}
    took = "temp" if paths == {"temp_table"} else "any" if paths == {"any"} else "mixed"
    same = took if took != "mixed" else best
    queued = statistics.median(q / w for k in VARIANTS for w, q in zip(r[k], r[f"{k}_q"]))
    return {"m": m, "best": best, "took": took, "ratio": fed_crossing.ratio_ci(r["auto"], r[best], q=0.5),
            "n": len(r["auto"]), "self": m["auto"] / m[same], "noise": halves_ratio(r[same]),
            "fast": min(r["auto"]) / min(min(r["any"]), min(r["temp"])), "queued": queued,
            "temp_any": m["temp"] / m["any"], "margin": max(1.05, halves_ratio(r["any"]), halves_ratio(r["temp"]))}


def verdict(st: dict) -> str:
    ratio = st["ratio"][1]
    if ratio <= 1.1:
        return "ok"
    if st["took"] == st["best"] and ratio <= st["noise"]:
        return "OVER 1.1x, within the noise (same code)"
    return "OVER 1.1x" + ("" if st["took"] == st["best"] else f" (auto took {st['took']})")


def report(res: dict, cases, cal, load0: str) -> None:
    load1 = Path("/proc/loadavg").read_text().strip()
    print(f"\nmedians (ms) of each case's interleaved rounds (n; order rotated round by round), wall clock; same "
          f"answers checked every round; load before: {load0}; after: {load1}")
    print(f"auto's thresholds: {cal.thresholds} ids, band {cal.band}, {cal.status} (calibrated in {cal.seconds:.1f} s)")
    print(f"{'ids':>21} {'n':>3} {'graph':>8} | {'any: xfer':>9} {'sql':>8} {'total':>8} | {'temp: xfer':>10} "
          f"{'sql':>8} {'total':>8} | {'auto':>8} {'took':>4} {'best':>4} {'auto/best [95%]':>21} {'auto/took':>9} "
          f"{'noise':>6} | {'fastest':>7} {'queued':>6} | {'ANY(%s)':>8} verdict")
    worst, verdicts = 0.0, []
    for lay, n in cases:
        st = case_stats(res[(lay, n)])
        m, (lo, ratio, hi) = st["m"], st["ratio"]
        worst = max(worst, ratio)
        verdicts.append(verdict(st))
        label = "all points" if lay == "contiguous" and n == max(c[1] for c in cases) and \
            ("scattered", n) not in cases else lay
        print(f"{label:>10} {n:>10,} {st['n']:>3} {m['graph']:>8.2f} | {m['any_t']:>9.3f} {m['any_s']:>8.2f} "
              f"{m['any']:>8.2f} | {m['temp_t']:>10.3f} {m['temp_s']:>8.2f} {m['temp']:>8.2f} | {m['auto']:>8.2f} "
              f"{st['took']:>4} {st['best']:>4} {ratio:>6.2f}x [{lo:.2f}-{hi:.2f}] {st['self']:>8.2f}x "
              f"{st['noise']:>5.2f}x | {st['fast']:>6.2f}x {st['queued']:>6.0%} | {m['ref']:>8.2f} {verdicts[-1]}")
    print(f"\nauto against the better fixed path, worst case: {worst:.2f}x by medians; within 1.1x at "
          f"{sum(v == 'ok' for v in verdicts)} of {len(verdicts)} sizes; "
          f"{sum('within the noise' in v for v in verdicts)} over 1.1x within the noise of the same code")
    check_thresholds(res, cases, cal)
    print(f"calibration ({cal.clock}; median runs, ms; median of the rounds' ratios temp/any [95% interval], rounds):")
    for lay in cal.any_ms:
        for i, s_ in enumerate(cal.sizes[lay]):
            lo, hi = cal.ratio_ci[lay][i]
            print(f"  {lay:>10} {s_:>9,} ids  any {cal.any_ms[lay][i]:>9.3f}  temp {cal.temp_ms[lay][i]:>9.3f}  "
                  f"temp/any {cal.ratio[lay][i]:.2f} [{lo:.2f}-{hi:.2f}] n={cal.rounds[lay][i]}")


def check_thresholds(res: dict, cases, cal) -> None:
    """Per layout: the sizes where a fixed path wins by more than the noise (max of 1.05 and both paths'
    halves ratios), and whether the calibrated threshold lies between the largest `any` win and the smallest
    `temp` win."""
    for lay in LAYOUTS:
        st = {n: case_stats(res[(l_, n)]) for l_, n in cases if l_ == lay}
        any_w = [n for n, s_ in st.items() if s_["temp_any"] > s_["margin"]]
        temp_w = [n for n, s_ in st.items() if 1 / s_["temp_any"] > s_["margin"]]
        t = cal.thresholds.get(lay)
        lo, hi = max(any_w, default=0), min(temp_w, default=None)
        ok = (t is None and hi is None) or (t is not None and lo < t and (hi is None or t <= hi))
        print(f"threshold check {lay}: any wins beyond the noise at {any_w}, temp at {temp_w}; threshold {t}: "
              f"{'between them' if ok else 'NOT between them'}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=9, help="rounds of a case at least (2x within 4x of a threshold)")
    ap.add_argument("--small-reps", type=int, default=301, help="rounds of a case at most")
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
