"""Rows vs chunks on one engine: P1 (one `ts` row per sample) against P1c (one `ts_chunk` row per (point, day),
the samples as arrays), same structure tables, same server, same run.

Both scenarios are loaded into two databases of one PostgreSQL started unlimited by the local provider; then,
per query and binding, the two are run alternately (`side_by_side.alternating`: which goes first alternates, a
first round warms and is not recorded), warm, `--reps` times, through `Scenario.run` (the timed window of a
trial), and their answers are checked equal at every binding (canonical form, the oracle's tolerance).

Printed: per scenario its ingest (wall, series phase), its store (bytes on disk with indexes and TOAST, per
sample, and its series table alone), beside the dataset's Parquet series files (bytes / samples); per query the
median over bindings of each binding's median latency, and P1c / P1. Q1–Q5 run the same SQL on the same tables
in both: their ratio is the method's noise.

    python benchmarks/bench_chunks.py --dataset DIR [--reps 7] [--queries Q6,Q7] [--sizes-only]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

from btb.dataset.answers import same_answer_for
from btb.dataset.format import Manifest, load_bindings, series_files
from btb.engines.base import QUERY_IDS, RunOptions
from btb.engines.registry import scenario_class
from btb.infra.engines.postgres.client import fresh_database
from btb.infra.local import LocalProvider
from side_by_side import alternating

SCENARIOS = ("P1", "P1c")
SERIES_BYTES = {"P1": "ts_bytes", "P1c": "ts_chunk_bytes"}


def load_both(endpoint, dataset: Path, timeout_s: float) -> tuple[dict, dict]:
    """({id: scenario}, {id: IngestReport}): each scenario loaded in a fresh database of the one server, then
    given a new session (as a trial's queries get, never the loading one), after a database-wide VACUUM
    (ANALYZE) of each, so that autovacuum visiting the catalogs of a just-loaded database is not measured."""
    scenarios, reports = {}, {}
    for sid in SCENARIOS:
        ep = replace(endpoint, dsn=fresh_database(endpoint.dsn, f"bench_{sid.lower()}"))
        s = scenario_class(sid)({"postgres": ep}, RunOptions(timeout_s=timeout_s))
        reports[sid] = s.ingest(dataset)
        s.conn().execute("vacuum (analyze)")
        s.conn().execute("checkpoint")
        s.close()
        scenarios[sid] = scenario_class(sid)({"postgres": ep}, RunOptions(timeout_s=timeout_s))
    return scenarios, reports


def print_sizes(dataset: Path, reports: dict) -> None:
    m = Manifest.read(dataset)
    samples = int(m.counts["samples"])
    parquet = sum(f.stat().st_size for f in series_files(dataset))
    print(f"dataset {dataset.name}: {samples:,} samples; Parquet series files {parquet / 2**20:.1f} MiB = "
          f"{parquet / samples:.2f} B/sample; all dataset files {m.bytes / 2**20:.1f} MiB = {m.bytes / samples:.2f} B/sample")
    print(f"{'':>4} {'ingest s':>9} {'series s':>9} {'store MiB':>10} {'B/sample':>9} {'series MiB':>11} "
          f"{'series B/s':>11} {'x Parquet':>10}  backend")
    for sid, r in reports.items():
        ph = r.details["phases"]
        series_s = ph.get("series_total_s", 0.0) + (ph.get("series_index_s", 0.0) if sid == "P1" else 0.0)
        sb = r.details[SERIES_BYTES[sid]]
        print(f"{sid:>4} {r.seconds:>9.2f} {series_s:>9.2f} {r.bytes_on_disk / 2**20:>10.1f} "
              f"{r.bytes_on_disk / samples:>9.2f} {sb / 2**20:>11.1f} {sb / samples:>11.2f} {sb / parquet:>9.2f}x  "
              f"{r.backend}")


def latencies(scenarios: dict, dataset: Path, queries: list[str], reps: int) -> list[tuple]:
    bindings = load_bindings(dataset)
    out = []
    for qid in queries:
        med: dict[str, list[float]] = {sid: [] for sid in SCENARIOS}
        for params in bindings.get(qid, []):
            answers: dict[str, list] = {}

            def once(sid: str) -> float:
                o = scenarios[sid].run(qid, params)
                if o.status != "ok":
                    raise RuntimeError(f"{sid} {qid} {params}: {o.status}: {o.message}")
                answers[sid] = o.rows
                if len(answers) == 2:
                    ok, diff = same_answer_for(qid, answers["P1"], answers["P1c"])
                    assert ok, f"{qid} {params}: P1 and P1c differ\n{diff}"
                return o.seconds

            for sid, sec in alternating(SCENARIOS, once, reps).items():
                med[sid].append(sec)
        if med["P1"]:
            out.append((qid, len(med["P1"]), statistics.median(med["P1"]) * 1000, statistics.median(med["P1c"]) * 1000))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, required=True)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--queries", default=",".join(QUERY_IDS))
    ap.add_argument("--sizes-only", action="store_true", help="load and print the sizes, time no query")
    ap.add_argument("--timeout-s", type=float, default=300)
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="btb-benchchunks-"))
    root.chmod(0o755)  # the server's OS user must reach its work dir
    provider = LocalProvider(root, "benchchunks")
    trial = f"benchchunks-{uuid.uuid4().hex[:6]}"
    try:
        endpoint = provider.start(trial, ("postgres",), None).endpoints["postgres"]
        scenarios, reports = load_both(endpoint, a.dataset, a.timeout_s)
        print_sizes(a.dataset, reports)
        if not a.sizes_only:
            load0 = Path("/proc/loadavg").read_text().strip()
            rows = latencies(scenarios, a.dataset, a.queries.split(","), a.reps)
            load1 = Path("/proc/loadavg").read_text().strip()
            print(f"median over bindings of each binding's median of {a.reps} warm runs (Scenario.run), ms; answers "
                  f"equal at every binding; load before: {load0}; after: {load1}")
            print(f"{'query':>5} {'bindings':>8} {'P1':>9} {'P1c':>9} {'P1c/P1':>7}")
            for qid, n, t1, t2 in rows:
                print(f"{qid:>5} {n:>8} {t1:>9.2f} {t2:>9.2f} {t2 / t1:>6.2f}x")
        for s in scenarios.values():
            s.close()
    finally:
        provider.stop(trial)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
