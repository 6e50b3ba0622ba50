"""How should a hybrid hand point ids from the graph engine to PostgreSQL? Measured in one run, for 1k,
10k, 100k and 1M ids:

  graph part   FalkorDB returns the ids (`MATCH (p:Point) WHERE p.grp < $n RETURN p.idx`), every row parsed
  temp+COPY    btb.engines.federation: TRUNCATE fed, binary COPY of the ids (+ANALYZE above 5k), JOIN ts
  ANY(ARRAY)   `... WHERE t.point_id = ANY(%s)` with the ids as one array parameter
  graph alone  FalkorDB answers the same question itself (samples as arrays on the point nodes)

The question: count and sum of the samples of the chosen points in a window (2 of each point's 4 samples).
Data: 1M points x 4 samples in `ts` (index on (point_id, time)), the same values on 1M FalkorDB nodes.
Medians of --reps runs, interleaved per size. Both engines started by the local provider in one slot.

    python benchmarks/bench_federation.py [--points 1000000] [--reps 5] [--root /tmp/bench-fed]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

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
CY_IDS = "MATCH (p:Point) WHERE p.grp < $n RETURN p.idx"
CY_ALONE = ("MATCH (p:Point) WHERE p.grp < $n UNWIND range(0, size(p.ts) - 1) AS i WITH p, i "
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
    base = 1704672000_000_000
    ts = [base + h * 3_600_000_000 for h in range(SAMPLES)]
    for lo in range(0, points, 20_000):
        idx = np.arange(lo, min(points, lo + 20_000))
        v = value(idx)
        rows = [{"idx": int(i), "grp": int(i), "ts": ts, "vs": [float(x)] * SAMPLES} for i, x in zip(idx, v)]
        g.write("UNWIND $rows AS r CREATE (:Point {idx: r.idx, grp: r.grp, ts: r.ts, vs: r.vs})", {"rows": rows})
    out["graph_load_s"] = time.perf_counter() - t1
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--root", type=Path, default=Path("/tmp/btb-bench-federation"))
    a = ap.parse_args()
    a.root.mkdir(parents=True, exist_ok=True)
    a.root.chmod(0o755)
    provider = LocalProvider(a.root, "benchfed")
    trial = f"bench-fed-{uuid.uuid4().hex[:6]}"
    started = provider.start(trial, ("falkordb", "postgres"), None)
    try:
        eps = started.endpoints
        print(f"engines: {eps['falkordb'].version}; {eps['postgres'].version}")
        g = FalkorSession(eps["falkordb"], graph="benchfed")
        pg = psycopg.connect(eps["postgres"].dsn, autocommit=True,
                              options=f"-c timezone=UTC {federation.session_options()}")
        pg.prepare_threshold = None
        print("federating session:", federation.SESSION_SETTINGS)
        print("load:", {k: round(v, 1) for k, v in load(pg, g, a.points).items()})
        federation.create_temp_table(pg)
        from datetime import datetime, timezone

        lo = datetime.fromtimestamp(LO_US / 1e6, timezone.utc)
        hi = datetime.fromtimestamp(HI_US / 1e6, timezone.utc)
        sizes = [n for n in SIZES if n <= a.points]
        res: dict[int, dict[str, list[float]]] = {n: {k: [] for k in ("graph", "fed", "copy", "any", "alone")}
                                                  for n in sizes}
        for rep in range(a.reps + 1):  # first round: warm-up, not recorded
            for n in sizes:
                t0 = time.perf_counter()
                ids = [r[0] for r in g.query(CY_IDS, {"n": n}, timeout_ms=600_000)]
                t1 = time.perf_counter()
                federation.transfer(pg, ("idx",), np.asarray(ids, np.int32))
                t1b = time.perf_counter()
                fed = pg.execute(SQL_FED, {"lo": lo, "hi": hi}).fetchone()
                t2 = time.perf_counter()
                anyr = pg.execute(SQL_ANY, {"ids": ids, "lo": lo, "hi": hi}).fetchone()
                t3 = time.perf_counter()
                alone = g.query(CY_ALONE, {"n": n, "lo": LO_US, "hi": HI_US}, timeout_ms=600_000)[0]
                t4 = time.perf_counter()
                assert len(ids) == n and fed[0] == anyr[0] == alone[0] == 2 * n, (n, fed, anyr, alone)
                assert abs(fed[1] - anyr[1]) < 1e-6 * max(1, abs(fed[1])) and abs(fed[1] - alone[1]) < 1e-6 * max(1, abs(fed[1]))
                if rep:
                    for k, v in (("graph", t1 - t0), ("fed", t2 - t1), ("copy", t1b - t1), ("any", t3 - t2),
                                 ("alone", t4 - t3)):
                        res[n][k].append(v)
        print(f"\nmedian of {a.reps} runs, seconds (same answers checked each run)")
        print(f"{'ids':>9} {'graph part':>11} {'temp+COPY+JOIN':>15} {'(of it COPY)':>13} {'ANY(ARRAY)':>11} "
              f"{'ANY/temp':>9} {'fed total':>10} {'graph alone':>12}")
        med = {n: {k: statistics.median(v) for k, v in d.items()} for n, d in res.items()}
        for n in sizes:
            m = med[n]
            print(f"{n:>9,} {m['graph']:>11.4f} {m['fed']:>15.4f} {m['copy']:>13.4f} {m['any']:>11.4f} "
                  f"{m['any'] / m['fed']:>8.1f}x "
                  f"{m['graph'] + m['fed']:>10.4f} {m['alone']:>12.4f}")
        print("\nscaling per 10x ids (temp+COPY+JOIN, ANY, graph alone):")
        for a_, b_ in zip(sizes, sizes[1:]):
            print(f"  {a_:>9,} -> {b_:>9,}: " + ", ".join(f"{med[b_][k] / med[a_][k]:.1f}x" for k in ("fed", "any", "alone")))
        g.close()
        pg.close()
    finally:
        provider.stop(trial)
    return 0


if __name__ == "__main__":
    sys.exit(main())
