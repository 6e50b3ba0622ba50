"""Self-checks on synthetic bundles: each passes on consistent data and fails, naming the row, when the
invariant it guards is broken. Pure (no services)."""

from __future__ import annotations

import copy

from btb.results.checks import LIMIT_TOLERANCE_BYTES, run_checks
from btb.results.files import Bundle, summarize_bundle, summary_rows
from btb.results.html import render

CID = "c-1"
TID = f"{CID}.t000"


def _bundle(runs: int = 2, bindings: int = 2, validate: bool = True, query: str = "Q1", available: int = 5,
            asked: int | None = None, repetitions: int = 1) -> Bundle:
    """One completed P1 trial measuring `query` over `bindings` bindings, its dataset holding `available` of
    them for that query (`asked`: the protocol's bindings, default `bindings`)."""
    spec = {"name": "c", "scenarios": ["P1"], "queries": [query], "output_dir": "results",
            "protocol": {"warmups": 0, "runs": runs, "bindings": bindings if asked is None else asked,
                         "validate": validate, "timeout_s": 30, "prepare": "never", "repetitions": repetitions}}
    trial = {"id": TID, "campaign_id": CID, "index": 0, "dataset": "tiny-1d-s1", "profile": "tiny-1d", "seed": 1,
             "scenario": "P1", "level": "256MiB", "level_rank": 0, "budget": 256 * 2**20, "status": "completed",
             "node": "n1", "attempt": 1, "claimed_at": 100.0, "finished": 130.0}
    base = {"campaign": CID, "trial": TID, "scenario": "P1", "dataset": "tiny-1d-s1", "level": "256MiB", "node": "n1",
            "attempt": 1}
    recs = [base | {"record_id": "dataset/n1", "kind": "dataset", "counts": {"points": 10, "ts": 100},
                    "bindings": {f"Q{i}": available for i in range(1, 14)} | {"Q5": 1}},
            base | {"record_id": "ingest", "kind": "ingest", "status": "ok", "t_start": 101.0, "t_end": 103.0,
                    "seconds": 2.0, "rows_per_s": 55.0, "bytes_on_disk": 2**20, "applied_limit": 256 * 2**20,
                    "counts": {"points": 10, "ts": 100}, "engines": {"postgres": {"version": "16.4"}},
                    "environment": {"host": "n1"}}]
    t = 104.0
    for bi in range(bindings):
        recs.append(base | {"record_id": f"validate/{query}/b{bi}", "kind": "validation", "query": query, "binding": bi,
                            "match": True, "status": "ok"})
    for bi in range(bindings):
        for ri in range(runs):
            recs.append(base | {"record_id": f"run/{query}/b{bi}/r{ri}", "kind": "run", "query": query, "binding": bi,
                                "warmup": False, "run": ri, "status": "ok", "seconds": 0.001 * (1 + bi + ri),
                                "t_start": t, "t_end": t + 0.01, "phases": {}})
            t += 0.1
    recs.append(base | {"record_id": f"batch/{query}", "kind": "batch", "query": query, "t_start": 104.0, "t_end": t,
                        "statuses": {"ok": runs * bindings}})
    samples = [{"t": 100.0 + i * 0.5, "target": "postgres", "source": "cgroup_v2", "mem_bytes": 50 * 2**20 + i,
                "mem_peak_bytes": None, "cpu_s": i * 0.1, "io_read_bytes": 0, "io_write_bytes": i * 1000,
                "mem_limit_bytes": 256 * 2**20, "extra": {}} for i in range(70)]
    b = Bundle({"id": CID, "spec": spec, "meta": {"file": "c.yaml"}, "created": 99.0, "n_trials": 1,
                "status": "done"}, {TID: trial}, recs, {TID: samples})
    b.summary = summarize_bundle(b)
    return b


def _failed(b: Bundle) -> dict[str, list[str]]:
    return {c.name: c.failures for c in run_checks(b) if not c.ok}


