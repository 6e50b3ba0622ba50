"""Records → summaries: latency statistics and resource use per (dataset, scenario, level, query),
ingest figures per trial, and each scenario's minimum viable RAM.

`summarize_records` is pure (lists of dicts in, dict out); `aggregate_campaign` is the I/O shell.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from btb.campaign import parse_size
from btb.results.stats import summarize

FINAL_TRIAL_STATES = {"completed", "completed-with-errors", "oom", "invalid", "error", "skipped"}


def trial_resources(samples: list[dict], phases: list[tuple[str, float, float]]) -> dict[str, dict]:
    """Per phase: engine peak/mean memory, CPU seconds, IO bytes (all engines of the trial together)."""
    from btb.monitor.attribution import attribute, combine_targets
    from btb.monitor.sources.base import Sample

    fields = set(Sample.__dataclass_fields__)
    rows = [(d["target"], Sample(**{k: v for k, v in d.items() if k in fields})) for d in samples]
    if len({t for t, _ in rows}) > 1:
        rows = combine_targets(rows)
    out = {}
    for st in attribute(rows, phases):
        out[st.phase] = {"peak_bytes": st.peak_bytes, "peak_from": st.peak_from, "mean_bytes": st.mean_bytes,
                         "baseline_bytes": st.baseline_bytes, "peak_over_baseline_bytes": st.peak_over_baseline_bytes,
                         "peak_anon_bytes": st.peak_anon_bytes, "cpu_s": st.cpu_s, "io_read_bytes": st.io_read_bytes,
                         "io_write_bytes": st.io_write_bytes, "oom_kills": st.oom_kills, "source": st.source,
                         "n_samples": st.n_samples}
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


def summarize_records(records: list[dict], trials: dict[str, dict], samples: dict[str, list[dict]]) -> dict:
    runs = [r for r in records if r.get("kind") == "run" and not r.get("warmup")]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in runs:
        groups[(r["dataset"], r["scenario"], r["level"], r["trial"], r["query"])].append(r)
    phases: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for r in records:
        if r.get("kind") == "ingest":
            phases[r["trial"]].append(("ingest", r["t_start"], r["t_end"]))
        elif r.get("kind") == "batch":
            phases[r["trial"]].append((f"batch:{r['query']}", r["t_start"], r["t_end"]))
    resources = {tid: trial_resources(samples[tid], ph) for tid, ph in phases.items() if samples.get(tid)}
    fingerprints = {r["trial"]: r.get("fingerprint") for r in records if r.get("kind") == "ingest"}
    rows = []
    for (ds, sc, level, trial_id, qid), rs in sorted(groups.items()):
        statuses: dict[str, int] = defaultdict(int)
        for r in rs:
            statuses[r["status"]] += 1
        lat = summarize(r["seconds"] for r in rs if r["status"] == "ok")
        row = {"dataset": ds, "scenario": sc, "level": level, "trial": trial_id, "query": qid,
               "budget": trials.get(trial_id, {}).get("budget"), "n_runs": len(rs), "statuses": dict(statuses),
               "fingerprint": fingerprints.get(trial_id),
               **({k: v for k, v in lat.to_dict().items()} if lat else {"n": 0})}
        res = resources.get(trial_id, {}).get(f"batch:{qid}")
        if res:
            row.update({f"res_{k}": v for k, v in res.items()})
        rows.append(row)
    ingests = [{**{k: r.get(k) for k in ("trial", "dataset", "scenario", "level", "budget", "status", "message",
                                         "seconds", "rows_per_s", "bytes_on_disk", "backend", "node", "fingerprint")},
                **{f"res_{k}": v for k, v in resources.get(r["trial"], {}).get("ingest", {}).items()}}
               for r in records if r.get("kind") == "ingest"]
    validation = defaultdict(lambda: {"checked": 0, "matched": 0})
    for r in records:
        if r.get("kind") == "validation":
            v = validation[(r["trial"], r["query"])]
            v["checked"] += 1
            v["matched"] += int(bool(r["match"]))
    # minimum viable RAM: the lowest level from which every level upwards completed every run
    from btb.results.gradient import minimum_viable

    viable: dict[tuple, dict[float, tuple]] = defaultdict(dict)
    for t in trials.values():
        key = level_sort_key(t.get("level", ""), t.get("budget"))
        viable[(t.get("dataset"), t.get("scenario"))][key] = (t.get("level"), t.get("budget"), t.get("status"))
    min_viable = []
    for (ds, sc), lv in sorted(viable.items()):
        finished = {k: v[2] == "completed" for k, v in lv.items() if v[2] != "skipped"}
        mv = minimum_viable(finished) if finished else None
        min_viable.append({"dataset": ds, "scenario": sc,
                           "minimum_viable_level": lv[mv][0] if mv is not None else None,
                           "minimum_viable_bytes": lv[mv][1] if mv is not None else None,
                           "levels": {v[0]: v[2] for _, v in sorted(lv.items())}})
    done = all(t.get("status") in FINAL_TRIAL_STATES for t in trials.values()) if trials else False
    environments = {r["node"]: r.get("environment") for r in records if r.get("kind") == "ingest"}
    return {"rows": rows, "ingest": ingests, "minimum_viable": min_viable, "environment": environments,
            "validation": [{"trial": k[0], "query": k[1], **v} for k, v in sorted(validation.items())],
            "status": "done" if done else "running",
            "trials": {k: {kk: t.get(kk) for kk in ("dataset", "scenario", "level", "budget", "status", "node",
                                                     "message")} for k, t in trials.items()}}


@dataclass(frozen=True)
class CampaignData:
    """Everything the ledger holds for one campaign, read once."""

    trials: dict[str, dict]
    records: list[dict]
    samples: dict[str, list[dict]]


def load_campaign_data(ledger, campaign_id: str) -> CampaignData:
    trials = ledger.trials(campaign_id)
    return CampaignData(trials, ledger.records(campaign_id), {tid: ledger.samples(tid) for tid in trials})


def aggregate_campaign(ledger, campaign_id: str, data: CampaignData | None = None) -> dict:
    """Summarise (from `data` when the caller already read it) and store the summary in the ledger."""
    data = data or load_campaign_data(ledger, campaign_id)
    summary = summarize_records(data.records, data.trials, data.samples)
    summary.update(campaign=campaign_id, generated=time.time())
    ledger.put_summary(campaign_id, summary)
    if summary["status"] == "done":
        ledger.set_campaign_status(campaign_id, "done")
    return summary
