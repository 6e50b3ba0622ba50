"""Latency against budget ÷ hot set, on synthetic bundles: the hot set is the largest a query read at any
level (EXPLAIN for P1, cgroup IO of the cold run for O1), the store size where nothing was read; the report
draws the plot and the table, and a level that failed the query is shown failed. Pure (no services)."""

from __future__ import annotations

import csv
import io

from btb.results import hotset
from btb.results.checks import run_checks
from btb.results.files import SUMMARY_COLUMNS, Bundle, summarize_bundle, summary_rows
from btb.results.html import render

CID = "c-hs"
MIB = 2**20


def _trial(i: int, sc: str, level: str, budget: int, explain: dict | None, io_step: int, ok: bool = True):
    tid = f"{CID}.t{i:03d}"
    trial = {"id": tid, "campaign_id": CID, "index": i, "dataset": "tiny-1d-s1", "profile": "tiny-1d", "seed": 1,
             "scenario": sc, "level": level, "level_rank": 0, "budget": budget, "status": "completed" if ok else "oom",
             "node": "n1", "attempt": 1, "claimed_at": 100.0, "finished": 130.0}
    base = {"campaign": CID, "trial": tid, "scenario": sc, "dataset": "tiny-1d-s1", "level": level, "node": "n1",
            "attempt": 1}
    recs = [base | {"record_id": "ingest", "kind": "ingest", "status": "ok", "t_start": 101.0, "t_end": 103.0,
                    "seconds": 2.0, "rows_per_s": 55.0, "bytes_on_disk": 40 * MIB, "applied_limit": budget,
                    "counts": {}, "engines": {}, "environment": {"host": "n1"}},
            base | {"record_id": "run/Q7/b0/c0", "kind": "run", "query": "Q7", "binding": 0, "cold": True,
                    "warmup": False, "run": 0, "status": "ok" if ok else "oom", "seconds": 0.05,
                    "t_start": 104.0, "t_end": 105.0, "phases": {}}]
    for ri in range(3):
        t = 106.0 + ri
        recs.append(base | {"record_id": f"run/Q7/b0/r{ri}", "kind": "run", "query": "Q7", "binding": 0, "cold": False,
                            "warmup": False, "run": ri, "status": "ok" if ok else "oom", "seconds": 0.01 * (ri + 1),
                            "t_start": t, "t_end": t + 0.5, "phases": {}})
    recs.append(base | {"record_id": "batch/Q7", "kind": "batch", "query": "Q7", "t_start": 103.5, "t_end": 109.0,
                        "statuses": {"ok" if ok else "oom": 4}})
    if explain is not None:
        recs.append(base | {"record_id": "explain/Q7", "kind": "explain", "query": "Q7", "status": "ok",
                            "t_start": 109.5, "t_end": 109.6, "source": "explain", **explain})
    # IO counter: +io_step per sample during the cold run (104–105), flat elsewhere
    samples = [{"t": 100.0 + k * 0.25, "target": "e", "source": "cgroup_v2", "mem_bytes": 10 * MIB, "cpu_s": k * 0.01,
                "io_read_bytes": io_step * min(max(0, k - 16), 4), "io_write_bytes": 0, "mem_limit_bytes": budget,
                "extra": {}} for k in range(48)]
    return tid, trial, recs, samples


