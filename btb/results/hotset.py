"""What a query read, per trial (so per level), and its hot set: the figures the report sets against the budget.

On the query's summary row (and summary.csv):
- `read_source` `explain` (P1, P2) / `explain: sql part` (F2, O2, M2 on Q6–Q13): the `explain/<qid>` record made
  after the query's timed runs (btb.workflow.readprofile): `hit_bytes` (found in shared buffers), `read_bytes`
  (read into them: from the page cache or the disk), `temp_read_bytes` / `temp_written_bytes`, `accessed_bytes`
  = hit + read (buffer accesses: a page visited twice counts twice).
- `read_source` `cgroup io` (F1, O1, D1, D2, and the hybrids' structure-only queries): `read_bytes` is the
  engines' IO read bytes per execution over the query's warm-ups and measured runs (what this level's cache did
  not hold), `hit_bytes` unknown (None).
- every scenario: `cold_io_read_bytes`, the engines' IO read bytes over the query's cold run (a clean restart,
  page cache dropped): what the query needs from storage, each page once. That is `hot_set_bytes`
  (`hot_set_source` `cold run io`); where it is 0 or unmeasured — an in-memory store such as FalkorDB reads its
  snapshot at restart, before the cold run — the hot set is left None and the report uses the store's size.
IO figures are the monitor's counter deltas between the samples around each window (10 Hz by default); the
workflow leaves two sample intervals idle before the cold run and before the first run after it, so the cold
window does not take in the restart's reads nor the runs window the cold run's. (On a v1 host whose blkio counts
nothing, the monitor reads the processes' own IO accounting: btb.monitor.sources.taskio.)
"""

from __future__ import annotations

from collections import defaultdict

EXPLAIN_FIELDS = ("hit_bytes", "read_bytes", "temp_read_bytes", "temp_written_bytes", "local_hit_bytes",
                  "local_read_bytes", "accessed_bytes", "block_size")
CSV_COLUMNS = ["read_source", "read_bytes", "hit_bytes", "accessed_bytes", "temp_read_bytes", "temp_written_bytes",
               "cold_io_read_bytes", "io_read_per_run_bytes", "hot_set_bytes", "hot_set_source"]


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
    out: dict = {"cold_io_read_bytes": cold, "io_read_per_run_bytes": per_run,
                 "hot_set_bytes": cold or None, "hot_set_source": "cold run io" if cold else None}
    if explain is not None and explain.get("status") == "ok":
        out.update({k: explain.get(k) for k in EXPLAIN_FIELDS}, read_source=explain.get("source") or "explain")
        return out
    if explain is not None:
        out["read_profile_error"] = f"{explain.get('status')}: {explain.get('message', '')}"[:500]
    if per_run is not None:
        out.update(read_source="cgroup io", read_bytes=per_run, hit_bytes=None)
    return out


def hot_sets(rows: list[dict], store_bytes: dict[tuple, int]) -> dict[tuple, tuple[int, str]]:
    """(dataset, scenario, query) -> (hot set bytes, where it comes from): the `hot_set_bytes` of the query
    measured at the largest budget (unlimited first: a starved level re-reads pages it had to evict, which says
    what the level costs, not what the query needs), else the scenario's store size on disk ("store size")."""
    out: dict[tuple, tuple[int, str]] = {}
    at: dict[tuple, float] = {}
    for r in rows:
        k, h = (r.get("dataset"), r.get("scenario"), r.get("query")), r.get("hot_set_bytes")
        budget = float(r["budget"]) if r.get("budget") else float("inf")
        if h and budget >= at.get(k, -1.0):
            out[k], at[k] = (int(h), str(r.get("hot_set_source") or "")), budget
    for r in rows:
        k = (r.get("dataset"), r.get("scenario"), r.get("query"))
        if k not in out and store_bytes.get(k[:2]):
            out[k] = (int(store_bytes[k[:2]]), "store size")
    return out


def ratio_rows(rows: list[dict], store_bytes: dict[tuple, int]) -> list[dict]:
    """Per (dataset, scenario, level, query) of a sized level: budget ÷ hot set and the p50 there (None when
    no run was ok: the level failed the query), for the report's plot and table."""
    hot = hot_sets(rows, store_bytes)
    out = []
    for r in rows:
        k = (r.get("dataset"), r.get("scenario"), r.get("query"))
        if not r.get("budget") or k not in hot:
            continue
        h, src = hot[k]
        st = r.get("statuses") or {}
        out.append({"dataset": k[0], "scenario": k[1], "level": r.get("level"), "query": k[2],
                    "budget": r["budget"], "hot_set_bytes": h, "hot_set_source": src, "ratio": r["budget"] / h,
                    "p50": r.get("p50") if r.get("n") else None,
                    "status": "ok" if r.get("n") else ", ".join(sorted(st)) or "failed",
                    "read_bytes": r.get("read_bytes"), "hit_bytes": r.get("hit_bytes"),
                    "read_source": r.get("read_source")})
    return out
