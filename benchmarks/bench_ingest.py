"""Series ingest: btb's binary COPY (numpy-built, per-day partitions on parallel connections) against
`psql \\copy` of the same samples (CSV exported from the same Parquet) into an identical table, in the
same run on the same scratch server. Target (issue 4): btb >= 0.8 x psql's rows/s.

    python benchmarks/bench_ingest.py --profile small-1w --seed 1 --root /tmp/btb-datasets

Both sides load into an empty, index-less `ts` (indexes come after the load in both cases); the CSV
export is not timed, the Parquet decoding on btb's side is. Runs alternate; the median is reported.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from btb.dataset.format import Manifest, series_files
from btb.engines.postgres import series
from btb.infra.engines.postgres import find_pg_bin, fresh_database
from btb.infra.local import LocalProvider


def export_csv(dataset: Path, out: Path) -> int:
    """All day files, in file order, as one headerless CSV (point_id, time, value); returns rows."""
    n = 0
    with pa.OSFile(str(out), "wb") as sink:
        for f in series_files(dataset):
            t = pq.read_table(f)
            pacsv.write_csv(t, sink, pacsv.WriteOptions(include_header=False))
            n += t.num_rows
    return n


def fresh_ts(dsn: str, manifest: Manifest) -> str:
    with psycopg.connect(dsn, autocommit=True) as c:
        backend = series.create_ts(c, manifest)
        c.execute("checkpoint")
    return backend


def count(dsn: str) -> int:
    with psycopg.connect(dsn) as c:
        return c.execute("select count(*) from ts").fetchone()[0]


def run_psql(bin_dir: Path, dsn: str, csv: Path) -> float:
    cmd = [str(bin_dir / "psql"), dsn, "-v", "ON_ERROR_STOP=1", "-q",
           "-c", f"\\copy ts (point_id, time, value) FROM '{csv}' WITH (FORMAT csv)"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, help="existing dataset dir (else generated from --profile/--seed)")
    ap.add_argument("--profile", default="small-1w")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "btb-datasets")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2, help="btb COPY connections")
    args = ap.parse_args()

    dataset = args.dataset
    if dataset is None:
        from btb.dataset.generator import ensure_dataset

        dataset = ensure_dataset(args.profile, args.seed, args.root)
    manifest = Manifest.read(dataset)
    work = Path(tempfile.mkdtemp(prefix="btb-bench-ingest-"))
    work.chmod(0o755)  # the server runs as 'postgres' when we are root
    csv = work / "series.csv"
    rows = export_csv(dataset, csv)
    bin_dir = find_pg_bin()
    provider = LocalProvider(work / "engines", "bench")
    try:
        dsn = provider.start("bench-ingest", ("postgres",), None).endpoints["postgres"].dsn
        dsns = {side: fresh_database(dsn, f"bench_{side}") for side in ("btb", "psql")}
        secs: dict[str, list[float]] = {"btb": [], "psql": []}
        backend = ""
        for i in range(args.repeat):
            for side in (("psql", "btb") if i % 2 else ("btb", "psql")):
                backend = fresh_ts(dsns[side], manifest)
                if side == "btb":
                    n, s = series.load_series(dsns[side], dataset, timescale=backend.startswith("timescaledb"),
                                              workers=args.workers)
                else:
                    s = run_psql(bin_dir, dsns[side], csv)
                    n = rows
                stored = count(dsns[side])
                if stored != rows or n != rows:
                    raise SystemExit(f"{side}: loaded {n}, stored {stored}, dataset has {rows} rows")
                secs[side].append(s)
                print(f"run {i + 1} {side:4s}: {rows:,} rows in {s:.2f} s = {rows / s:,.0f} rows/s", flush=True)
        med = {k: statistics.median(v) for k, v in secs.items()}
        rate = {k: rows / v for k, v in med.items()}
        print(f"dataset {manifest.profile} seed {manifest.seed}: {rows:,} samples, {manifest.days} days; "
              f"backend: {backend}")
        print(f"btb  binary COPY x{args.workers} conns (from Parquet): median {med['btb']:.2f} s  "
              f"{rate['btb']:,.0f} rows/s")
        print(f"psql \\copy CSV (1 stream, pre-exported): median {med['psql']:.2f} s  {rate['psql']:,.0f} rows/s")
        ratio = rate["btb"] / rate["psql"]
        print(f"ratio btb/psql = {ratio:.2f}  (target >= 0.80: {'MET' if ratio >= 0.8 else 'NOT MET'})")
    finally:
        provider.stop("bench-ingest")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
