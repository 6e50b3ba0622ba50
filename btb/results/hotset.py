"""What a query read, per trial (so per level): the figures the report sets against the budget.

Two sources, one set of fields on the query's summary row (and summary.csv):
- `explain` (P1, P2) / `explain: sql part` (F2, O2, M2 on Q6–Q13): the `explain/<qid>` record made after the
  query's timed runs (btb.workflow.readprofile): `hit_bytes` (found in shared buffers), `read_bytes` (read
  into them), `temp_read_bytes` / `temp_written_bytes`, `hot_set_bytes` = hit + read: every shared buffer
  the query touched.
- `cgroup io` (F1, O1, D1, D2, and the hybrids' structure-only queries): the engines' cgroup IO read bytes,
  which the monitor samples, attributed to the query's own run windows: `cold_io_read_bytes` over its cold
  run (a clean restart, page cache dropped: what it needs from disk) and `io_read_bytes_per_run` over its
  warm-ups and measured runs (what this level's cache did not hold). `read_bytes` is the latter, `hit_bytes`
  unknown (None), `hot_set_bytes` the larger of the two, or None when the engine read nothing from disk
  (an in-memory store such as FalkorDB reads its snapshot at restart, before the cold run): the report then
  uses the store's size.
The cgroup figures come from counter deltas between the samples around each window (10 Hz by default); the
workflow leaves two sample intervals idle before the cold run and before the first run after it, so the cold
window does not take in the restart's reads nor the runs window the cold run's. (On a v1 host whose blkio
counts nothing, the monitor reads the processes' own IO accounting: btb.monitor.sources.taskio.)
"""

from __future__ import annotations

from collections import defaultdict

EXPLAIN_FIELDS = ("hit_bytes", "read_bytes", "temp_read_bytes", "temp_written_bytes", "local_hit_bytes",
                  "local_read_bytes", "hot_set_bytes", "block_size")
CSV_COLUMNS = ["read_source", "hot_set_bytes", "read_bytes", "hit_bytes", "temp_read_bytes", "temp_written_bytes",
               "cold_io_read_bytes", "io_read_bytes_per_run"]


def run_windows(records: list[dict]) -> list[tuple[str, float, float]]:
    """Per query: `cold:<qid>` (its cold run) and `runs:<qid>` (first warm-up to last measured run)."""
    cold: dict[str, tuple[float, float]] = {}
    runs: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if r.get("kind") != "run" or r.get("t_start") is None:
            continue
        if r.get("cold"):
            cold[r["query"]] = (r["t_start"], r["t_end"])
        else:
            runs[r["query"]] += [r["t_start"], r["t_end"]]
    out = [(f"cold:{q}", a, b) for q, (a, b) in cold.items()]
    return out + [(f"runs:{q}", min(ts), max(ts)) for q, ts in runs.items()]


def executions(records: list[dict]) -> dict[str, int]:
    """Non-cold executions per query (warm-ups and measured runs): the runs window's divisor."""
    n: dict[str, int] = defaultdict(int)
    for r in records:
        if r.get("kind") == "run" and not r.get("cold"):
            n[r["query"]] += 1
    return dict(n)


def read_fields(qid: str, explain: dict | None, resources: dict[str, dict], n_exec: int) -> dict:
    """The row fields of one query (module docstring)."""
    cold = (resources.get(f"cold:{qid}") or {}).get("io_read_bytes")
    runs = (resources.get(f"runs:{qid}") or {}).get("io_read_bytes")
    per_run = runs / n_exec if runs is not None and n_exec else None
    out: dict = {"cold_io_read_bytes": cold, "io_read_bytes_per_run": per_run}
    if explain is not None and explain.get("status") == "ok":
        out.update({k: explain.get(k) for k in EXPLAIN_FIELDS}, read_source=explain.get("source") or "explain")
        return out
    if explain is not None:
        out["read_profile_error"] = f"{explain.get('status')}: {explain.get('message', '')}"[:500]
    if cold is not None or per_run is not None:
        hot = max(cold or 0, int(per_run or 0))
        out.update(read_source="cgroup io", read_bytes=per_run, hit_bytes=None, hot_set_bytes=hot or None)
    return out
