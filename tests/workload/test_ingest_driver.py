"""The ingest driver on a real P1: open-loop accounting (offered vs written, start lag when behind), failed
writes counted and kept out of the overlay, and freshness measured by a probe that can also fail."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from btb.dataset.changes import Overlay, RenamePoint, SampleBatch
from btb.workload.ingest import IngestGenerator, IngestOp, IngestSpec
from btb.workload.ingest_driver import FreshnessProbe, IngestRun, run_ingest, visible

pytestmark = pytest.mark.integration


def test_accounting_and_freshness_on_p1(p1_pair, tiny_dataset):
    writer, reader = p1_pair
    spec = IngestSpec(speedup=1800.0, batch_interval_s=0.2, metadata_share=0.1, duration_s=2.0, seed=2)
    gen = IngestGenerator(tiny_dataset, spec)
    overlay = Overlay()
    run = run_ingest(writer, gen.ops(), gen.id_of, duration_s=spec.duration_s, overlay=overlay, reader=reader,
                     probe_every=3)
    assert not run.errors and not run.probe_failures
    assert run.written_samples == run.offered_samples == overlay.samples > 0
    assert run.ops == run.batches + run.changes == len(run.start_lag_s)
    assert len(run.service_s) == run.batches and run.write_seconds == pytest.approx(sum(run.service_s))
    assert run.wall_s >= spec.duration_s - spec.batch_interval_s  # the last batch starts on schedule or later
    assert run.offered_samples_per_s == run.offered_samples / 2.0
    assert run.achieved_samples_per_s == run.written_samples / max(run.wall_s, 2.0) <= run.offered_samples_per_s
    assert run.freshness_s and len(run.freshness_s) + run.probes_skipped == run.batches // 3
    summary = run.summary()
    assert summary["freshness_n"] == len(run.freshness_s) and summary["errors"] == 0
    assert 0 < summary["freshness_p50_s"] <= summary["freshness_p95_s"] <= summary["freshness_max_s"]


def test_behind_schedule_is_lag_not_a_lower_offer(p1_pair, tiny_dataset):
    """Every op meant to start at 0 s: each later one starts late, and the lag says by how much."""
    writer, _ = p1_pair
    gen = IngestGenerator(tiny_dataset, IngestSpec(speedup=600.0, batch_interval_s=0.1, duration_s=1.0,
                                                   metadata_share=0.0))
    ops = [IngestOp(0.0, o.op) for o in gen.ops()]
    run = run_ingest(writer, ops, gen.id_of, duration_s=1.0)
    assert len(run.start_lag_s) == len(ops) > 10
    assert run.start_lag_s[-1] > run.start_lag_s[1] > 0
    assert run.start_lag_s[-1] >= sum(run.service_s[:-1]) * 0.9


def test_a_failed_write_is_counted_and_never_in_the_overlay(p1_pair, tiny_dataset):
    writer, _ = p1_pair
    gen = IngestGenerator(tiny_dataset, IngestSpec(speedup=600.0, duration_s=0.5, metadata_share=0.0))
    ops = list(gen.ops())
    bad = IngestOp(ops[-1].at_s, RenamePoint("point:does-not-exist", "x"))
    overlay = Overlay()
    run = run_ingest(writer, [*ops, bad], gen.id_of, duration_s=0.5, overlay=overlay)
    assert len(run.errors) == 1 and "point:does-not-exist" in run.errors[0]
    assert overlay.changes == [] and overlay.samples == run.written_samples > 0


def test_a_sample_never_written_is_a_probe_failure_not_a_figure(p1_pair, tiny_dataset):
    writer, reader = p1_pair
    point = next(iter(IngestGenerator(tiny_dataset, IngestSpec()).id_of.values()))
    run = IngestRun("P1", 1.0)
    probe = FreshnessProbe(reader, run, timeout_s=0.3)
    probe.offer(time.perf_counter(), point, 4_000_000_000_000_000, 1.0)
    probe.close()
    assert run.freshness_s == [] and len(run.probe_failures) == 1 and "not visible" in run.probe_failures[0]
    assert math.isnan(run.summary()["freshness_p50_s"])  # nothing measured is not a 0 ms lag


def test_visible_sees_exactly_the_committed_sample(p1_pair, tiny_dataset):
    writer, reader = p1_pair
    gen = IngestGenerator(tiny_dataset, IngestSpec())
    idx, point = next(iter(gen.id_of.items()))
    t = gen.end_us + 3_600_000_000
    assert not visible(reader, point, t, 7.25)
    writer.prepare_writes()
    writer.append(SampleBatch("gw:test", np.array([idx], np.int32), np.array([t], np.int64), np.array([7.25])))
    assert visible(reader, point, t, 7.25) and not visible(reader, point, t, 7.5)


def test_a_busy_probe_skips_a_sample_instead_of_timing_its_wait(p1_pair, tiny_dataset):
    """A sample offered while the probe is still on the previous one is skipped (counted), not queued: queued,
    its freshness would include the wait for the probe, which is btb's, not the store's."""
    writer, reader = p1_pair
    point = next(iter(IngestGenerator(tiny_dataset, IngestSpec()).id_of.values()))
    run = IngestRun("P1", 1.0)
    probe = FreshnessProbe(reader, run, timeout_s=0.5)
    probe.offer(time.perf_counter(), point, 4_000_000_000_000_000, 1.0)  # never visible: busy for 0.5 s
    time.sleep(0.1)  # the probe has taken it and is polling
    probe.offer(time.perf_counter(), point, 4_000_000_000_000_001, 1.0)
    probe.close()
    assert run.probes_skipped == 1 and len(run.probe_failures) == 1, (run.probes_skipped, run.probe_failures)
