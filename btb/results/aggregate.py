"""Records → summaries. Each trial is reduced once, at its end, from its own records and samples
(`summarize_trial`, pure); the campaign summary merges trial summaries (`merge_summaries`, pure) and
adds each scenario's minimum viable RAM. `reduce_trial` / `aggregate_campaign` are the I/O shells.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from btb.units import parse_size
from btb.results import hotset
from btb.results.stats import summarize
from btb.results.workload import ingest_rows, step_rows
from btb.trials.fence import refused
from btb.trials.lifecycle import is_final



def trial_resources(samples: list[dict], phases: list[tuple[str, float, float]]) -> dict[str, dict]:
    """Per phase: engine peak/mean memory, CPU seconds, IO bytes (all engines of the trial together)."""
    from btb.monitor.attribution import attribute, combine_targets
    from btb.monitor.sources.base import Sample

    fields = set(Sample.__dataclass_fields__)
    rows = [(d["target"], Sample(**{k: v for k, v in d.items() if k in fields})) for d in samples]
    if len({t for t, _ in rows}) > 1:
        rows = combine_targets(rows)
    out = {}
    ws = _working_set(rows, phases)
    for st in attribute(rows, phases):
        peak_ws, mean_ws = ws.get(st.phase, (None, None))
        out[st.phase] = {"peak_bytes": st.peak_bytes, "peak_from": st.peak_from, "mean_bytes": st.mean_bytes,
                         "baseline_bytes": st.baseline_bytes, "peak_over_baseline_bytes": st.peak_over_baseline_bytes,
                         "peak_anon_bytes": st.peak_anon_bytes, "cpu_s": st.cpu_s, "io_read_bytes": st.io_read_bytes,
                         "io_write_bytes": st.io_write_bytes, "oom_kills": st.oom_kills, "source": st.source,
                         "n_samples": st.n_samples, "peak_working_set_bytes": peak_ws,
                         "mean_working_set_bytes": mean_ws}
    return out


def _working_set(rows: list[tuple[str, Any]], phases: list[tuple[str, float, float]]
                 ) -> dict[str, tuple[int | None, float | None]]:
    """Per phase, the peak and mean of anon + shmem (what the engines themselves hold, page cache excluded):
    the headline memory figure, next to the total that includes the page cache."""
    out: dict[str, tuple[int | None, float | None]] = {}
    for name, t0, t1 in phases:
        vals = [s.anon_bytes + (s.shmem_bytes or 0) for _, s in rows
                if t0 <= s.t <= t1 and s.anon_bytes is not None]
        out[name] = (max(vals), sum(vals) / len(vals)) if vals else (None, None)
    return out


def level_sort_key(level: str, budget: int | None) -> float:
    if budget is not None:
        return float(budget)
    if level == "unlimited":
        return float("inf")
    try:
        return float(parse_size(level))
    except ValueError:
        return float("inf")


def summarize_trial(trial: dict, records: list[dict], samples: list[dict]) -> dict:
    """One trial's records and samples → its summary (latency per query, resources per phase, ingest,
    validation). Reads nothing else: the cost of reducing a trial does not grow with the campaign."""
    tid = trial["id"]
    phases = _phase_windows(records)
    windows = phases + hotset.run_windows(records)  # each query's cold run and warm runs: what it read
    resources = trial_resources(samples, windows) if samples and phases else {}
    ingest = next((r for r in records if r.get("kind") == "ingest"), None)
    groups: dict[str, list[dict]] = defaultdict(list)
    cold: dict[str, dict] = {}
    for r in records:
        if r.get("kind") == "run" and r.get("cold"):
            cold[r["query"]] = r
        elif r.get("kind") == "run" and not r.get("warmup"):
            groups[r["query"]].append(r)
    rows = [_query_row(trial, qid, rs, cold.get(qid), ingest, resources.get(f"batch:{qid}"))
            for qid, rs in sorted(groups.items(), key=lambda kv: int(kv[0][1:]))]
    explains = {r["query"]: r for r in records if r.get("kind") == "explain"}
    n_exec = hotset.executions(records)
    for row in rows:
        row.update(hotset.read_fields(row["query"], explains.get(row["query"]), resources, n_exec.get(row["query"], 0)))
    for r in records:  # an imported model's query with no possible binding: shown, not measured
        if r.get("kind") == "unbound" and r["query"] not in groups:
            rows.append({"dataset": trial.get("dataset"), "scenario": trial.get("scenario"), "level": trial.get("level"),
                         "trial": tid, "query": r["query"], "budget": trial.get("budget"), "n_runs": 0,
                         "statuses": {"no binding in this model": 1}, "message": r.get("message", ""),
                         "repetition": trial.get("repetition", 0), "busy": trial.get("busy"), "n": 0})
    rows.sort(key=lambda row: int(row["query"][1:]))
    monitor = next((r for r in records if r.get("kind") == "monitor"), None)
    load = step_rows(records)  # load workloads: one row per step, its histograms encoded
    for row in load:
        row.update(budget=trial.get("budget"), repetition=trial.get("repetition", 0),
                   **{f"res_{k}": v for k, v in resources.get(f"load:{row['step']}", {}).items()})
    return {"trial": tid, "status": trial.get("status"), "rows": rows, "load": load, "live_ingest": ingest_rows(records),
            "ingest": _ingest_row(ingest, resources),
            "validation": _validation_tally(tid, records),
            "environment": {ingest["node"]: ingest.get("environment")} if ingest else {},
            "samples": len(samples), "monitor": monitor and {k: monitor.get(k) for k in ("samples", "restarts", "hz")},
            "generated": time.time()}


def _phase_windows(records: list[dict]) -> list[tuple[str, float, float]]:
    """(name, start, end) of the ingest and of each query batch: the windows resources are attributed to."""
    phases: list[tuple[str, float, float]] = []
    for r in records:
        if r.get("kind") == "ingest":
            phases.append(("ingest", r["t_start"], r["t_end"]))
        elif r.get("kind") == "batch":
            phases.append((f"batch:{r['query']}", r["t_start"], r["t_end"]))
        elif r.get("kind") == "load_step":
            phases.append((f"load:{r['step']}", r["t_start"], r["t_end"]))
    return phases


def _paths(rs: list[dict]) -> dict[str, int] | None:
    """Hybrids: how many ok runs took each federation path (any / temp_table); None for other scenarios."""
    out: dict[str, int] = defaultdict(int)
    for r in rs:
        path = (r.get("notes") or {}).get("federation")
        if path and r["status"] == "ok":
            out[path] += 1
    return dict(out) or None


def _query_row(trial: dict, qid: str, rs: list[dict], cold: dict | None, ingest: dict | None,
               res: dict | None) -> dict:
    """One query's summary row: statuses and latency of its measured runs, its cold run, the median of each
    phase, and the engines' resources during its batch."""
    statuses: dict[str, int] = defaultdict(int)
    for r in rs:
        statuses[r["status"]] += 1
    lat = summarize(r["seconds"] for r in rs if r["status"] == "ok")
    row = {"dataset": trial.get("dataset"), "scenario": trial.get("scenario"), "level": trial.get("level"),
           "trial": trial["id"], "query": qid, "budget": trial.get("budget"), "n_runs": len(rs),
           "statuses": dict(statuses), "fingerprint": ingest.get("fingerprint") if ingest else None,
           "prepare": rs[0].get("prepare"), "federation": rs[0].get("federation"),
           "federation_paths": _paths(rs), "repetition": trial.get("repetition", 0),
           "busy": trial.get("busy"), **(lat.to_dict() if lat else {"n": 0})}
    if cold:
        row.update(cold_seconds=cold["seconds"] if cold["status"] == "ok" else None, cold_status=cold["status"],
                   cold_page_cache_dropped=cold.get("page_cache_dropped"))
    phase_names = sorted({k for r in rs if r["status"] == "ok" for k in (r.get("phases") or {})})
    if phase_names:  # hybrids and client-side decoding: the median of each phase over the ok runs
        row["phases_p50"] = {k: statistics.median(r["phases"][k] for r in rs
                                                  if r["status"] == "ok" and k in (r.get("phases") or {}))
                             for k in phase_names}
    trips = [r["notes"]["host_round_trip_s"] for r in rs
             if r["status"] == "ok" and "host_round_trip_s" in (r.get("notes") or {})]
    if trips:  # an engine btb runs in a host process (DuckDB): its recorded seconds are the host's; the round trip
        row["host_round_trip_p50"] = statistics.median(trips)  # around them is the harness's, stated beside
    if res:
        row.update({f"res_{k}": v for k, v in res.items()})
    return row


