"""Series ingest: btb's binary COPY (numpy-built from Parquet, on parallel connections) against `psql \\copy`,
on the same scratch server, in the same run, on each series backend (native daily partitions and, where
the extension is preloaded, a TimescaleDB hypertable).

    python benchmarks/bench_ingest.py --profile small-1w --seed 1 --root /tmp/btb-datasets
    python benchmarks/bench_ingest.py --backend native --repeat 5

Sides (each loads every sample into an empty, index-less `ts`; indexes come after the load everywhere):
  btb xN      `series.load_series` with N connections (default 2): Parquet decoding and encoding are timed
  btb x1      the same loader on one connection: what the parallel connections earn
  psql bin    the fair anchor (issue 15): ONE `psql` session, `\\copy <table> FROM 'day.bin' (FORMAT binary)`
              per day, files pre-exported (not timed) in exactly the bytes btb sends; <table> is the day's
              leaf partition on native (as btb), the hypertable on TimescaleDB (chunks do not exist before)
  psql bin+   the same stream given btb's server-side shortcut: each day in its own transaction after a
              TRUNCATE of its leaf (native, + `FREEZE`) or of its pre-created chunks (TimescaleDB):
              wal_level=minimal then writes no WAL for the new files: the same server work as btb, so the
              ratio shows what btb's client and parallel connections earn
  psql csv    the old anchor: one `\\copy ts FROM 'all.csv' (FORMAT csv)` into the parent (file-format effect)

With --duckdb (benchmarks/bench_duckdb_load.py, same dataset, same run): D1's whole load (P1's tables built by
DuckDB from the Parquet) against DuckDB's own `CREATE TABLE … AS SELECT * FROM read_parquet` of the same files,
each on a fresh engine host; target D1 >= 0.9 x CTAS (issue 29).

    python benchmarks/bench_ingest.py --profile small-2d --seed 1 --sides '' --duckdb --repeat 5

Targets: btb xN >= 1.2 x psql bin (issue 15: parallel load earns its connections) and >= 0.8 x psql csv
(issue 4). Runs rotate the side order; medians are reported. The machine is shared: load average before
and after each side is printed, and a noisy run says so.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from btb.dataset.format import Manifest, series_files
from btb.engines.postgres import series
from btb.infra.engines.postgres.binaries import find_pg_bin
from btb.infra.engines.postgres.client import fresh_database
from btb.infra.local import LocalProvider

SIDES = ("btb", "btb1", "psqlbin", "psqlbin+", "psqlcsv")
LABEL = {"btb": "btb binary COPY x{w} conns (from Parquet)", "btb1": "btb binary COPY x1 conn (from Parquet)",
         "psqlbin": "psql \\copy binary, 1 stream (pre-exported)",
         "psqlbin+": "psql \\copy binary + truncate/freeze, 1 stream",
         "psqlcsv": "psql \\copy CSV, 1 stream (pre-exported)"}


def export_csv(dataset: Path, out: Path) -> int:
    """All day files, in file order, as one headerless CSV (point_id, time, value); returns rows."""
    n = 0
    with pa.OSFile(str(out), "wb") as sink:
        for f in series_files(dataset):
            t = pq.read_table(f)
            pacsv.write_csv(t, sink, pacsv.WriteOptions(include_header=False))
            n += t.num_rows
    return n


def export_binary(dataset: Path, out_dir: Path) -> dict[int, Path]:
    """One binary COPY file per day, byte for byte what btb's loader sends (header, rows, trailer)."""
    files = {}
    for f in series_files(dataset):
        day = int(f.stem.split("-")[1])
        files[day] = out_dir / f"{f.stem}.bin"
        t = pq.read_table(f, columns=["point_idx", "time", "value"])
        with open(files[day], "wb") as fh:
            fh.write(series.COPY_HEADER)
            for b in t.to_batches(series.BATCH_ROWS):
                fh.write(series.encode_batch(b.column(0).to_numpy(), b.column(1).cast("int64").to_numpy(),
                                             b.column(2).to_numpy()))
            fh.write(series.COPY_TRAILER)
    return files


