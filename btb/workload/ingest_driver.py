"""Run an ingest workload against a scenario, open loop: each operation starts at its intended time (or at
once when the writer is behind, its lag recorded), so the achieved rate is compared with what the building
offered, not with what a waiting client happened to send.

Only the scenario's `append` / `update_metadata` call is timed (the paradigm's client-side encoding and the
engine's commit); generating the operations is done before the clock starts. Every committed operation
goes into an `Overlay`, so the oracle can judge the answers afterwards; a failed one is counted with its
message and left out.

Freshness: every `probe_every`-th batch, a probe thread polls Q6 — on its own scenario instance, as a
dashboard would — for a 1-µs window around the batch's last sample, until that sample is the answer. The
lag is from the append's return (its commit) to the first poll that sees it; the probe's own latency is
in it, which is the point: it is how late a reader learns of the sample.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable

import numpy as np

from btb.dataset.changes import Overlay, SampleBatch
from btb.engines.base import Scenario
from btb.workload.ingest import IngestOp

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iso_us(t_us: int) -> str:
    return (_EPOCH + timedelta(microseconds=int(t_us))).isoformat()


@dataclass
class IngestRun:
    """What one ingest run offered and achieved, per scenario."""

    scenario: str
    duration_s: float  # the workload's stated wall duration (what was offered over)
    wall_s: float = 0.0  # from the start to the last operation's completion
    ops: int = 0
    batches: int = 0
    changes: int = 0
    offered_samples: int = 0
    written_samples: int = 0
    write_seconds: float = 0.0  # Σ of the timed append calls
    service_s: list[float] = field(default_factory=list)  # per append
    start_lag_s: list[float] = field(default_factory=list)  # actual - intended start, per op
    errors: list[str] = field(default_factory=list)
    freshness_s: list[float] = field(default_factory=list)
    probes_skipped: int = 0
    probe_failures: list[str] = field(default_factory=list)

    @property
    def offered_samples_per_s(self) -> float:
        return self.offered_samples / self.duration_s if self.duration_s else 0.0

    @property
    def achieved_samples_per_s(self) -> float:
        """Written over the step's stated duration, or over the time it took if longer (a writer that fell
        behind): comparable with `offered_samples_per_s`, and never above it by finishing early."""
        span = max(self.wall_s, self.duration_s)
        return self.written_samples / span if span else 0.0

    @property
    def append_samples_per_s(self) -> float:
        """Samples per second of append time: the write path's own throughput, idle time excluded."""
        return self.written_samples / self.write_seconds if self.write_seconds else 0.0


    def summary(self) -> dict[str, float | int | str]:
        """The run's figures as plain values (for a result record or a table); percentiles in seconds, NaN
        where nothing was measured (no probe answered), never 0."""
        def pct(xs: list[float], q: float) -> float:
            return float(np.percentile(xs, q)) if xs else float("nan")

        return {"scenario": self.scenario, "ops": self.ops, "batches": self.batches, "changes": self.changes,
                "errors": len(self.errors), "offered_samples_per_s": self.offered_samples_per_s,
                "achieved_samples_per_s": self.achieved_samples_per_s,
                "append_samples_per_s": self.append_samples_per_s,
                "service_p50_s": pct(self.service_s, 50), "service_p95_s": pct(self.service_s, 95),
                "start_lag_p95_s": pct(self.start_lag_s, 95), "freshness_n": len(self.freshness_s),
                "freshness_p50_s": pct(self.freshness_s, 50), "freshness_p95_s": pct(self.freshness_s, 95),
                "freshness_max_s": max(self.freshness_s, default=float("nan")),
                "probe_failures": len(self.probe_failures), "probes_skipped": self.probes_skipped}


def visible(reader: Scenario, point: str, t_us: int, value: float) -> bool:
    """True when Q6 over [t, t + 1 µs) answers with exactly this sample."""
    out = reader.run("Q6", {"point": point, "start": iso_us(t_us), "end": iso_us(t_us + 1)})
    if out.status != "ok":
        raise RuntimeError(f"freshness probe Q6: {out.status}: {out.message}")
    rows = out.rows or []
    return len(rows) == 1 and rows[0][4] == 1 and abs(float(rows[0][3]) - value) <= 1e-9 * max(1.0, abs(value))