def _ingest_row(ingest: dict | None, resources: dict[str, dict]) -> dict | None:
    if not ingest:
        return None
    return {**{k: ingest.get(k) for k in ("trial", "dataset", "scenario", "level", "ingest_level", "budget", "status",
                                          "message", "seconds", "rows_per_s", "bytes_on_disk", "backend",
                                          "bytes_per_sample", "x_dataset", "samples",
                                          "node", "fingerprint", "applied_limit", "budget_mode")},
            **{f"res_{k}": v for k, v in _ingest_resources(ingest, resources).items()}}


def _ingest_resources(ingest: dict, resources: dict[str, dict]) -> dict:
    """The ingest's resources from this trial's samples; for an ingest restored from its load (its samples
    went with the lost attempt that made it), the ones the load kept, marked so."""
    own = resources.get("ingest") or {}
    if own.get("n_samples") or not ingest.get("resources"):
        return own
    return {**ingest["resources"], "kept_by_load": True}


def _validation_tally(tid: str, records: list[dict]) -> list[dict]:
    """Per query: answer-gate checks run and matched."""
    validation = defaultdict(lambda: {"checked": 0, "matched": 0})
    for r in records:
        if r.get("kind") == "validation":
            v = validation[r["query"]]
            v["checked"] += 1
            v["matched"] += int(bool(r["match"]))
    return [{"trial": tid, "query": q, **v} for q, v in sorted(validation.items())]


