"""Writes per paradigm, side by side in one run: append throughput (samples/s) and freshness lag, with the
answers checked against the oracle afterwards.

    python benchmarks/bench_writes.py [--profile tiny-1d | --dataset DIR] [--scenarios P1 P2 F1 F2 O1 O2]
                                      [--speedup 3600] [--capacity-s 20] [--open-s 10] [--rounds 4]

Every scenario is loaded on its own engines (local provider, unlimited), all at once, and gets the same
operations of one seeded ingest workload (`btb.workload.ingest`):

1. capacity: the first `--capacity-s` seconds of the workload's operations applied back to back (no schedule),
   in `--rounds` rounds that visit the scenarios in alternating order, so drift on the shared machine hits
   each alike. Append throughput = samples / Σ of the timed `append` calls (the paradigm's client-side work
   and the engine's commit; generating the operations is not timed).
2. open loop: the next `--open-s` seconds at their intended times (`btb.workload.ingest_driver.run_ingest`),
   one scenario after the other, with the Q6 freshness probe on a second session every 5th batch: offered vs
   achieved samples/s, p50/p95 start lag, p50/p95/max freshness.
3. the gate: every query × binding (as drawn, and with windows stretched over the appends) of every scenario
   against the oracle with that scenario's committed writes in its overlay.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import shutil
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np

from btb.dataset.changes import Overlay, SampleBatch
from btb.dataset.format import load_bindings
from btb.dataset.generator import generate
from btb.engines.base import RunOptions
from btb.engines.registry import engines_of, scenario_class
from btb.infra.local import LocalProvider
from btb.validate import check_after_writes, stretched_bindings
from btb.workload.ingest import IngestGenerator, IngestOp, IngestSpec
from btb.workload.ingest_driver import run_ingest


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def capacity(scenarios: dict, ops: list[IngestOp], id_of: dict, rounds: int, overlays: dict) -> dict[str, dict]:
    """Flat-out appends in alternating rounds; per scenario: samples, Σ append seconds, per-batch p50."""
    out = {sid: {"samples": 0, "append_s": 0.0, "batch_s": [], "changes_s": []} for sid in scenarios}
    parts = np.array_split(np.arange(len(ops)), rounds)
    for r, part in enumerate(parts):
        order = list(scenarios) if r % 2 == 0 else list(scenarios)[::-1]
        chunk = [IngestOp(0.0, ops[i].op) for i in part]  # all due at once: back to back
        for sid in order:
            w, _ = scenarios[sid]
            run = run_ingest(w, chunk, id_of, duration_s=1.0, overlay=overlays[sid])
            if run.errors:
                raise RuntimeError(f"{sid}: {run.errors[:3]}")
            out[sid]["samples"] += run.written_samples
            out[sid]["append_s"] += run.write_seconds
            out[sid]["batch_s"] += run.service_s
            _log(f"capacity round {r + 1}/{rounds} {sid}: {run.written_samples} samples in {run.write_seconds:.2f} s")
    return out


def open_loop(scenarios: dict, ops: list[IngestOp], id_of: dict, duration_s: float, overlays: dict) -> dict:
    runs = {}
    for sid, (w, reader) in scenarios.items():
        runs[sid] = run_ingest(w, ops, id_of, duration_s=duration_s, overlay=overlays[sid], reader=reader,
                               probe_every=5)
        if runs[sid].errors:
            raise RuntimeError(f"{sid}: {runs[sid].errors[:3]}")
        _log(f"open loop {sid}: {runs[sid].achieved_samples_per_s:.0f} of {runs[sid].offered_samples_per_s:.0f} samples/s")
    return runs


def gate(scenarios: dict, dataset: Path, overlays: dict) -> dict[str, str]:
    bindings = load_bindings(dataset)
    out = {}
    for sid, (w, _) in scenarios.items():
        ov = overlays[sid]
        bad = []
        for b in (bindings, stretched_bindings(bindings, ov.last_time_us())):
            bad += [f"{c.qid}#{c.binding} {c.status}" for c in check_after_writes(w, dataset, ov, b) if c.status != "ok"]
        out[sid] = "ok (13 queries, drawn + stretched windows)" if not bad else "FAILED: " + ", ".join(bad[:5])
        _log(f"gate {sid}: {out[sid]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="tiny-1d")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--dataset", type=Path)
    ap.add_argument("--scenarios", nargs="+", default=["P1", "P2", "F1", "F2", "O1", "O2"])
    ap.add_argument("--speedup", type=float, default=3600.0)
    ap.add_argument("--batch-interval-s", type=float, default=0.5)
    ap.add_argument("--metadata-share", type=float, default=0.02)
    ap.add_argument("--capacity-s", type=float, default=20.0, help="workload seconds applied flat out")
    ap.add_argument("--open-s", type=float, default=10.0, help="workload seconds run on schedule")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--pg-series", choices=["auto", "off"], default="auto",
                    help="series table: a TimescaleDB hypertable where installed (auto) or native partitions (off)")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped run still stops its engines (finally)
    os.environ["BTB_PG_TIMESCALE"] = a.pg_series  # read by the local provider when it starts PostgreSQL
    tmp = Path(tempfile.mkdtemp(prefix="btb-bench-writes-"))
    tmp.chmod(0o755)
    dataset = a.dataset
    if dataset is None:
        dataset = tmp / a.profile
        generate(a.profile, a.seed, dataset)
    spec = IngestSpec(speedup=a.speedup, batch_interval_s=a.batch_interval_s, metadata_share=a.metadata_share,
                      duration_s=a.capacity_s + a.open_s, seed=a.seed)
    gen = IngestGenerator(dataset, spec)
    ops = list(gen.ops())
    cap_ops = [o for o in ops if o.at_s < a.capacity_s]
    open_ops = [replace(o, at_s=o.at_s - a.capacity_s) for o in ops if o.at_s >= a.capacity_s]
    provider = LocalProvider(tmp / "engines", "benchwrites")
    (tmp / "engines").mkdir()
    (tmp / "engines").chmod(0o755)
    scenarios: dict = {}
    try:
        for sid in a.scenarios:
            eps = provider.start(f"bw-{sid}-{uuid.uuid4().hex[:6]}", engines_of(sid), None).endpoints
            cls = scenario_class(sid)
            w, reader = cls(eps, RunOptions(timeout_s=120)), cls(eps, RunOptions(timeout_s=120))
            w.ingest(dataset)
            w.prepare_writes()
            _log(f"{sid} loaded")
            scenarios[sid] = (w, reader)
        overlays = {sid: Overlay() for sid in scenarios}
        cap = capacity(scenarios, cap_ops, gen.id_of, a.rounds, overlays)
        runs = open_loop(scenarios, open_ops, gen.id_of, a.open_s, overlays)
        checked = gate(scenarios, dataset, overlays)
        report(a, dataset, gen, cap_ops, open_ops, cap, runs, checked, scenarios)
    finally:
        for w, reader in scenarios.values():
            w.close()
            reader.close()
        for t in provider.trials():
            provider.stop(t)
        shutil.rmtree(tmp, ignore_errors=True)


def report(a, dataset, gen, cap_ops, open_ops, cap, runs, checked, scenarios) -> None:
    n_batches = sum(isinstance(o.op, SampleBatch) for o in cap_ops)
    n_samples = sum(len(o.op) for o in cap_ops if isinstance(o.op, SampleBatch))
    print(f"dataset {dataset.name}: {len(gen.id_of)} points, {len(gen.gateways)} gateways; speedup {a.speedup:g}, "
          f"batch every {a.batch_interval_s:g} s per gateway, metadata share {a.metadata_share:g}")
    print(f"capacity: {n_batches} batches, {n_samples} samples (mean {n_samples / max(1, n_batches):.0f}/batch), "
          f"{a.rounds} alternating rounds; open loop: {a.open_s:g} s offering "
          f"{gen.offered_samples_per_s():.0f} samples/s")
    backends = {sid: _backend(w) for sid, (w, _) in scenarios.items()}
    head = (f"{'scenario':8} {'series store':34} {'append samples/s':>16} {'batch p50 ms':>12} {'p95 ms':>7} "
            f"{'offered/s':>9} {'achieved/s':>10} {'lag p95 ms':>10} {'fresh p50 ms':>12} {'p95 ms':>7} "
            f"{'max ms':>7} {'probes':>6}  answers after writes")
    print(head)
    for sid in scenarios:
        c, r = cap[sid], runs[sid]
        thr = c["samples"] / c["append_s"] if c["append_s"] else float("nan")
        f = [x * 1000 for x in r.freshness_s]
        print(f"{sid:8} {backends[sid][:34]:34} {thr:16.0f} {_pct(c['batch_s'], 50) * 1000:12.2f} "
              f"{_pct(c['batch_s'], 95) * 1000:7.2f} {r.offered_samples_per_s:9.0f} {r.achieved_samples_per_s:10.0f} "
              f"{_pct(r.start_lag_s, 95) * 1000:10.2f} {_pct(f, 50):12.2f} {_pct(f, 95):7.2f} "
              f"{max(f, default=float('nan')):7.2f} {len(f):6d}  {checked[sid]}"
              + (f" [probe failures {len(r.probe_failures)}]" if r.probe_failures else ""))


def _backend(w) -> str:
    if hasattr(w, "_appender"):
        layout = "TimescaleDB hypertable" if w._appender.timescale else "native daily partitions"
        return f"PG ts, {layout}" if w.id not in ("P1", "P2") else layout
    return {"F1": "FalkorDB (point, day) chunk nodes", "M1": "Memgraph chunk nodes",
            "O1": "Oxigraph (point, day) chunk resources"}.get(w.id, w.id)


if __name__ == "__main__":
    main()
