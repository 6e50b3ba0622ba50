"""D1's load against DuckDB's own bulk path on the same files, same run (`benchmarks/bench_ingest.py --duckdb`):

    python benchmarks/bench_duckdb_load.py DATASET_DIR [--repeat 3]

Sides, each on a fresh engine host and an empty database file, unlimited budget, order rotated per run:
  D1     `DuckFileScenario.ingest`: model check, P1's entity and link tables, `ts`, CHECKPOINT (IngestReport.seconds)
  CTAS   `CREATE TABLE nodes/edges/ts AS SELECT * FROM read_parquet(...)` of the same files, then CHECKPOINT:
         what a DuckDB user would type to load them, with nothing split into P1's tables
Target (issue 29): D1 rows/s >= 0.9 x CTAS rows/s (medians).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from btb.dataset.format import EDGES, NODES, Manifest, series_files
from btb.engines.base import RunOptions
from btb.engines.duckdb import schema
from btb.engines.duckdb.scenario import DuckFileScenario
from btb.engines.duckdb.client import HostClient
from btb.infra.local import LocalProvider


def ctas(ep, dataset: Path) -> float:
    c = HostClient(ep.dsn, ep.extra["authkey_file"])
    try:
        t0 = time.perf_counter()
        c.execute(f"CREATE TABLE nodes AS SELECT * FROM read_parquet({schema.lit(dataset / NODES)})")
        c.execute(f"CREATE TABLE edges AS SELECT * FROM read_parquet({schema.lit(dataset / EDGES)})")
        c.execute(f"CREATE TABLE ts AS SELECT * FROM read_parquet({schema.file_list(series_files(dataset))})")
        c.execute("CHECKPOINT")
        return time.perf_counter() - t0
    finally:
        c.close()


def d1(ep, dataset: Path) -> float:
    s = DuckFileScenario({"duckdb": ep}, RunOptions(timeout_s=3600))
    try:
        return s.ingest(dataset).seconds
    finally:
        s.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    dataset = args.dataset.resolve()
    m = Manifest.read(dataset)
    rows = m.counts["samples"] + m.counts["nodes"] + m.counts["edges"]
    work = Path(tempfile.mkdtemp(prefix="btb-bench-duck-load-"))
    work.chmod(0o755)
    provider = LocalProvider(work / "engines", "bench")
    secs: dict[str, list[float]] = {"D1": [], "CTAS": []}
    sides = {"D1": d1, "CTAS": ctas}
    version = ""
    try:
        for i in range(args.repeat):
            for side in list(sides)[i % 2:] + list(sides)[:i % 2]:
                trial = f"load-{side}-{i}"
                ep = provider.start(trial, ("duckdb",), None).endpoints["duckdb"]
                version = ep.version
                la0 = os.getloadavg()[0]
                s = sides[side](ep, dataset)
                provider.stop(trial)
                secs[side].append(s)
                print(f"run {i + 1} {side:4s}: {rows:,} rows in {s:.3f} s = {rows / s:,.0f} rows/s "
                      f"(load avg {la0:.1f} -> {os.getloadavg()[0]:.1f})", flush=True)
    finally:
        for t in provider.trials():
            provider.stop(t)
        shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in secs.items()}
    print(f"{version}; {m.profile} seed {m.seed}: {m.counts['samples']:,} samples + {m.counts['nodes']:,} nodes + "
          f"{m.counts['edges']:,} edges; {args.repeat} runs, medians: D1 {med['D1']:.3f} s, CTAS {med['CTAS']:.3f} s")
    r = med["CTAS"] / med["D1"]
    print(f"ratio D1 / CTAS (rows/s) = {r:.2f}  (target >= 0.90: {'MET' if r >= 0.9 else 'NOT MET'})")


if __name__ == "__main__":
    main()