def minimum_viable_table(trials: dict[str, dict]) -> list[dict]:
    """Per (dataset, scenario): minimum viable RAM as a bracket [highest failing, lowest passing] budget.

    A level passes when every repetition of it completed; `status` keeps apart "measured" (a sized level
    passed), "only unlimited passed", "none passed" and "not measured" (nothing finished that says)."""
    import math

    from btb.results.gradient import FAIL, PASS, bracket

    by: dict[tuple, dict[float, str]] = defaultdict(dict)
    labels: dict[tuple, dict[float, str]] = defaultdict(dict)
    for t in trials.values():
        b = math.inf if t.get("level") == "unlimited" else t.get("budget")
        if b is None or t.get("status") not in FAIL | {PASS}:
            continue
        key = (t.get("dataset"), t.get("scenario"))
        prev = by[key].get(float(b))
        by[key][float(b)] = t["status"] if prev in (None, PASS) else prev  # one failing repetition fails it
        labels[key][float(b)] = t.get("level")
    out = []
    for key in sorted({(t.get("dataset"), t.get("scenario")) for t in trials.values()}):
        levels = by.get(key, {})
        failed, passed = bracket(levels) if levels else (None, None)
        if not levels:
            status = "not measured"
        elif passed is None:
            status = "none passed"
        elif math.isinf(passed):
            status = "only unlimited passed"
        else:
            status = "measured"
        sized = passed is not None and not math.isinf(passed)
        out.append({"dataset": key[0], "scenario": key[1], "status": status,
                    "minimum_viable_level": labels[key].get(passed) if passed is not None else None,
                    "minimum_viable_bytes": int(passed) if sized else None,
                    "failed_below_bytes": int(failed) if failed is not None and not math.isinf(failed) else None,
                    "bracket_ratio": round(passed / failed, 3) if sized and failed else None,
                    "levels": {labels[key][b]: st for b, st in sorted(levels.items())}})
    return out


def merge_summaries(trials: dict[str, dict], per_trial: dict[str, dict], validate: bool = False) -> dict:
    """Trial summaries → the campaign summary (plus minimum viable RAM from the trials' statuses). With
    `validate`, a (dataset, scenario) without any answer check is never called measured."""
    rows, ingests, validation, environments, load, live = [], [], [], {}, [], []
    for tid in sorted(per_trial):
        ts = per_trial[tid]
        rows += ts["rows"]
        load += ts.get("load") or []
        live += ts.get("live_ingest") or []
        if ts.get("ingest"):
            ingests.append(ts["ingest"])
        validation += ts["validation"]
        environments.update(ts.get("environment") or {})
    min_viable = minimum_viable_table(trials)
    if validate:
        _mark_unchecked(min_viable, trials, validation)
    done = all(is_final(t.get("status")) for t in trials.values()) if trials else False
    return {"rows": rows, "load": load, "live_ingest": live, "levels": across_repetitions(rows), "ingest": ingests,
            "minimum_viable": min_viable,
            "environment": environments, "validation": validation, "status": "done" if done else "running",
            "trials": {k: {**{kk: t.get(kk) for kk in ("dataset", "scenario", "level", "budget", "status", "node",
                                                        "message", "attempt", "resources")},
                           "refused_writes": refused(t)} for k, t in trials.items()}}


