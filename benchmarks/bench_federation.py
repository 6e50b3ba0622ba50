"""How should a hybrid hand point ids from the graph engine to PostgreSQL? Measured in one run, for 1k,
10k, 100k and 1M ids:

  graph part   FalkorDB returns the ids (`MATCH (p:Point) WHERE p.grp < $n RETURN p.idx`), every row parsed
  temp+COPY    btb.engines.federation: TRUNCATE fed, binary COPY of the ids, ANALYZE (every load), JOIN ts;
               shown split: copy (TRUNCATE + COPY, incl. the client's list -> int32 array), analyze, join
  ANY inline   wave 1's way: the ids written into the SQL text (`... = ANY(ARRAY[3,17,...])`, window literals
               too, no parameters); building the text counts, as the array conversion counts for temp+COPY
  ANY(ARRAY)   `... WHERE t.point_id = ANY(%s)` with the ids as one array parameter, the plan PostgreSQL picks
  ANY idx      the same statement with seq and bitmap scans disabled (SET LOCAL): the index plan, which is
               ANY's fastest at some sizes; shown so that the ratio is not taken against ANY's worst plan
  JOIN nl      the temp table's JOIN with hash and merge joins disabled (SET LOCAL): index probes from `fed`,
               shown against ANY idx (plan for plan) and against the plan the planner picked
  graph alone  FalkorDB answers the same question itself (samples as arrays on the point nodes)

The question: count and sum of the samples of the chosen points in a window (2 of each point's 4 samples).
Data: 1M points x 4 samples in `ts` (index on (point_id, time)), the same values on 1M FalkorDB nodes.
Medians of --reps runs, interleaved per size (each of the three SQL paths goes first in turn). Both
engines started by the local provider in one slot (--budget-mb: sized settings; default unlimited = fixed).
The plan of each path at each size is printed (EXPLAIN), and the machine's load average before and after.

    python benchmarks/bench_federation.py [--points 1000000] [--reps 5] [--root /tmp/bench-fed] [--budget-mb N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import psycopg

from btb.engines import federation
from btb.engines.graph.client import FalkorSession
from btb.infra.local import LocalProvider

SIZES = (1_000, 10_000, 100_000, 1_000_000)
SAMPLES = 4
T0 = "2024-01-08 00:00:00+00"
LO_US, HI_US = 1704672000_000_000 + 3_600_000_000, 1704672000_000_000 + 3 * 3_600_000_000
SQL_FED = ("select count(*), sum(t.value) from fed f join ts t on t.point_id = f.idx "
           "where t.time >= %(lo)s and t.time < %(hi)s")
SQL_ANY = "select count(*), sum(t.value) from ts t where t.point_id = any(%(ids)s) and t.time >= %(lo)s and t.time < %(hi)s"
# Which points: `grp < n` picks n contiguous ids (0..n-1: their rows are adjacent in ts and its index, so a
# merge join stops after the first n/points of the index); `spread < n` picks n ids scattered over the whole
# range (spread = idx * SPREAD_MUL mod points, a permutation), as the points of one building or one class are
# among all points of a dataset. Both are shown: the id layout, not the transfer, decides most of the ratio.
LAYOUTS = {"contiguous": "grp", "scattered": "spread"}
SPREAD_MUL = 999_983  # prime: coprime with any --points that it does not divide


def sql_inline(ids: list[int], lo: str, hi: str) -> str:
    """Wave 1's statement: every id a literal in the text (what DESIGN §1 replaced by temp table + COPY)."""
    return (f"select count(*), sum(t.value) from ts t where t.point_id = any(array[{','.join(map(str, ids))}]) "
            f"and t.time >= '{lo}' and t.time < '{hi}'")


CY_IDS = "MATCH (p:Point) WHERE p.{prop} < $n RETURN p.idx"
CY_ALONE = ("MATCH (p:Point) WHERE p.{prop} < $n UNWIND range(0, size(p.ts) - 1) AS i WITH p, i "
            "WHERE p.ts[i] >= $lo AND p.ts[i] < $hi RETURN count(*), sum(p.vs[i])")


def value(i: np.ndarray) -> np.ndarray:
    return (i % 97) * 0.5


