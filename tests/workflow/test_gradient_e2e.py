"""A memory gradient on real cgroups: every level is a trial under an enforced budget; a level too small
for the engine is recorded as `oom` (never as a fast result) and the campaign goes on to the next.

The failing level is one the engine's own measured working set cannot fit, on either series backend (native
partitions or TimescaleDB): small-1d's Q7 holds ~85 MiB of shared buffers and backend memory at `unlimited`
(tuning fixed: 128 MB shared_buffers), several times 24 MiB. Each test asserts that premise from the
campaign's own unlimited (or passing) trial, so a machine where it does not hold says so instead of failing
the OOM assertion for a reason nobody can see."""

from __future__ import annotations

import pytest
from btbtest import CAN_LIMIT, run_campaign

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not CAN_LIMIT, reason="no writable cgroup memory controller here: no budget is "
                                 "enforced, so no level can fail (btb doctor says why)")]
FAILING = 24 * 2**20


def working_set_at(summary: dict, level: str) -> int:
    """The engines' peak working set (anon + shmem) over the level's measured queries."""
    return max(x.get("res_peak_working_set_bytes") or 0 for x in summary["rows"] if x["level"] == level)


def assert_cannot_fit(need: int, what: str) -> None:
    assert need >= 2 * FAILING, (f"premise: the engine needs {need / 2**20:.1f} MiB at {what}, expected ≥ 2 × 24 MiB "
                                 "(the dataset or queries no longer load it enough for 24 MiB to fail)")


def test_gradient_records_oom_and_continues(workers, btb_cli, tmp_path):
    run = run_campaign(btb_cli, tmp_path, """
name: gradient
datasets: [{profile: small-1d, seed: 5}]
scenarios: [P1]
memory: {levels: [24MiB, 160MiB, unlimited], tuning: fixed}  # fixed: 128 MB shared_buffers cannot fit 24 MiB
protocol: {warmups: 0, runs: 2, timeout_s: 30, bindings: 1, validate: false}
queries: [Q6, Q7]
""")
    assert "minimum viable" in run.stdout
    summary = run.summary
    by_level = {t["level"]: t for t in summary["trials"].values()}
    assert set(by_level) == {"24MiB", "160MiB", "unlimited"}
    assert_cannot_fit(working_set_at(summary, "unlimited"), "unlimited")
    # 24 MiB cannot hold PostgreSQL's shared memory once it loads: the engine is OOM-killed
    assert by_level["24MiB"]["status"] == "oom", by_level
    assert by_level["24MiB"]["budget"] == 24 * 2**20
    # ... and the campaign went on: the larger levels completed every run
    assert by_level["160MiB"]["status"] == "completed" and by_level["unlimited"]["status"] == "completed"
    (mv,) = summary["minimum_viable"]
    assert mv["minimum_viable_level"] == "160MiB"
    records = run.records
    # loaded once (by the first trial, under the ingest budget: unlimited), then served under each level
    (ing,) = [x for x in records if x["kind"] == "ingest"]
    assert ing["status"] == "ok" and ing["budget"] is None
    prov = {x["level"]: x for x in records if x["kind"] == "provision"}
    assert "oom_kill" in by_level["24MiB"]["message"]  # the kernel's counter, not a guess
    assert prov["160MiB"]["engines"]["postgres"]["memory_limit"] == 160 * 2**20
    # the budget was enforced: at 160 MiB the engine's sampled peak stayed below the limit
    rows160 = [x for x in summary["rows"] if x["level"] == "160MiB"]
    assert rows160 and all(0 < x["res_peak_bytes"] <= 160 * 2**20 for x in rows160)
    (ingest_row,) = summary["ingest"]
    assert ingest_row["res_peak_bytes"] > 0  # the ingest phase was sampled too


def test_bisection_brackets_minimum_viable_ram(workers, btb_cli, tmp_path):
    """Explicit levels with bisect on: levels are added between the highest failing and the lowest passing
    budget until the bracket is within the resolution; the summary reports the bracket and its status."""
    run = run_campaign(btb_cli, tmp_path, """
name: bisect
datasets: [{profile: small-1d, seed: 5}]
scenarios: [P1]
memory: {levels: [24MiB, 384MiB], bisect: true, resolution: 0.5, tuning: fixed}
protocol: {warmups: 0, runs: 2, timeout_s: 30, bindings: 1, validate: false}
queries: [Q7]
""", check=False)
    summary = run.summary
    levels = {t["level"]: t for t in summary["trials"].values()}
    assert_cannot_fit(working_set_at(summary, "384MiB"), "384MiB")
    assert levels["24MiB"]["status"] == "oom" and levels["384MiB"]["status"] == "completed", levels
    assert len(levels) > 2  # bisection added levels
    (mv,) = summary["minimum_viable"]
    assert mv["status"] == "measured", mv
    assert mv["failed_below_bytes"] and mv["minimum_viable_bytes"] <= 1.5 * mv["failed_below_bytes"], mv
    assert all(24 * 2**20 < (t["budget"] or 0) < 384 * 2**20 for lv, t in levels.items()
               if lv not in ("24MiB", "384MiB"))
    records = run.records
    assert [x["kind"] for x in records].count("ingest") == 1  # loaded once for every level