def _mark_unchecked(min_viable: list[dict], trials: dict[str, dict], validation: list[dict]) -> None:
    checked = {(trials[v["trial"]].get("dataset"), trials[v["trial"]].get("scenario"))
               for v in validation if v["checked"] and v["trial"] in trials}
    for row in min_viable:
        if row["status"] in ("measured", "only unlimited passed") and (row["dataset"], row["scenario"]) not in checked:
            row["status"] = f"unchecked: {row['status']} without an answer check"


def across_repetitions(rows: list[dict]) -> list[dict]:
    """Per (dataset, scenario, level, query): the median of the repetitions' medians and a confidence
    interval *across repetitions* (independent trials), so one noisy trial is not read as a memory effect.
    The cold figure is the median of the repetitions' cold runs."""
    from btb.results.stats import coverage_label, median_ci, median_ci_coverage

    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["dataset"], r["scenario"], r["level"], r["query"])].append(r)
    out = []
    for (ds, sc, level, qid), rs in sorted(groups.items()):
        p50s = sorted(r["p50"] for r in rs if r.get("n"))
        colds = sorted(r["cold_seconds"] for r in rs if r.get("cold_seconds") is not None)
        row = {"dataset": ds, "scenario": sc, "level": level, "query": qid, "budget": rs[0].get("budget"),
               "repetitions": len(rs), "busy_repetitions": sum(1 for r in rs if r.get("busy")),
               "p50": statistics.median(p50s) if p50s else None,
               "cold_p50": statistics.median(colds) if colds else None}
        if len(p50s) >= 3:  # labelled with what it covers: the full range of 3-5 repetitions is not 95 %
            row["ci_low"], row["ci_high"] = median_ci(p50s, 0.95)
            row["ci_coverage"] = median_ci_coverage(len(p50s), 0.95)
            row["ci"] = f"{coverage_label(row['ci_coverage'])} across repetitions (order statistics)"
        elif p50s:
            row["ci_low"], row["ci_high"] = p50s[0], p50s[-1]
            row["ci"] = "range of repetitions (fewer than 3: no interval)"
        out.append(row)
    return out


@dataclass(frozen=True)
class CampaignData:
    """Everything the ledger holds for one campaign, read once (reports)."""

    trials: dict[str, dict]
    records: list[dict]
    samples: dict[str, list[dict]]


def load_campaign_data(ledger, board, campaign_id: str) -> CampaignData:
    trials = board.trials(campaign_id)
    return CampaignData(trials, ledger.records(campaign_id), {tid: ledger.samples(tid) for tid in trials})


def reduce_trial(ledger, board, trial_id: str) -> dict:
    """Reduce one trial (its own records and samples only) and store its summary."""
    trial = board.trial(trial_id)
    summary = summarize_trial(trial, ledger.trial_records(trial_id), ledger.samples(trial_id))
    ledger.put_trial_summary(trial_id, summary)
    return summary


def aggregate_campaign(ledger, board, campaign_id: str) -> dict:
    """Merge the stored trial summaries (reducing a finished trial that has none yet) into the campaign's."""
    trials = board.trials(campaign_id)
    per_trial = ledger.trial_summaries(list(trials))
    for tid, t in trials.items():
        if tid not in per_trial and is_final(t.get("status")):
            per_trial[tid] = reduce_trial(ledger, board, tid)
    camp = ledger.campaign(campaign_id) or {}
    validate = bool((camp.get("spec") or {}).get("protocol", {}).get("validate", True))
    summary = merge_summaries(trials, per_trial, validate)
    summary.update(campaign=campaign_id, generated=time.time())
    ledger.put_summary(campaign_id, summary)
    if summary["status"] == "done":
        ledger.set_campaign_status(campaign_id, "done")
    return summary
