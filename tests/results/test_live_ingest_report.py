"""Live ingest in the report: a trial's ingest steps merged by histogram (freshness, append times), the store
check after its last step shown beside them, `live_ingest.csv` written, and the self-check that fails a measured
trial whose store was not held to the oracle updated with its writes. Pure (no services)."""

from __future__ import annotations

import csv

import numpy as np

from btb.results.checks import run_checks
from btb.results.files import Bundle, summarize_bundle, workload_files
from btb.results.html import render
from btb.results.liveingest import trial_rows
from btb.workload import hdr

CID = "c-1"
TID = f"{CID}.t000"
BASE = {"campaign": CID, "trial": TID, "scenario": "P1", "dataset": "tiny-1d-s1", "level": "256MiB", "node": "n1",
        "attempt": 1}


def _hist(xs) -> str:
    h = hdr.histogram()
    for x in xs:
        hdr.record(h, float(x))
    return hdr.encode(h)


def _step(i: int, fresh: np.ndarray, offered: float, achieved: float) -> dict:
    return BASE | {"record_id": f"ingest_step/{i:02d}", "kind": "ingest_step", "step": i, "label": f"step {i}",
                   "beside": "none", "status": "ok", "ops": 100, "batches": 98, "changes": 2, "errors": 0,
                   "offered_samples_per_s": offered, "achieved_samples_per_s": achieved, "service": _hist(fresh / 2),
                   "freshness": _hist(fresh), "freshness_summary": hdr.summary(hdr.decode(_hist(fresh))),
                   "service_summary": {}, "start_lag_summary": {"p95": 0.002 * (i + 1)}, "probes_skipped": 1,
                   "probe_failures": 0}


def _bundle(check: dict | None) -> tuple[Bundle, np.ndarray]:
    rng = np.random.default_rng(3)
    a, b = rng.exponential(0.002, 150), rng.exponential(0.050, 150)  # two steps, very different freshness
    spec = {"name": "c", "scenarios": ["P1"], "output_dir": "results",
            "protocol": {"timeout_s": 30, "bindings": 1},
            "workload": {"read": "none", "ingest": {"speedup": 5}, "load": {"burn_in_s": 1, "duration_s": 4}}}
    trial = {"id": TID, "campaign_id": CID, "index": 0, "dataset": "tiny-1d-s1", "profile": "tiny-1d", "seed": 1,
             "scenario": "P1", "level": "256MiB", "level_rank": 0, "budget": 256 * 2**20, "status": "completed",
             "node": "n1", "attempt": 1}
    recs = [_step(0, a, 100.0, 100.0), _step(1, b, 300.0, 200.0)]
    if check is not None:
        recs.append(BASE | {"record_id": "store_check", "kind": "store_check", "after_writes": True,
                            "appended_samples": 1234, "changes": 4, "answers_sampled": ["Q1#0", "Q6#0"]} | check)
    bundle = Bundle({"id": CID, "spec": spec, "meta": {}, "created": 1.0, "n_trials": 1, "status": "done"},
                    {TID: trial}, recs, {TID: []})
    bundle.summary = summarize_bundle(bundle)
    return bundle, np.concatenate([a, b])


def _check(b: Bundle):
    return next(c for c in run_checks(b) if c.name == "answers after writes")


def test_steps_merge_by_histogram_and_the_store_check_stands_beside_them(tmp_path):
    b, every = _bundle({"status": "ok", "message": "", "answers_changed": {}})
    (row,) = trial_rows(b.records)
    merged = hdr.decode(_hist(every))
    assert row["freshness_n"] == 300 and row["freshness_p95_ms"] == merged.get_value_at_percentile(95) / 1e3
    assert row["offered_samples_per_s"] == 200.0 and row["achieved_samples_per_s"] == 150.0
    assert row["achieved_share"] == 0.75 and row["start_lag_p95_ms"] == 4.0 and row["probes_skipped"] == 2
    assert row["store_check"] == "ok (after writes)" and row["answers_checked"] == 2 and row["appended_samples"] == 1234
    assert _check(b).ok
    html = render(b, run_checks(b))
    assert "Live ingest per trial" in html and "Answers after the last run" in html and "oracle + writes" in html
    paths = workload_files(tmp_path, b)
    assert tmp_path / "live_ingest.csv" in paths
    (got,) = list(csv.DictReader((tmp_path / "live_ingest.csv").open()))
    assert got["scenario"] == "P1" and got["store_check"] == "ok (after writes)" and got["freshness_n"] == "300"


def test_a_measured_trial_without_an_ok_check_after_its_writes_fails_the_self_check():
    missing, _ = _bundle(None)
    c = _check(missing)
    assert not c.ok and "not checked against the updated oracle" in c.failures[0]
    changed, _ = _bundle({"status": "changed", "message": "after the write workload: answers of Q6#0 differ",
                          "answers_changed": {"Q6#0": "row 0"}})
    c = _check(changed)
    assert not c.ok and "answers of Q6#0 differ" in c.failures[0]
    assert "Q6#0 differ" in render(changed, run_checks(changed))


def test_a_trial_that_ended_oom_after_taking_writes_says_its_check_never_ran():
    b, _ = _bundle(None)
    b.trials[TID]["status"] = "oom"  # ended before its store check: a finding, not a failed self-check
    (row,) = trial_rows(b.records, b.trials)
    assert row["store_check"] == "not run: the trial ended oom first"
    c = _check(b)
    assert c.ok and f"not checked: {TID} (oom)" in c.detail
    assert "not run: the trial ended oom first" in render(b, run_checks(b))