def test_consistent_bundle_passes_every_check_and_renders():
    b = _bundle()
    assert _failed(b) == {}
    html = render(b, run_checks(b))
    assert "every self-check passed" in html and html.count("<svg") >= 3 and "<script" not in html


def test_peak_over_the_applied_limit_fails():
    b = _bundle()
    b.samples[TID][10]["mem_bytes"] = 256 * 2**20 + LIMIT_TOLERANCE_BYTES + 1
    assert "peak ≤ applied limit" in _failed(b)
    b.samples[TID][10]["mem_bytes"] = 256 * 2**20 + LIMIT_TOLERANCE_BYTES  # within the stated tolerance
    assert "peak ≤ applied limit" not in _failed(b)


def test_missing_run_and_unvalidated_query_and_two_engine_versions_fail():
    b = _bundle()
    b.records = [r for r in b.records if r["record_id"] != "run/Q1/b1/r1"]
    b.summary = summarize_bundle(b)
    assert "runs × bindings" in _failed(b)
    b = _bundle()
    b.records = [r for r in b.records if r["kind"] != "validation"]
    assert "every measured query validated" in _failed(b)
    b = _bundle(validate=False)
    assert "every measured query validated" in _failed(b)  # said, not hidden
    b = _bundle()
    t2 = copy.deepcopy(b.trials[TID]) | {"id": f"{CID}.t001", "level": "unlimited", "budget": None}
    b.trials[t2["id"]] = t2
    b.records += [r | {"trial": t2["id"], "level": "unlimited"} for r in copy.deepcopy(b.records)]
    for r in b.records:
        if r["kind"] == "ingest" and r["trial"] == t2["id"]:
            r["engines"] = {"postgres": {"version": "17.0"}}
    b.samples[t2["id"]] = b.samples[TID]
    b.summary = summarize_bundle(b)
    assert _failed(b).keys() == {"one engine version per scenario"}


def test_ingested_counts_must_match_the_manifest():
    b = _bundle()
    next(r for r in b.records if r["kind"] == "ingest")["counts"]["ts"] = 99
    assert "ingested = manifest" in _failed(b)


def test_unordered_percentiles_fail_and_a_failed_check_is_red_at_the_top():
    b = _bundle()
    b.summary["rows"][0]["p95"] = b.summary["rows"][0]["max"] * 2
    checks = run_checks(b)
    assert "percentiles ordered" in _failed(b)
    html = render(b, checks)
    assert html.index("self-check(s) FAILED") < html.index("Winner per query")


def test_summary_csv_rows_cover_the_plan_and_hide_unsupported_percentiles():
    b = _bundle(runs=30, bindings=2)  # n = 60: p95 shown, p99 not
    (row,) = summary_rows(b)
    assert row["status"] == "ok" and row["p95_ms"] is not None and row["p99_ms"] is None
    assert "p99 not shown: n=60 < 100" in row["percentile_note"]
    b.trials[TID]["status"] = "oom"
    b.records = [r for r in b.records if r["kind"] not in ("run", "batch")]
    b.summary = summarize_bundle(b)
    (row,) = summary_rows(b)
    assert row["status"] == "oom" and row["n_runs"] == 0


def test_cold_runs_are_compared_with_warm_ones_and_not_counted_as_measured():
    b = _bundle()
    html = render(b, run_checks(b))
    assert "No cold runs" in html
    cold = next(r for r in b.records if r["kind"] == "run") | {"record_id": "run/Q1/b0/c0", "cold": True,
                                                                 "seconds": 0.05, "run": 0}
    b.records.append(cold)
    assert _failed(b) == {}  # a cold run is not one of the runs × bindings
    html = render(b, run_checks(b))
    assert "cold p50 ms" in html and "50.0 (n=1)" in html