class FreshnessProbe:
    """A thread polling a reader scenario for samples just committed; one probe in flight at a time."""

    def __init__(self, reader: Scenario, run: IngestRun, timeout_s: float = 10.0):
        self.reader, self.run, self.timeout_s = reader, run, timeout_s
        self._q: queue.Queue = queue.Queue()
        self._busy = False  # a probe in flight (set by offer, cleared by the probe thread when it is done)
        self._thread = threading.Thread(target=self._loop, name="btb-freshness", daemon=True)
        self._thread.start()

    def offer(self, committed: float, point: str, t_us: int, value: float) -> None:
        """Probe this sample if the probe is idle; else skip it (counted): a sample left waiting behind the
        previous probe would count that wait as its freshness."""
        if self._busy:
            self.run.probes_skipped += 1
            return
        self._busy = True
        self._q.put_nowait((committed, point, t_us, value))

    def _loop(self) -> None:
        while (item := self._q.get()) is not None:
            committed, point, t_us, value = item
            try:
                while not visible(self.reader, point, t_us, value):
                    if time.perf_counter() - committed > self.timeout_s:
                        raise TimeoutError(f"{point} @ {iso_us(t_us)} not visible after {self.timeout_s:g} s")
                self.run.freshness_s.append(time.perf_counter() - committed)
            except Exception as e:  # noqa: BLE001 - a failed probe is recorded, never a freshness figure
                self.run.probe_failures.append(f"{type(e).__name__}: {e}"[:300])
            finally:
                self._busy = False

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(timeout=self.timeout_s + 5)


def run_ingest(scenario: Scenario, ops: Iterable[IngestOp], id_of: dict[int, str], *, duration_s: float,
               overlay: Overlay | None = None, reader: Scenario | None = None, probe_every: int = 10) -> IngestRun:
    """Apply `ops` at their intended times; returns offered vs achieved rates, lags and freshness.
    `id_of`: point idx -> id (the generator's, new points included) for the probe's Q6 binding."""
    todo = list(ops)  # generated before the clock starts: the generator's cost is not the engine's
    run = IngestRun(scenario.id, duration_s)
    run.offered_samples = sum(len(o.op) for o in todo if isinstance(o.op, SampleBatch))
    scenario.prepare_writes()
    probe = FreshnessProbe(reader, run) if reader is not None else None
    t0 = time.perf_counter()
    try:
        for op in todo:
            _apply(scenario, op, t0, run, overlay, probe, id_of, probe_every)
    finally:
        run.wall_s = time.perf_counter() - t0
        if probe is not None:
            probe.close()
    return run


def _apply(scenario: Scenario, op: IngestOp, t0: float, run: IngestRun, overlay: Overlay | None,
           probe: FreshnessProbe | None, id_of: dict[int, str], probe_every: int) -> None:
    wait = t0 + op.at_s - time.perf_counter()
    if wait > 0:
        time.sleep(wait)
    start = time.perf_counter()
    run.start_lag_s.append(max(0.0, start - t0 - op.at_s))
    run.ops += 1
    batch = op.op if isinstance(op.op, SampleBatch) else None
    try:
        if batch is not None:
            written = scenario.append(batch)
        else:
            written = scenario.update_metadata(op.op)
    except Exception as e:  # noqa: BLE001 - a failed write is counted, never committed to the overlay
        run.errors.append(f"{type(op.op).__name__}: {type(e).__name__}: {e}"[:300])
        return
    done = time.perf_counter()
    if batch is None:
        run.changes += 1
        if overlay is not None:
            overlay.add_change(op.op)
        return
    run.batches += 1
    run.written_samples += written.samples
    run.write_seconds += done - start
    run.service_s.append(done - start)
    if overlay is not None:
        overlay.add_batch(batch)
    if probe is not None and len(batch) and run.batches % probe_every == 0:
        probe.offer(done, id_of[int(batch.point_idx[-1])], int(batch.time_us[-1]), float(batch.value[-1]))
