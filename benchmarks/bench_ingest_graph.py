"""Graph structure ingest on FalkorDB: btb's loader (`btb.engines.graph.structure`: indexes on the empty
graph, then `UNWIND` batches per label and per relation, parameters as text) against FalkorDB's own bulk
path (`falkordb-bulk-insert`, which builds `GRAPH.BULK` binary payloads from CSV) on the same structure, in
the same run, on one FalkorDB started by the local provider. Target (issue 16): btb >= 0.8 x bulk rows/s.

    pip install falkordb-bulk-loader   # benchmark-only tool, not a btb dependency
    python benchmarks/bench_ingest_graph.py --dataset DIR [--repeat 3]

Both sides end with the same nodes, edges and indexes (the bulk loader builds its indexes after the load,
`-i Label:prop`). CSV writing is not timed; reading the Parquet files is timed on btb's side. Runs
alternate; medians reported. Structure only (series chunks have no CSV form in the bulk loader).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

from btb.engines.graph import structure
from btb.engines.graph.client import FalkorSession
from btb.engines.postgres.schema import read_edges, read_nodes
from btb.engines.graph.client import read_password
from btb.infra.local import LocalProvider


def write_csvs(dataset: Path, out: Path) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]], int, int]:
    """One CSV per label (first column `id`) and per relation type (src id, dst id)."""
    nodes = read_nodes(dataset)
    per_label: dict[str, list[dict]] = defaultdict(list)
    for n in nodes:
        per_label[n["type"]].append(structure.node_props(n))
    node_files = []
    for label, rows in per_label.items():
        cols = ["id", *sorted({k for r in rows for k in r} - {"id"})]
        f = out / f"node_{label}.csv"
        with open(f, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for r in rows:
                w.writerow(["" if r.get(c) is None else r.get(c) for c in cols])
        node_files.append((label, f))
    edges = read_edges(dataset)
    per_rel: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for s, r, d in edges:
        per_rel[r].append((s, d))
    rel_files = []
    for rel, pairs in per_rel.items():
        f = out / f"rel_{rel}.csv"
        with open(f, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["src", "dst"])
            w.writerows(pairs)
        rel_files.append((rel, f))
    return node_files, rel_files, len(nodes), len(edges)


def btb_load(s: FalkorSession, dataset: Path) -> float:
    t0 = time.perf_counter()
    s.delete_graph()
    structure.create_indexes(s)
    structure.load_structure(s, dataset)
    return time.perf_counter() - t0


def bulk_load(s: FalkorSession, url: str, graph: str, nodes, rels) -> float:
    s.delete_graph()  # GRAPH.BULK creates new graphs only
    argv = [shutil.which("falkordb-bulk-insert") or str(Path(sys.executable).parent / "falkordb-bulk-insert"),
            graph, "-u", url]
    for label, f in nodes:
        argv += ["-N", label, str(f)]
    for rel, f in rels:
        argv += ["-R", rel, str(f)]
    for label, prop in structure.INDEXES:
        argv += ["-i", f"{label}:{prop}"]
    t0 = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"falkordb-bulk-insert failed: {r.stdout[-500:]} {r.stderr[-1500:]}")
    return secs


def cli_startup() -> float:
    """Seconds the bulk loader's CLI takes to start and exit (`--help`): its share of the bulk figure."""
    t0 = time.perf_counter()
    subprocess.run([shutil.which("falkordb-bulk-insert") or str(Path(sys.executable).parent / "falkordb-bulk-insert"),
                    "--help"], capture_output=True)
    return time.perf_counter() - t0


def counts(s: FalkorSession) -> tuple[int, int]:
    c = structure.structure_counts(s)
    return c["nodes"], c["edges"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--root", type=Path, default=Path("/tmp/btb-bench-ingest-graph"))
    a = ap.parse_args()
    a.root.mkdir(parents=True, exist_ok=True)
    a.root.chmod(0o755)
    provider = LocalProvider(a.root, "benchingest")
    trial = f"bench-ingest-graph-{uuid.uuid4().hex[:6]}"
    started = provider.start(trial, ("falkordb",), None)
    tmp = Path(tempfile.mkdtemp(prefix="btb-bulk-csv-"))
    try:
        ep = started.endpoints["falkordb"]
        print(f"engine: {ep.version}; dataset {a.dataset}")
        host_port = ep.dsn.removeprefix("redis://")
        url = f"redis://:{read_password(ep)}@{host_port}"  # only on this process's argv to its own child
        nodes, rels, n_nodes, n_edges = write_csvs(a.dataset, tmp)
        btb_s = FalkorSession(ep, graph="bench_btb")
        bulk_s = FalkorSession(ep, graph="bench_bulk")
        times: dict[str, list[float]] = {"btb UNWIND": [], "GRAPH.BULK": [], "BULK - CLI": []}
        for _ in range(a.repeat):
            times["btb UNWIND"].append(btb_load(btb_s, a.dataset))
            times["GRAPH.BULK"].append(bulk_load(bulk_s, url, "bench_bulk", nodes, rels))
            times["BULK - CLI"].append(times["GRAPH.BULK"][-1] - cli_startup())
            assert counts(btb_s) == counts(bulk_s) == (n_nodes, n_edges), (counts(btb_s), counts(bulk_s))
        rows = n_nodes + n_edges
        print(f"{n_nodes:,} nodes + {n_edges:,} edges, indexes {len(structure.INDEXES)}; median of {a.repeat}")
        med = {k: statistics.median(v) for k, v in times.items()}
        for k, v in med.items():
            print(f"  {k:<11} {v:8.3f} s  {rows / v:>12,.0f} rows/s   runs: {', '.join(f'{x:.3f}' for x in times[k])}")
        print(f"btb / bulk rows/s: {med['GRAPH.BULK'] / med['btb UNWIND']:.2f}x (target >= 0.8x); "
              f"against the bulk loader without its CLI start-up: {med['BULK - CLI'] / med['btb UNWIND']:.2f}x")
        btb_s.close()
        bulk_s.close()
    finally:
        provider.stop(trial)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
