"""Bulk-load comparison for O1's export: btb's HTTP load vs the `oxigraph load` CLI on the same file, same run.

    python benchmarks/bench_rdf_load.py DATASET_DIR [--engines-dir DIR]

Prints one JSON object: triples, file bytes, and seconds + triples/s for
  - `cli`: `oxigraph load --location <fresh dir> --file export.nt --lenient` (the server's own bulk loader
    on a store no server holds open: what a scenario cannot use, the provider owns the running server);
  - `http_file`: the same file streamed to a freshly started server (`POST /store?default&no_transaction&lenient`);
  - `btb_ingest`: O1's whole ingest path on another fresh server (N-Triples generated from the Parquet
    files by a child process while streaming; the store is cleared first, as `ingest` does).
`ratio_*` = CLI seconds / path seconds (≥ 0.8 is the target for the HTTP path).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from btb.engines.base import RunOptions
from btb.engines.rdf import export
from btb.engines.rdf.scenario import LOAD_PARAMS, ChunkRdfScenario
from btb.infra.engines.oxigraph import find_oxigraph
from btb.infra.local import LocalProvider


def file_blocks(path: Path, block: int = 1 << 20):
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            yield chunk


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--engines-dir", type=Path, default=None)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="btb-rdf-loadbench-"))
    work.chmod(0o755)
    out: dict = {"dataset": str(a.dataset)}
    try:
        nt = work / "export.nt"
        t0 = time.perf_counter()
        counts = export.write_nt(a.dataset, nt, series=True)
        out["export_s"] = time.perf_counter() - t0
        n = out["triples"] = counts["triples"]
        out["file_bytes"] = nt.stat().st_size
        # the CLI on a fresh store
        store = work / "cli-store"
        t0 = time.perf_counter()
        subprocess.run([str(find_oxigraph()), "load", "--location", str(store), "--file", str(nt), "--lenient"],
                       check=True, capture_output=True)
        cli = time.perf_counter() - t0
        out["cli"] = {"s": cli, "triples_per_s": n / cli}
        shutil.rmtree(store, ignore_errors=True)
        # a running server started by the provider, as in a trial
        root = a.engines_dir or (work / "engines")
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        provider = LocalProvider(root, "loadbench")

        def fresh_server():  # each path loads into a new, empty store (as a trial's ingest does)
            trial = f"loadbench-{uuid.uuid4().hex[:8]}"
            started = provider.start(trial, ("oxigraph",), None)
            return trial, started, ChunkRdfScenario(started.endpoints, RunOptions(timeout_s=600))

        trial, started, s = fresh_server()
        try:
            t0 = time.perf_counter()
            s.session().post_store(file_blocks(nt), params=LOAD_PARAMS)
            http = time.perf_counter() - t0
            assert s.triples() == n, "HTTP load stored a different number of triples"
            out["http_file"] = {"s": http, "triples_per_s": n / http}
        finally:
            s.close()
            provider.stop(trial)
        trial, started, s = fresh_server()
        try:
            t0 = time.perf_counter()
            rows, phases = s.load_rdf(a.dataset, with_chunks=True)
            full = time.perf_counter() - t0
            out["btb_ingest"] = {"s": full, "load_s": phases["load_s"], "triples_per_s": n / full}
        finally:
            s.close()
            provider.stop(trial)
        out["ratio_http_file"] = cli / http
        out["ratio_btb_ingest"] = cli / full
        out["oxigraph"] = started.endpoints["oxigraph"].version
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
