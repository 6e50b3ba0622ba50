"""What each query read, recorded by a real campaign: PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) after the
query's timed runs (P1, and F2's SQL part), the engine cgroup's IO bytes over the query's own runs for the
others (O1), in the per-query summary and summary.csv."""

from __future__ import annotations

import csv

import pytest
from btbtest import run_campaign

pytestmark = pytest.mark.integration


def test_read_figures_recorded_per_query_outside_the_timed_runs(workers, btb_cli, tmp_path):
    run = run_campaign(btb_cli, tmp_path, """
name: reads
datasets: [{profile: tiny-1d, seed: 5}]
scenarios: [P1, O1, F2]
memory: {levels: [unlimited]}
protocol: {warmups: 1, runs: 2, timeout_s: 30, bindings: 1, validate: false}
queries: [Q3, Q7]
""")
    records = run.records
    explains = {(r["scenario"], r["query"]): r for r in records if r["kind"] == "explain"}
    assert set(explains) == {("P1", "Q3"), ("P1", "Q7"), ("F2", "Q7")}, sorted(explains)  # F2 Q3: no SQL part
    for (sid, qid), e in explains.items():
        assert e["status"] == "ok" and e["accessed_bytes"] > 0, e
        assert e["source"] == ("explain" if sid == "P1" else "explain: sql part")
        runs = [r for r in records if r["kind"] == "run" and r["scenario"] == sid and r["query"] == qid]
        (batch,) = [r for r in records if r["kind"] == "batch" and r["scenario"] == sid and r["query"] == qid]
        assert len(runs) == 4 and e["t_start"] >= max(r["t_end"] for r in runs) and e["t_start"] >= batch["t_end"]
    rows = {(r["scenario"], r["query"]): r for r in csv.DictReader((run.dir / "summary.csv").open())}
    for key in explains:
        r = rows[key]
        assert r["read_source"] == explains[key]["source"] and int(r["accessed_bytes"]) > 0, r
        assert int(r["hit_bytes"]) + int(r["read_bytes"]) == int(r["accessed_bytes"]), r
        assert r["hot_set_source"] == "cold run io" and int(r["hot_set_bytes"]) == int(r["cold_io_read_bytes"]) > 0, r
    # O1 (RocksDB files): its cold run after a clean restart with the page cache dropped reads from disk
    o1 = rows[("O1", "Q7")]
    assert o1["read_source"] == "cgroup io" and o1["hit_bytes"] == "", o1
    assert int(o1["cold_io_read_bytes"]) > 0 and int(o1["hot_set_bytes"]) == int(o1["cold_io_read_bytes"]), o1
    assert float(o1["io_read_per_run_bytes"]) < int(o1["cold_io_read_bytes"]), o1  # warm: mostly page cache
    assert rows[("F2", "Q3")]["read_source"] == "cgroup io", rows[("F2", "Q3")]
