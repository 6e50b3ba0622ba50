"""The fixed cost of the federation's session table, step by step: what `btb.engines.fed_table` chose from.

For each load size (1 .. 1M ids, one int4 column, binary COPY), medians of --reps in ms:
  truncate   TRUNCATE fed after a load of that size (a temp table: new file, catalog and cache updates)
  delete     DELETE FROM fed after a load of that size
  copy       the binary COPY of the ids into the emptied table
  analyze    ANALYZE fed holding that load, statistics target 100 (PostgreSQL's default) and 10 (btb's)
  fedtable   FedTable.load as a hybrid calls it (clear the cheap way + COPY + ANALYZE), repeated loads

    python benchmarks/bench_fed_table.py [--reps 9] [--root /tmp/btb-bench-fed-table]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

import numpy as np
import psycopg

from btb.engines import fed_table, federation
from btb.infra.local import LocalProvider

SIZES = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)


def _ms(step: Callable[[], object], reps: int, before: Callable[[], object] = lambda: None) -> float:
    """Median ms of `step`, `before` (untimed) run before each."""
    xs = []
    for _ in range(reps):
        before()
        t = time.perf_counter()
        step()
        xs.append((time.perf_counter() - t) * 1000)
    return statistics.median(xs)


def costs(pg: psycopg.Connection, n: int, reps: int) -> dict[str, float]:
    ids = np.arange(n, dtype=np.int32) * 7
    block = fed_table.idx_copy_block(ids)

    def copy(tbl: str = "fed") -> None:
        with pg.cursor() as cur, cur.copy(f"copy {tbl} (idx) from stdin (format binary)") as cp:
            cp.write(block)

    out = {"truncate": _ms(lambda: pg.execute("truncate fed"), reps, copy),
           "delete": _ms(lambda: pg.execute("delete from fed"), reps, copy)}
    pg.execute("truncate fed")
    out["copy"] = _ms(copy, reps, lambda: pg.execute("truncate fed"))
    for target in (100, fed_table.STATS_TARGET):
        for c in fed_table.COLUMNS:
            pg.execute(f"alter table fed alter column {c} set statistics {target}")
        out[f"analyze {target}"] = _ms(lambda: pg.execute("analyze fed"), reps)
    table = fed_table.FedTable(pg)  # back to btb's statistics target, fresh state
    out["fedtable"] = _ms(lambda: table.load(("idx",), ids), reps)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--root", type=Path, default=Path("/tmp/btb-bench-fed-table"))
    a = ap.parse_args()
    a.root.mkdir(parents=True, exist_ok=True)
    a.root.chmod(0o755)
    provider = LocalProvider(a.root, "benchfedtable")
    trial = f"bench-fed-table-{uuid.uuid4().hex[:6]}"
    load0 = Path("/proc/loadavg").read_text().strip()
    started = provider.start(trial, ("postgres",), None)
    try:
        ep = started.endpoints["postgres"]
        pg = psycopg.connect(ep.dsn, autocommit=True, options=f"-c timezone=UTC {federation.session_options()}")
        fed_table.FedTable(pg)
        print(f"{ep.version}; temp_buffers {pg.execute('show temp_buffers').fetchone()[0]}")
        rows = {n: costs(pg, n, a.reps) for n in SIZES}
        print(f"\nmedian of {a.reps}, ms; load before: {load0}; after: {Path('/proc/loadavg').read_text().strip()}")
        cols = list(rows[SIZES[0]])
        print(f"{'ids':>10} " + " ".join(f"{c:>11}" for c in cols))
        for n, r in rows.items():
            print(f"{n:>10,} " + " ".join(f"{r[c]:>11.3f}" for c in cols))
        pg.close()
    finally:
        provider.stop(trial)
    return 0


if __name__ == "__main__":
    sys.exit(main())
