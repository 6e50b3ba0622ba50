"""HdrHistogram figures against numpy's on the same samples, and merging: histograms recorded by two
workers (two client processes, encoded as they travel in records) add up to the histogram of every sample."""

from __future__ import annotations

import json

import numpy as np
import pytest

from btb.workload import hdr
from btb.workload.noop import NoopScenario
from btb.workload.step import StepPlan, run_step


def _samples(seed: int, n: int) -> np.ndarray:
    """Latencies in seconds: lognormal around 5 ms with a tail to seconds, as query latencies are."""
    return np.random.default_rng(seed).lognormal(mean=np.log(0.005), sigma=1.2, size=n)


@pytest.mark.parametrize("p", [50.0, 90.0, 95.0, 99.0, 99.9])
def test_percentiles_equal_numpys_within_the_histograms_precision(p):
    xs = _samples(1, 20001)  # p·n/100 never integral here: both conventions (round, ceil) pick the same rank
    h = hdr.histogram()
    for x in xs:
        hdr.record(h, float(x))
    got = h.get_value_at_percentile(p) / 1e6
    want = float(np.percentile(xs, p, method="inverted_cdf"))  # the sample at rank ceil(p·n/100)
    # 3 significant digits: a value is kept within 1/1024 of itself (2048 sub-buckets), plus the 1 µs unit
    assert abs(got - want) <= want / 1024 + 1e-6, (p, got, want)
    assert hdr.summary(h)["n"] == len(xs)


def test_histograms_of_two_workers_merge_into_the_histogram_of_all_samples():
    a, b = _samples(2, 5000), _samples(3, 500) * 20  # two workers: many fast ops, a few slow ones
    ha, hb, hall = hdr.histogram(), hdr.histogram(), hdr.histogram()
    for x in a:
        hdr.record(ha, float(x))
        hdr.record(hall, float(x))
    for x in b:
        hdr.record(hb, float(x))
        hdr.record(hall, float(x))
    wire = json.loads(json.dumps([hdr.encode(ha), hdr.encode(hb)]))  # as they travel in two records
    merged = hdr.merge(wire)
    assert merged.get_total_count() == len(a) + len(b)
    for p in (50.0, 95.0, 99.0):
        assert merged.get_value_at_percentile(p) == hall.get_value_at_percentile(p)
    # averaging the two workers' p99 (what must never be done) is not the p99 of all ops
    avg = (ha.get_value_at_percentile(99.0) + hb.get_value_at_percentile(99.0)) / 2
    assert abs(avg - hall.get_value_at_percentile(99.0)) > 0.05 * hall.get_value_at_percentile(99.0)


def test_a_step_of_two_client_processes_merges_their_histograms():
    plan = StepPlan("mix", "open", 2, 100.0, 0, seed=1, burn_in_s=0.5, duration_s=2.0, drain_s=1.0, tolerance_s=0.05,
                    on_schedule=0.95, weights={"Q1": 1.0, "Q6": 1.0}, bindings={"Q1": [{}], "Q6": [{}]},
                    clients_as="processes")
    rec = run_step(plan, lambda: NoopScenario({}),
                   {"scenario": "btb.workload.noop:NoopScenario", "endpoints": {}, "options": {}})
    assert rec["ops"] == rec["ok"] == 200, rec  # every op due in the 2 s window at 100/s, from both processes
    assert hdr.decode(rec["response"]).get_total_count() == 200
    per_q = {q: hdr.decode(s).get_total_count() for q, (r, s) in rec["per_query"].items()}
    assert sum(per_q.values()) == 200 and set(per_q) == {"Q1", "Q6"}
    assert rec["client_cores"] is not None and rec["process_cpu_s"] > 0  # both processes' CPU, summed
