"""D1's load against DuckDB's own bulk path on the same files, same run (`benchmarks/bench_ingest.py --duckdb`):

    python benchmarks/bench_duckdb_load.py --profiles tiny-1d small-2d small-1w --repeat 5
    python benchmarks/bench_duckdb_load.py DATASET_DIR [DATASET_DIR ...] --repeat 5

Sides, each on a fresh engine host and an empty database file, started alike by the local provider (unlimited
budget: DuckDB's own memory_limit default, threads = the node's cores, preserve_insertion_order true, the
temp directory in the engine's work dir; the settings each host reports are printed and must be equal):
  D1     `DuckFileScenario.ingest`, timed as btb records it (IngestReport.seconds): read nodes and edges once,
         the model check, P1's 8 entity and 10 link tables (one transaction, one request), `ts` from every day
         file (on a second session, meanwhile), CHECKPOINT
  CTAS   `CREATE TABLE nodes/edges/ts AS SELECT * FROM read_parquet(...)` of the same files, then CHECKPOINT,
         timed from the first statement to the checkpoint's end: what a DuckDB user would type to load them,
         with nothing split into P1's tables
Each side's host CPU seconds (user + system of the host process over the side, /proc/<pid>/stat) are shown
too, and their ratio CTAS cpu / D1 cpu: on a shared 2-core machine the wall times of a 0.1-3 s load swing 2-3x
with the other processes' load, the CPU DuckDB spends on the same work much less (it still counts D1's extra
work, P1's 18 tables, which its wall time hides behind the series load on the second session).
Each round runs every dataset's two sides back to back, their order rotated per round, so the pair shares the
machine's load; the ratio per dataset is the median over rounds of the round's CTAS s / D1 s (rows/s of D1
over rows/s of CTAS: both load the same rows), with its range; per-side medians are shown too.
Target (issue 29): D1 >= 0.9 x CTAS.
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
from btb.engines.duckdb.client import HostClient
from btb.engines.duckdb.scenario import DuckFileScenario
from btb.infra.local import LocalProvider

TARGET = 0.9


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


SIDES = {"D1": d1, "CTAS": ctas}


def datasets(args) -> list[Path]:
    out = [p.resolve() for p in args.dataset]
    if args.profiles:
        from btb.dataset.generator import ensure_dataset

        out += [Path(ensure_dataset(p, args.seed, args.root)).resolve() for p in args.profiles]
    if not out:
        raise SystemExit("give dataset dirs or --profiles")
    return out


def host_cpu_s(pid: int) -> float:
    """User + system seconds of a process (its threads included) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_round(provider, i: int, dataset: Path, rows: int, settings: dict) -> dict[str, float]:
    out = {}
    for side in list(SIDES)[i % 2:] + list(SIDES)[:i % 2]:
        trial = f"load-{dataset.name}-{side}-{i}"
        ep = provider.start(trial, ("duckdb",), None).endpoints["duckdb"]
        shown = {k: v for k, v in ep.extra["settings"].items() if k != "temp_directory"}
        if settings.setdefault("shown", shown) != shown:
            raise RuntimeError(f"the sides run under different settings: {settings['shown']} vs {shown}")
        la0 = os.getloadavg()[0]
        try:
            cpu0 = host_cpu_s(ep.pids[0])
            out[side] = s = SIDES[side](ep, dataset)
            out[f"{side} cpu"] = cpu = host_cpu_s(ep.pids[0]) - cpu0
        finally:
            provider.stop(trial)
        print(f"  round {i + 1} {dataset.name:14} {side:4s}: {rows:,} rows in {s:.3f} s = {rows / s:,.0f} rows/s, "
              f"host cpu {cpu:.2f} s (load avg {la0:.1f} -> {os.getloadavg()[0]:.1f})", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path, nargs="*")
    ap.add_argument("--profiles", nargs="+", default=[], help="datasets generated (or reused) under --root")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "btb-datasets")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    dirs = datasets(args)
    manifests = {d: Manifest.read(d) for d in dirs}
    rows = {d: m.counts["samples"] + m.counts["nodes"] + m.counts["edges"] for d, m in manifests.items()}
    work = Path(tempfile.mkdtemp(prefix="btb-bench-duck-load-"))
    work.chmod(0o755)
    provider = LocalProvider(work / "engines", "bench")
    secs: dict[Path, list[dict[str, float]]] = {d: [] for d in dirs}
    settings: dict = {}
    try:
        for i in range(args.repeat):
            for d in dirs:
                secs[d].append(one_round(provider, i, d, rows[d], settings))
    finally:
        for t in provider.trials():
            provider.stop(t)
        shutil.rmtree(work, ignore_errors=True)
    import duckdb

    print(f"\nDuckDB {duckdb.__version__}; both sides' settings {settings.get('shown')}; {args.repeat} rounds; "
          f"machine {os.cpu_count()} cores, load average now {os.getloadavg()[0]:.1f}")
    for d in dirs:
        m, runs = manifests[d], secs[d]
        ratios = [r["CTAS"] / r["D1"] for r in runs]
        r = statistics.median(ratios)
        cpu = statistics.median(x["CTAS cpu"] / x["D1 cpu"] for x in runs if x["D1 cpu"] > 0)
        med = {k: statistics.median(x[k] for x in runs) for k in (*SIDES, "D1 cpu", "CTAS cpu")}
        print(f"{m.profile} seed {m.seed}: {m.counts['samples']:,} samples + {m.counts['nodes']:,} nodes + "
              f"{m.counts['edges']:,} edges; medians D1 {med['D1']:.3f} s, CTAS {med['CTAS']:.3f} s; "
              f"D1 / CTAS (rows/s) = {r:.2f} (rounds {min(ratios):.2f} .. {max(ratios):.2f}; "
              f"target >= {TARGET}: {'MET' if r >= TARGET else 'NOT MET'}); host cpu medians D1 {med['D1 cpu']:.2f} s, "
              f"CTAS {med['CTAS cpu']:.2f} s, CTAS cpu / D1 cpu = {cpu:.2f}")


if __name__ == "__main__":
    main()
