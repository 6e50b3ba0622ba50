"""Live ingest per trial, from its records: every ingest step of a trial merged (freshness and append service
times by adding their HdrHistograms, never by averaging percentiles), beside the store check after its last
step — what the report's "live ingest per trial" table and `live_ingest.csv` show.

Rates: each step offers and achieves samples/s over the same window (burn-in + duration), so the trial's rate is
the mean of its steps' rates.
"""

from __future__ import annotations

from collections import defaultdict

from btb.workload import hdr

COLUMNS = ["trial", "dataset", "scenario", "level", "steps", "offered_samples_per_s", "achieved_samples_per_s",
           "achieved_share", "batches", "changes", "write_errors", "append_p50_ms", "append_p95_ms", "start_lag_p95_ms",
           "freshness_n", "freshness_p50_ms", "freshness_p95_ms", "freshness_p99_ms", "freshness_max_ms",
           "probes_skipped", "probe_failures", "store_check", "answers_checked", "answers_changed", "appended_samples",
           "store_check_message"]


def _ms(x) -> float | None:
    return None if x is None else 1000 * x


def trial_rows(records: list[dict], trials: dict | None = None) -> list[dict]:
    """One row per trial that ran live ingest, in trial order. `trials` (id -> trial state) names why a
    trial has no store check: it ended (oom, error, ...) before its last step was done."""
    steps: dict[str, list[dict]] = defaultdict(list)
    checks: dict[str, dict] = {}
    for r in records:
        if r.get("kind") == "ingest_step":
            steps[r["trial"]].append(r)
        elif r.get("kind") == "store_check":
            checks[r["trial"]] = r
    return [_row(tid, xs, checks.get(tid), (trials or {}).get(tid, {}).get("status")) for tid, xs in sorted(steps.items())]


def _row(tid: str, xs: list[dict], check: dict | None, status: str | None = None) -> dict:
    ok = [x for x in xs if x.get("status") != "error"]
    fresh = hdr.summary(hdr.merge(x["freshness"] for x in ok if x.get("freshness")))
    serv = hdr.summary(hdr.merge(x["service"] for x in ok if x.get("service")))
    offered = sum(x.get("offered_samples_per_s") or 0 for x in xs) / len(xs)
    achieved = sum(x.get("achieved_samples_per_s") or 0 for x in xs) / len(xs)
    c = check or {}
    return {"trial": tid, "dataset": xs[0].get("dataset"), "scenario": xs[0].get("scenario"), "level": xs[0].get("level"),
            "steps": len(xs), "offered_samples_per_s": offered, "achieved_samples_per_s": achieved,
            "achieved_share": achieved / offered if offered else None,
            "batches": sum(x.get("batches") or 0 for x in ok), "changes": sum(x.get("changes") or 0 for x in ok),
            "write_errors": sum(int(x.get("errors") or 0) for x in ok) + len(xs) - len(ok),
            "append_p50_ms": _ms(serv.get("p50")), "append_p95_ms": _ms(serv.get("p95")),
            "start_lag_p95_ms": _ms(max(((x.get("start_lag_summary") or {}).get("p95") or 0 for x in ok), default=None)),
            "freshness_n": fresh.get("n") or 0, "freshness_p50_ms": _ms(fresh.get("p50")),
            "freshness_p95_ms": _ms(fresh.get("p95")), "freshness_p99_ms": _ms(fresh.get("p99")),
            "freshness_max_ms": _ms(fresh.get("max")),
            "probes_skipped": sum(x.get("probes_skipped") or 0 for x in ok),
            "probe_failures": sum(x.get("probe_failures") or 0 for x in ok),
            "store_check": (f"{c.get('status')}" + (" (after writes)" if c.get("after_writes") else "") if check else
                            f"not run: the trial ended {status} first" if status and status not in ("completed",
                                                                                                    "completed-with-errors")
                            else "none"),
            "answers_checked": len(c.get("answers_sampled") or []), "answers_changed": len(c.get("answers_changed") or {}),
            "appended_samples": c.get("appended_samples"), "store_check_message": c.get("message") or ""}