def load(pg: psycopg.Connection, g: FalkorSession, points: int) -> dict[str, float]:
    out = {}
    t0 = time.perf_counter()
    pg.execute("drop table if exists ts")
    pg.execute("create table ts (point_id int not null, time timestamptz not null, value float8 not null)")
    pg.execute(f"insert into ts select i / {SAMPLES}, timestamptz '{T0}' + (i % {SAMPLES}) * interval '1 hour', "
               f"((i / {SAMPLES}) % 97) * 0.5 from generate_series(0, {points * SAMPLES - 1}) i")
    pg.execute("create index on ts (point_id, time)")
    pg.execute("analyze ts")
    out["pg_load_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    g.delete_graph()
    g.write("CREATE INDEX FOR (p:Point) ON (p.grp)")
    g.write("CREATE INDEX FOR (p:Point) ON (p.spread)")
    if points % SPREAD_MUL == 0:
        raise SystemExit(f"--points must not be a multiple of {SPREAD_MUL}")
    base = 1704672000_000_000
    ts = [base + h * 3_600_000_000 for h in range(SAMPLES)]
    for lo in range(0, points, 20_000):
        idx = np.arange(lo, min(points, lo + 20_000))
        v = value(idx)
        rows = [{"idx": int(i), "grp": int(i), "spread": int(i) * SPREAD_MUL % points, "ts": ts,
                 "vs": [float(x)] * SAMPLES} for i, x in zip(idx, v)]
        g.write("UNWIND $rows AS r CREATE (:Point {idx: r.idx, grp: r.grp, spread: r.spread, ts: r.ts, vs: r.vs})",
                {"rows": rows})
    out["graph_load_s"] = time.perf_counter() - t1
    return out


# Plans the planner did not pick, to time them: ANY's index plan, and the JOIN as index probes (nested loop).
ANY_INDEX = ("enable_seqscan", "enable_bitmapscan")
JOIN_PROBES = ("enable_hashjoin", "enable_mergejoin")


@contextmanager
def _disabled(pg: psycopg.Connection, disable: tuple[str, ...]) -> Iterator[None]:
    """A transaction with some plan types off (SET LOCAL: gone when it ends)."""
    with pg.transaction():
        for setting in disable:
            pg.execute(f"set local {setting} = off")
        yield


def _plan(pg: psycopg.Connection, text: str, params: dict, disable: tuple[str, ...] = ()) -> str:
    """The plan's join/scan nodes in one line (EXPLAIN, no ANALYZE)."""
    import re

    with _disabled(pg, disable):
        lines = [r[0] for r in pg.execute("explain " + text, params)]
    nodes = [re.sub(r"\s*\(cost=.*", "", ln).strip(" ->") for ln in lines if "cost=" in ln]
    keep = [n for n in nodes if any(w in n for w in ("Join", "Nested", "Scan", "Sort", "Gather"))]
    return " / ".join(keep)


def _forced(pg: psycopg.Connection, text: str, params: dict, disable: tuple[str, ...]) -> tuple[tuple, float]:
    """A statement with some plan types disabled: only the statement is timed, not the SET LOCALs."""
    with _disabled(pg, disable):
        t = time.perf_counter()
        row = pg.execute(text, params).fetchone()
        return row, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=5)
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
                                                                    "max_parallel_workers_per_gather")}
        print("postgres session:", shown)
        print("load:", {k: round(v, 1) for k, v in load(pg, g, a.points).items()})
        sizes_mb = pg.execute("select pg_relation_size('ts') >> 20, pg_indexes_size('ts') >> 20").fetchone()
        print(f"ts: {sizes_mb[0]} MiB heap + {sizes_mb[1]} MiB index")
        federation.create_temp_table(pg)
        from datetime import datetime, timezone

        lo = datetime.fromtimestamp(LO_US / 1e6, timezone.utc)
        hi = datetime.fromtimestamp(HI_US / 1e6, timezone.utc)
        sizes = [n for n in SIZES if n <= a.points]
        cases = [(lay, n) for lay in LAYOUTS for n in sizes if lay == "contiguous" or n < a.points]
        keys = ("graph", "copy", "analyze", "join", "joinnl", "fed", "inline", "any", "anyidx", "alone")
        res: dict[tuple[str, int], dict[str, list[float]]] = {c: {k: [] for k in keys} for c in cases}
        plans: dict[tuple[str, int], dict[str, str]] = {}
        for rep in range(a.reps + 1):  # first round: warm-up, not recorded
            for lay, n in cases:
                prop = LAYOUTS[lay]
                t0 = time.perf_counter()
                ids = [r[0] for r in g.query(CY_IDS.format(prop=prop), {"n": n}, timeout_ms=600_000)]
                t1 = time.perf_counter()
                out: dict[str, float] = {"graph": t1 - t0}
                params = {"lo": lo, "hi": hi}

                def fed_path() -> tuple:
                    t = time.perf_counter()
                    steps: dict[str, float] = {}
                    federation.transfer(pg, ("idx",), np.asarray(ids, np.int32), timings=steps)
                    tj = time.perf_counter()
                    row = pg.execute(SQL_FED, params).fetchone()
                    out["join"] = time.perf_counter() - tj
                    out["fed"] = time.perf_counter() - t
                    out["copy"] = tj - t - steps["analyze"]  # the array conversion counts: ANY pays its own
                    out["analyze"] = steps["analyze"]
                    return row

                def inline_path() -> tuple:
                    t = time.perf_counter()
                    row = pg.execute(sql_inline(ids, lo.isoformat(), hi.isoformat())).fetchone()
                    out["inline"] = time.perf_counter() - t
                    return row

                def any_path() -> tuple:
                    t = time.perf_counter()
                    row = pg.execute(SQL_ANY, {**params, "ids": ids}).fetchone()
                    out["any"] = time.perf_counter() - t
                    return row

                paths = {"fed": fed_path, "any": any_path, "inline": inline_path}
                order = list(paths)[rep % 3:] + list(paths)[:rep % 3]  # each path first in turn
                got = {k: paths[k]() for k in order}
                fed, anyr, inl = got["fed"], got["any"], got["inline"]
                anyi, out["anyidx"] = _forced(pg, SQL_ANY, {**params, "ids": ids}, ANY_INDEX)
                fednl, out["joinnl"] = _forced(pg, SQL_FED, params, JOIN_PROBES)  # fed still holds these ids
                t3 = time.perf_counter()
                alone = g.query(CY_ALONE.format(prop=prop), {"n": n, "lo": LO_US, "hi": HI_US}, timeout_ms=600_000)[0]
                out["alone"] = time.perf_counter() - t3
                assert len(ids) == n and fed[0] == anyr[0] == anyi[0] == alone[0] == 2 * n, (n, fed, anyr, alone)
                assert inl[0] == fednl[0] == fed[0], (n, fed, inl, fednl)
                for other in (inl[1], anyr[1], anyi[1], alone[1], fednl[1]):
                    assert abs(fed[1] - other) < 1e-6 * max(1, abs(fed[1])), (n, fed, other)
                if rep == 0:  # plans as the measured statements get them (fed holds these n ids now)
                    plans[(lay, n)] = {"temp+JOIN": _plan(pg, SQL_FED, params),
                                "inline": _plan(pg, sql_inline(ids, lo.isoformat(), hi.isoformat()), {}),
                                "ANY": _plan(pg, SQL_ANY, {**params, "ids": ids}),
                                "ANY idx": _plan(pg, SQL_ANY, {**params, "ids": ids}, ANY_INDEX),
                                "JOIN nl": _plan(pg, SQL_FED, params, JOIN_PROBES)}
                else:
                    for k, v in out.items():
                        res[(lay, n)][k].append(v)
        load1 = Path("/proc/loadavg").read_text().strip()
        med = {c: {k: statistics.median(v) for k, v in d.items()} for c, d in res.items()}
        print(f"\nmedian of {a.reps} runs, milliseconds (same answers checked each run); load before: {load0}; "
              f"after: {load1}")
        print(f"{'ids':>21} {'graph':>8} | {'copy':>7} {'analyze':>7} {'join':>7} {'temp':>7} | {'inline':>8} "
              f"{'ANY':>7} {'ANY idx':>7} | {'inline/temp':>11} {'ANY/temp':>8} {'ANYidx/temp':>11} "
              f"{'ANY/join':>8} | {'graph alone':>11}")
        for lay, n in cases:
            m = {k: v * 1000 for k, v in med[(lay, n)].items()}
            print(f"{lay:>10} {n:>10,} {m['graph']:>8.1f} | {m['copy']:>7.1f} {m['analyze']:>7.1f} {m['join']:>7.1f} "
                  f"{m['fed']:>7.1f} | {m['inline']:>8.1f} {m['any']:>7.1f} {m['anyidx']:>7.1f} | "
                  f"{m['inline'] / m['fed']:>10.1f}x {m['any'] / m['fed']:>7.1f}x "
                  f"{m['anyidx'] / m['fed']:>10.1f}x {min(m['any'], m['anyidx']) / m['join']:>7.1f}x | "
                  f"{m['alone']:>11.1f}")
        print("  (ANY/join: ANY's faster plan against the JOIN alone, i.e. with a transfer that cost nothing)")
        print("\nthe JOIN's plan against index probes (hash and merge joins off), milliseconds:")
        for lay, n in cases:
            m = {k: v * 1000 for k, v in med[(lay, n)].items()}
            print(f"  {lay:>10} {n:>9,}  join {m['join']:>8.1f}  nested loop {m['joinnl']:>8.1f}  "
                  f"ANY idx {m['anyidx']:>8.1f}  ANY idx / nested loop {m['anyidx'] / m['joinnl']:.1f}x")
        print("\ngrowth per 10x ids:  temp (copy, analyze, join) | inline, ANY, ANY idx | graph alone")
        for (la, a_), (lb, b_) in zip(cases, cases[1:]):
            if la != lb:
                continue
            r = {k: med[(lb, b_)][k] / med[(la, a_)][k] for k in keys}
            print(f"  {la:>10} {a_:>9,} -> {b_:>9,}: {r['fed']:.1f}x "
                  f"({r['copy']:.1f}x, {r['analyze']:.1f}x, {r['join']:.1f}x) | "
                  f"{r['inline']:.1f}x, {r['any']:.1f}x, {r['anyidx']:.1f}x | {r['alone']:.1f}x")
        print("\nplans (EXPLAIN):")
        for lay, n in cases:
            for k, v in plans[(lay, n)].items():
                print(f"  {lay:>10} {n:>9,} {k:<10} {v}")
        g.close()
        pg.close()
    finally:
        provider.stop(trial)
    return 0


if __name__ == "__main__":
    sys.exit(main())