def _bundle() -> Bundle:
    ex = {"hit_bytes": 3 * MIB, "read_bytes": 1 * MIB, "temp_read_bytes": 0, "temp_written_bytes": 0,
          "accessed_bytes": 4 * MIB, "block_size": 8192}
    parts = [_trial(0, "P1", "8MiB", 8 * MIB, ex, MIB // 2), _trial(1, "P1", "2MiB", 2 * MIB, None, 0, ok=False),
             _trial(2, "O1", "8MiB", 8 * MIB, None, MIB), _trial(3, "F1", "8MiB", 8 * MIB, None, 0)]
    spec = {"name": "hs", "scenarios": ["P1", "O1", "F1"], "queries": ["Q7"], "output_dir": "results",
            "protocol": {"warmups": 0, "runs": 3, "bindings": 1, "validate": False, "timeout_s": 30,
                         "prepare": "never", "repetitions": 1}}
    b = Bundle({"id": CID, "spec": spec, "meta": {"file": "hs.yaml"}, "created": 99.0, "n_trials": len(parts),
                "status": "done"}, {p[0]: p[1] for p in parts}, [r for p in parts for r in p[2]],
               {p[0]: p[3] for p in parts})
    b.summary = summarize_bundle(b)
    return b


def test_summary_rows_carry_what_each_query_read():
    b = _bundle()
    rows = {(r["scenario"], r["level"]): r for r in b.summary["rows"]}
    p1 = rows[("P1", "8MiB")]
    assert (p1["read_source"], p1["accessed_bytes"], p1["hit_bytes"], p1["read_bytes"]) == ("explain", 4 * MIB,
                                                                                           3 * MIB, MIB)
    assert (p1["hot_set_bytes"], p1["hot_set_source"]) == (2 * MIB, "cold run io")  # its cold run's IO
    o1 = rows[("O1", "8MiB")]  # the cold run's window holds the counter's 4 MiB rise, the warm runs none
    assert o1["read_source"] == "cgroup io" and o1["cold_io_read_bytes"] == 4 * MIB and o1["io_read_per_run_bytes"] == 0
    assert o1["hot_set_bytes"] == 4 * MIB and o1["hit_bytes"] is None and o1["hot_set_source"] == "cold run io"
    assert rows[("F1", "8MiB")]["hot_set_bytes"] is None  # an in-memory engine read nothing: no hot set measured
    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=SUMMARY_COLUMNS, extrasaction="ignore")
    w.writeheader()
    w.writerows(summary_rows(b))
    got = {(r["scenario"], r["level"]): r for r in csv.DictReader(io.StringIO(text.getvalue()))}
    assert got[("P1", "8MiB")]["hot_set_bytes"] == str(2 * MIB) and got[("O1", "8MiB")]["read_source"] == "cgroup io"


def test_ratios_use_the_hot_set_of_the_largest_budget_else_the_store_size():
    b = _bundle()
    rows = {(r["scenario"], r["level"]): r for r in hotset.ratio_rows(b.summary["rows"], {
        ("tiny-1d-s1", "P1"): 40 * MIB, ("tiny-1d-s1", "O1"): 40 * MIB, ("tiny-1d-s1", "F1"): 16 * MIB})}
    assert rows[("P1", "8MiB")]["ratio"] == 4.0 and rows[("P1", "2MiB")]["ratio"] == 1.0  # 8 MiB's hot set
    assert rows[("P1", "2MiB")]["p50"] is None and "oom" in rows[("P1", "2MiB")]["status"]
    assert rows[("F1", "8MiB")]["hot_set_source"] == "store size" and rows[("F1", "8MiB")]["ratio"] == 0.5
    assert rows[("O1", "8MiB")]["hot_set_source"] == "cold run io" and rows[("O1", "8MiB")]["ratio"] == 2.0


def test_the_report_renders_the_plot_and_the_table():
    b = _bundle()
    html = render(b, run_checks(b))
    assert "latency vs budget ÷ hot set — tiny-1d-s1" in html and "budget ÷ hot set (log)" in html
    table = html[html.index("hot set, budget ÷ hot set and what each query read"):]
    # F1: 8 MiB ÷ its 40 MiB store; P1: 8 MiB ÷ its cold run's 2 MiB
    assert "store size" in table and "cold run io" in table and ">0.2<" in table and ">4<" in table
    only_unlimited = _bundle()
    for t in only_unlimited.trials.values():
        t["budget"], t["level"] = None, "unlimited"
    only_unlimited.summary = summarize_bundle(only_unlimited)
    assert "No sized memory level in this campaign" in render(only_unlimited, run_checks(only_unlimited))