def fresh_ts(dsn: str, manifest: Manifest, backend: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as c:
        desc = series.create_ts(c, manifest, backend=backend)
        c.execute("checkpoint")
    return desc


def count(dsn: str) -> int:
    with psycopg.connect(dsn) as c:
        return c.execute("select count(*) from ts").fetchone()[0]


def run_psql(bin_dir: Path, dsn: str, commands: list[str]) -> float:
    cmd = [str(bin_dir / "psql"), dsn, "-v", "ON_ERROR_STOP=1", "-q", "-X"]
    for c in commands:
        cmd += ["-c", c]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0


def psql_binary_commands(files: dict[int, Path], timescale: bool, like_btb: bool,
                         chunks: dict[int, tuple[str, ...]] | None = None) -> list[str]:
    out = []
    for day, f in sorted(files.items()):
        target = "ts" if timescale else series.day_name(day)
        if not like_btb:
            out.append(f"\\copy {target} (point_id, time, value) FROM '{f}' WITH (FORMAT binary)")
        elif timescale:  # the day's (pre-created) chunks emptied in the COPY's transaction, as btb does
            out += ["BEGIN", *(f"TRUNCATE {c}" for c in (chunks or {}).get(day, ())),
                    f"\\copy ts (point_id, time, value) FROM '{f}' WITH (FORMAT binary)", "COMMIT"]
        else:
            out += ["BEGIN", f"TRUNCATE {target}",
                    f"\\copy {target} (point_id, time, value) FROM '{f}' WITH (FORMAT binary, FREEZE)", "COMMIT"]
    return out


def server_cpu_s(slot) -> float | None:
    """CPU seconds used so far by every process of the server's cgroup (backends that exited included)."""
    if slot is None:
        return None
    try:
        if "cpuacct" in slot.dirs:
            return int((Path(slot.dirs["cpuacct"]) / "cpuacct.usage").read_text()) / 1e9
        if "unified" in slot.dirs:
            for line in (Path(slot.dirs["unified"]) / "cpu.stat").read_text().splitlines():
                if line.startswith("usage_usec"):
                    return int(line.split()[1]) / 1e6
    except (OSError, ValueError):
        pass
    return None


def client_cpu_s() -> float:
    """CPU seconds of this process (all threads) and of its waited-for children (psql)."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, help="existing dataset dir (else generated from --profile/--seed)")
    ap.add_argument("--profile", default="small-1w")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "btb-datasets")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2, help="btb COPY connections")
    ap.add_argument("--backend", choices=("both", "native", "timescaledb"), default="both",
                    help="series backend(s); timescaledb needs the extension preloaded (skipped, saying so, if not)")
    ap.add_argument("--sides", default=",".join(SIDES), help=f"comma list of {', '.join(SIDES)}")
    ap.add_argument("--oxigraph", action="store_true",
                    help="also load the dataset's RDF export into Oxigraph: `oxigraph load` CLI vs btb's streamed "
                         "POST of the same file vs O1's own ingest, same run (benchmarks/bench_rdf_load.py)")
    ap.add_argument("--duckdb", action="store_true",
                    help="also D1's load vs DuckDB's own CREATE TABLE AS SELECT * FROM read_parquet of the same files, "
                         "same run (benchmarks/bench_duckdb_load.py); with --sides '' only that")
    args = ap.parse_args()
    sides = [s for s in args.sides.split(",") if s]

    dataset = args.dataset
    if dataset is None:
        from btb.dataset.generator import ensure_dataset

        dataset = ensure_dataset(args.profile, args.seed, args.root)
    manifest = Manifest.read(dataset)
    start = datetime.fromisoformat(manifest.start.replace("Z", "+00:00")).astimezone(timezone.utc)
    work = Path(tempfile.mkdtemp(prefix="btb-bench-ingest-"))
    work.chmod(0o755)  # the server runs as 'postgres' when we are root
    csv = work / "series.csv"
    rows = export_csv(dataset, csv) if "psqlcsv" in sides else manifest.counts["samples"]
    bins = export_binary(dataset, work) if {"psqlbin", "psqlbin+"} & set(sides) else {}
    for p in [csv, *bins.values()]:
        if p.exists():
            p.chmod(0o644)
    bin_dir = find_pg_bin()
    provider = LocalProvider(work / "engines", "bench")
    summary = []
    try:
        ep = provider.start("bench-ingest", ("postgres",), None).endpoints["postgres"]
        print(f"server: {ep.version}; series backend available: {ep.extra.get('series_backend')} "
              f"({ep.extra.get('series_backend_why')}); settings: {ep.extra.get('settings')}", flush=True)
        backends = (["native", "timescaledb"] if args.backend == "both" else [args.backend]) if sides else []
        if "timescaledb" in backends and ep.extra.get("series_backend") != "timescaledb":
            print("timescaledb: skipped (not preloaded on this server)")
            backends.remove("timescaledb")
        slot = provider.slot("bench-ingest")
        dsns = {side: fresh_database(ep.dsn, f"bench_{side.replace('+', '_wal')}") for side in sides}
        for backend in backends:
            secs: dict[str, list[float]] = {s: [] for s in sides}
            cpu: dict[str, list[tuple[float, float]]] = {s: [] for s in sides}  # (server, client) CPU s
            desc = ""
            for i in range(args.repeat):
                order = sides[i % len(sides):] + sides[:i % len(sides)]  # rotate: no side always first
                for side in order:
                    dsn = dsns[side]
                    desc = fresh_ts(dsn, manifest, backend)
                    timescale = desc.startswith("timescaledb")
                    la0 = os.getloadavg()[0]
                    scpu0, ccpu0 = server_cpu_s(slot), client_cpu_s()
                    if side in ("btb", "btb1"):
                        n, s = series.load_series(dsn, dataset, timescale=timescale,
                                                  workers=args.workers if side == "btb" else 1)
                    elif side in ("psqlbin", "psqlbin+"):
                        chunks = series._chunks_by_day(dsn, sorted(bins), start) if timescale else None
                        s, n = run_psql(bin_dir, dsn, psql_binary_commands(bins, timescale, side == "psqlbin+",
                                                                           chunks)), rows
                    else:
                        s, n = run_psql(bin_dir, dsn, [f"\\copy ts (point_id, time, value) FROM '{csv}' "
                                                       "WITH (FORMAT csv)"]), rows
                    la1 = os.getloadavg()[0]
                    scpu1, ccpu1 = server_cpu_s(slot), client_cpu_s()
                    scpu = scpu1 - scpu0 if scpu0 is not None and scpu1 is not None else float("nan")
                    cpu[side].append((scpu, ccpu1 - ccpu0))
                    stored = count(dsn)
                    if stored != rows or n != rows:
                        raise SystemExit(f"{side}: loaded {n}, stored {stored}, dataset has {rows} rows")
                    secs[side].append(s)
                    print(f"{backend:11s} run {i + 1} {side:7s}: {rows:,} rows in {s:.2f} s = {rows / s:,.0f} rows/s"
                          f"  (CPU s server {scpu:.2f} client {ccpu1 - ccpu0:.2f}; load avg {la0:.1f} -> {la1:.1f})", flush=True)
            med = {k: statistics.median(v) for k, v in secs.items() if v}
            rate = {k: rows / v for k, v in med.items()}
            lines = [f"[{backend}] {manifest.profile} seed {manifest.seed}: {rows:,} samples, {manifest.days} days; "
                     f"{desc}; {args.repeat} runs, medians:"]
            for k in (k for k in sides if k in med):
                sc = statistics.median(c[0] for c in cpu[k])
                cc = statistics.median(c[1] for c in cpu[k])
                lines.append(f"  {LABEL[k].format(w=args.workers):48s} {med[k]:6.2f} s  {rate[k]:>12,.0f} rows/s  "
                             f"CPU s: server {sc:5.2f} client {cc:5.2f}")
            if "btb" in rate and "psqlbin" in rate:
                r = rate["btb"] / rate["psqlbin"]
                lines.append(f"  ratio btb x{args.workers} / psql binary = {r:.2f}  "
                             f"(target >= 1.20: {'MET' if r >= 1.2 else 'NOT MET'})")
            if "btb" in rate and "psqlbin+" in rate:
                r = rate["btb"] / rate["psqlbin+"]
                lines.append(f"  ratio btb x{args.workers} / psql binary+truncate/freeze = {r:.2f}  "
                             f"(same server work; >= 1.20: {'MET' if r >= 1.2 else 'NOT MET'})")
            if "btb" in rate and "btb1" in rate:
                lines.append(f"  ratio btb x{args.workers} / btb x1 = {rate['btb'] / rate['btb1']:.2f}  "
                             "(what the extra connections earn)")
            if "btb" in rate and "psqlcsv" in rate:
                r = rate["btb"] / rate["psqlcsv"]
                lines.append(f"  ratio btb x{args.workers} / psql CSV = {r:.2f}  "
                             f"(old anchor, mostly the file format; target >= 0.80: {'MET' if r >= 0.8 else 'NOT MET'})")
            summary += lines
            print("\n".join(lines), flush=True)
        print(f"\nmachine: {os.cpu_count()} cores; load average now {os.getloadavg()[0]:.2f} "
              "(shared machine: > cores means the figures are noisy)")
        print("\n".join(summary))
    finally:
        provider.stop("bench-ingest")
        shutil.rmtree(work, ignore_errors=True)
    if args.duckdb:  # the same dataset, same run: D1's load beside DuckDB's own CTAS (prints its own ratio)
        import subprocess
        import sys

        subprocess.run([sys.executable, str(Path(__file__).with_name("bench_duckdb_load.py")), str(dataset), "--repeat",
                        str(args.repeat)], check=True)
    if args.oxigraph:  # the same dataset, same run: RDF load paths side by side (prints its own ratios)
        import subprocess
        import sys

        subprocess.run([sys.executable, str(Path(__file__).with_name("bench_rdf_load.py")), str(dataset)], check=True)


if __name__ == "__main__":
    main()
