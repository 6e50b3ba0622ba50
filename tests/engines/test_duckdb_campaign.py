"""D1 and D2 through the whole workflow (`btb submit --wait` on the node's real workers): loaded once, gated by
the oracle, served under each level with cold runs; a level below what the engine host needs ends `oom`
(the kernel's kill counter in the message), the campaign and btb's workers go on to the next level."""

from __future__ import annotations

import pytest
from btbtest import CAN_LIMIT, run_campaign

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not CAN_LIMIT, reason="no writable cgroup memory controller here: no budget is "
                                 "enforced, so no level can fail (btb doctor says why)")]


def test_duckdb_levels_oom_below_the_host_and_complete_above(workers, btb_cli, tmp_path):
    run = run_campaign(btb_cli, tmp_path, """
name: duck
datasets: [{profile: tiny-1d, seed: 7}]
scenarios: [D1, D2]
memory: {levels: [16MiB, 256MiB]}
protocol: {warmups: 1, runs: 2, timeout_s: 30, bindings: 1}
queries: [Q1, Q6, Q7]
""", check=False)
    summary = run.summary
    trials = {(t["scenario"], t["level"]): {**t, "id": tid} for tid, t in summary["trials"].items()}
    for sid in ("D1", "D2"):
        low, high = trials[(sid, "16MiB")], trials[(sid, "256MiB")]
        assert low["status"] == "oom" and "oom_kill" in low["message"], low  # the host, killed by the kernel
        assert high["status"] == "completed", high  # ... and the next level ran on the same workers
    records = run.records
    ingests = [x for x in records if x["kind"] == "ingest"]
    assert sorted(x["scenario"] for x in ingests) == ["D1", "D2"] and all(x["status"] == "ok" for x in ingests)
    served = {trials[(s, "256MiB")]["id"] for s in ("D1", "D2")}
    runs = [x for x in records if x["kind"] == "run" and x["trial"] in served]
    assert runs and all(x["status"] == "ok" for x in runs)
    cold = [x for x in runs if x["cold"]]
    assert len(cold) == 6 and all(x["page_cache_dropped"] for x in cold)  # one cold run per query, files evicted
    prov = [x for x in records if x["kind"] == "provision" and x["trial"] in served]
    assert len(prov) == 2 and all(x["engines"]["duckdb"]["memory_limit"] == 256 << 20 for x in prov)
    # recorded: DuckDB's own time in the host; the host's round trip around it kept beside, never below it
    assert all(0 < x["seconds"] < x["notes"]["host_round_trip_s"] for x in runs), runs[:2]
    rows = [r for r in summary["rows"] if r["trial"] in served]
    assert rows and all(r["host_round_trip_p50"] >= r["p50"] for r in rows)