def _repeated(b: Bundle, n: int) -> Bundle:
    """The same trial measured n times, each repetition its own trial (as campaign.py plans them)."""
    for k in range(1, n):
        tid = f"{CID}.t{k:03d}"
        b.trials[tid] = copy.deepcopy(b.trials[TID]) | {"id": tid, "repetition": k}
        b.records += [r | {"trial": tid} for r in copy.deepcopy(b.records) if r["trial"] == TID]
        b.samples[tid] = b.samples[TID]
    b.summary = summarize_bundle(b)
    return b


def test_run_counts_follow_the_bindings_each_query_has():
    # Q5 has one binding whatever the protocol asks: 2 runs × 1 binding is complete
    assert _failed(_bundle(query="Q5", bindings=1, asked=2)) == {}
    # an imported model with 1 binding for Q3 where 3 were asked: complete with 1
    assert _failed(_bundle(query="Q3", bindings=1, asked=3, available=1)) == {}
    # ... but the dataset had 3 and only 1 was measured: a missing binding, named
    bad = _failed(_bundle(query="Q3", bindings=1, asked=3, available=3))["runs × bindings"]
    assert bad == [f"{TID} Q3: 2 measured runs over 1 binding(s), expected 2 × 3 (3 in the dataset, 3 asked)"]
    # a trial whose dataset record says nothing of its bindings cannot be checked: said, not passed
    b = _bundle()
    next(r for r in b.records if r["kind"] == "dataset").pop("bindings")
    assert "no record of how many bindings" in _failed(b)["runs × bindings"][0]


def test_repetitions_are_counted_per_trial():
    b = _repeated(_bundle(repetitions=2), 2)
    assert len(b.trials) == 2 and _failed(b) == {}
    b.records = [r for r in b.records if not (r["trial"] == f"{CID}.t001" and r.get("record_id") == "run/Q1/b1/r0")]
    b.summary = summarize_bundle(b)
    assert _failed(b)["runs × bindings"][0].startswith(f"{CID}.t001 Q1: 3 measured runs")


def test_percentiles_are_recomputed_from_the_records():
    b = _bundle(runs=10)
    b.summary["rows"][0]["p50"] *= 1.5  # ordered still, but not what the records say
    lines = _failed(b)["percentiles ordered"]
    assert any(f"{TID} Q1: p50 " in x and "records give" in x for x in lines), lines
    b = _bundle(runs=10)
    b.summary["rows"][0]["n"] += 1
    assert "records hold 20 ok run(s)" in _failed(b)["percentiles ordered"][0]
    b = _bundle(runs=10)
    # a summary left over from other records (one run's time changed after the reduction)
    next(r for r in b.records if r["kind"] == "run")["seconds"] = 9.0
    assert "max" in " ".join(_failed(b)["percentiles ordered"])


def test_interval_across_repetitions_is_labelled_with_its_coverage():
    from btb.results.aggregate import across_repetitions

    for n, label in ((3, "75%"), (4, "87.5%"), (5, "93.75%"), (6, "96.88%")):
        rows = [{"dataset": "d", "scenario": "P1", "level": "1GiB", "query": "Q1", "n": 5, "p50": 0.01 * (i + 1)}
                for i in range(n)]
        (row,) = across_repetitions(rows)
        assert row["ci"] == f"{label} across repetitions (order statistics)", row
        assert row["ci_low"] <= row["p50"] <= row["ci_high"]


def test_working_set_columns_exclude_the_page_cache():
    b = _bundle()
    for i, smp in enumerate(b.samples[TID]):  # 50 MiB in the cgroup, of which 8 MiB the engines' own
        smp |= {"anon_bytes": 6 * 2**20 + i, "shmem_bytes": 2 * 2**20}
    b.summary = summarize_bundle(b)
    (row,) = summary_rows(b)
    assert 8 * 2**20 < row["peak_working_set_bytes"] < 9 * 2**20 < 50 * 2**20 < row["peak_memory_bytes"]
    assert row["mean_working_set_bytes"] <= row["peak_working_set_bytes"] < row["mean_memory_bytes"]
