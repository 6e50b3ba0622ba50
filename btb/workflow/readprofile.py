"""What the engine read for a query, asked of the engine once its timed runs are over.

After each query's batch (its cold run, warm-ups and measured runs, and the batch's resource window), one
more execution of its first binding under the scenario's `read_profile` (PostgreSQL and the SQL part of the
hybrids: EXPLAIN (ANALYZE, BUFFERS)), recorded as `explain/<qid>`. It is never timed and falls outside every
phase window the resources are attributed to. Engines that cannot say (FalkorDB, Oxigraph, DuckDB) record
nothing here: their figure is the cgroup's IO bytes over the query's runs (btb.results.hotset).
"""

from __future__ import annotations

import time

from btb.workflow.attempt import Attempt


def record_read_profile(att: Attempt, scenario, qid: str, params: dict) -> None:  # noqa: ANN001 - a Scenario
    """Record `explain/<qid>`: the figures, or the error (never a trial failure). An OOM kill during it is
    recorded with it and not left to be blamed on the next query's runs."""
    t0 = time.time()
    try:
        got = scenario.read_profile(qid, params)
        status, message = "ok", ""
    except Exception as e:  # noqa: BLE001 - a profile that fails is recorded, the trial goes on
        got, status, message = None, "error", f"{type(e).__name__}: {e}"[:500]
    if got is None and status == "ok":
        return
    oom = att.oom_since(att.oom_base)
    if oom:
        status, message = "oom", f"{oom} during the read profile (after the timed runs): {message}"[:500]
        att.oom_base = att.oom_kills()
    att.record(f"explain/{qid}", {"kind": "explain", "query": qid, "binding": 0, "status": status,
                                  "message": message, "t_start": t0, "t_end": time.time(), **(got or {})})
