"""A campaign's results as files that stand alone (no Redis, no btb needed to read them), and back.

    campaign.yaml        the campaign file as submitted (or the validated spec when the text is not known)
    campaign.json        id, spec, submit metadata, trial count
    trials.json          every trial's final state (status, node, level, budget, message, ...)
    environment.json     per node: host, kernel, CPU, cgroups, engine versions, btb revision
    records.parquet      every record (ingest, validation, run, batch, ...): flat columns + the full record
    records.jsonl        the same records, one JSON object a line
    samples.parquet      every monitor sample, one row each, with its trial
    summary.csv          every (dataset, scenario, level, query) of the plan, failed ones included, + status
    ingest.csv           every (dataset, scenario, level) ingest, failed ones included; btb_rss_peak_bytes is btb's
                         own RSS peak over the attempt that made the load (load and serving; btb/monitor/own.py)
    minimum_viable.csv   per (dataset, scenario): the lowest level from which every level upward completed
    scores.csv           per (machine, dataset, protocol, level, scenario): the summary score (btb/results/workload.py)
    load_curves.csv      load workloads: per step, offered/achieved ops/s, response and service p50/p95/p99, verdict
    saturation.csv       load workloads: the highest valid offered rate with response p95 within the SLO
    summary.json         the merged campaign summary (what the tables and plots are drawn from)

Every column name carries its unit (`p50_ms`, `peak_working_set_bytes`, `duration_s`); a working set is anon +
shmem (what the engines hold), `*_memory_bytes` the cgroup's total, page cache included. `load_bundle`
reads the first five back: `btb report --from DIR` rebuilds the summary and the HTML from them alone.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from btb.units import format_size
from btb.results import hotset

P95_MIN_N = 20  # fewer samples: p95 is (nearly) the max and is not shown
P99_MIN_N = 100  # fewer samples: p99 is (nearly) the max and is not shown


@dataclass
class Bundle:
    """Everything a report is made from."""

    campaign: dict  # {"id", "spec", "meta", "created", "n_trials", "status"}
    trials: dict[str, dict]
    records: list[dict]
    samples: dict[str, list[dict]]
    summary: dict = field(default_factory=dict)

    @property
    def cid(self) -> str:
        return self.campaign["id"]

    def query_ids(self) -> list[str]:
        from btb.engines.base import QUERY_IDS

        return list(self.campaign["spec"].get("queries") or QUERY_IDS)


def summarize_bundle(b: Bundle) -> dict:
    """The campaign summary recomputed from the records and samples alone (pure: no Redis)."""
    from btb.results.aggregate import merge_summaries, summarize_trial

    by_trial: dict[str, list[dict]] = {}
    for r in b.records:
        by_trial.setdefault(r.get("trial"), []).append(r)
    per = {}
    for tid, t in b.trials.items():
        rs = sorted(by_trial.get(tid, []), key=lambda r: r.get("record_id", ""))
        per[tid] = summarize_trial({**t, "id": tid}, rs, b.samples.get(tid, []))
    summary = merge_summaries(b.trials, per, bool(b.campaign["spec"].get("protocol", {}).get("validate", True)))
    summary["campaign"] = b.cid
    return summary


# --- writing ----------------------------------------------------------------------------------------------
def _ms(x) -> float | None:
    return None if x is None else x * 1000.0


def _int(x) -> int | None:
    return None if x is None else int(round(x))


def summary_rows(b: Bundle) -> list[dict]:
    """One row per planned (dataset, scenario, level, query), failed ones included, units in the names."""
    rows = {(r["trial"], r["query"]): r for r in b.summary.get("rows", [])}
    out = []
    for tid, t in sorted(b.trials.items(), key=lambda kv: kv[0]):
        for q in b.query_ids():
            r = rows.get((tid, q))
            tstatus = t.get("status") or ""
            base = {"dataset": t.get("dataset"), "scenario": t.get("scenario"), "level": t.get("level"),
                    "budget_bytes": t.get("budget"), "query": q, "trial": tid, "trial_status": tstatus}
            if not r:
                out.append(base | {"status": "not measured" if tstatus in ("completed", "completed-with-errors")
                                   else (tstatus or "unknown"), "n_runs": 0, "n_ok": 0})
                continue
            st = r.get("statuses", {})
            n_ok = st.get("ok", 0)
            status = "ok" if n_ok == r.get("n_runs") else ("failed" if n_ok == 0 else "partial")
            n = r.get("n", 0) or 0
            note = []
            if n and n < P95_MIN_N:
                note.append(f"p95 not shown: n={n} < {P95_MIN_N}")
            if n and n < P99_MIN_N:
                note.append(f"p99 not shown: n={n} < {P99_MIN_N}")
            out.append(base | {
                "status": status, "statuses": json.dumps(st, sort_keys=True), "n_runs": r.get("n_runs"), "n_ok": n_ok,
                "p50_ms": _ms(r.get("p50")), "p95_ms": _ms(r.get("p95")) if n >= P95_MIN_N else None,
                "p99_ms": _ms(r.get("p99")) if n >= P99_MIN_N else None, "mean_ms": _ms(r.get("mean")),
                "stdev_ms": _ms(r.get("stdev")), "min_ms": _ms(r.get("min")), "max_ms": _ms(r.get("max")),
                "median_ci_low_ms": _ms(r.get("median_ci_low")), "median_ci_high_ms": _ms(r.get("median_ci_high")),
                "percentile_note": "; ".join(note),
                "peak_working_set_bytes": r.get("res_peak_working_set_bytes"),
                "mean_working_set_bytes": _int(r.get("res_mean_working_set_bytes")),
                "peak_memory_bytes": r.get("res_peak_bytes"), "mean_memory_bytes": _int(r.get("res_mean_bytes")),
                "cpu_s": r.get("res_cpu_s"), "io_read_bytes": r.get("res_io_read_bytes"),
                "io_write_bytes": r.get("res_io_write_bytes"), "memory_source": r.get("res_source"),
                "prepare": r.get("prepare"), "fingerprint": r.get("fingerprint"),
                **{c: r.get(c) for c in hotset.CSV_COLUMNS},
                "host_round_trip_p50_ms": _ms(r.get("host_round_trip_p50"))})
    return out


SUMMARY_COLUMNS = ["dataset", "scenario", "level", "budget_bytes", "query", "status", "statuses", "n_runs", "n_ok",
                   "p50_ms", "p95_ms", "p99_ms", "mean_ms", "stdev_ms", "min_ms", "max_ms", "median_ci_low_ms",
                   "median_ci_high_ms", "percentile_note", "peak_working_set_bytes", "mean_working_set_bytes",
                   "peak_memory_bytes", "mean_memory_bytes", "cpu_s",
                   "io_read_bytes", "io_write_bytes", "memory_source", "prepare", "trial", "trial_status",
                   "fingerprint", *hotset.CSV_COLUMNS,  # what the query read (btb/results/hotset.py)
                   "host_round_trip_p50_ms"]  # DuckDB: the host's round trip around the recorded DuckDB time


def ingest_rows(b: Bundle) -> list[dict]:
    got = {r["trial"]: r for r in b.summary.get("ingest", [])}
    loaded = {(b.trials.get(tid, {}).get("dataset"), b.trials.get(tid, {}).get("scenario")) for tid in got}
    out = []
    for tid, t in sorted(b.trials.items()):
        r = got.get(tid) or {}
        if not r and (t.get("dataset"), t.get("scenario")) in loaded and t.get("status") not in ("error", "oom"):
            continue  # served from a load another trial of the same (dataset, scenario) made
        # the load's own budget (memory.ingest), not the level of the trial that happened to make it
        out.append({"dataset": t.get("dataset"), "scenario": t.get("scenario"),
                    "level": r.get("ingest_level") or t.get("level"),
                    "budget_bytes": r.get("budget") if r else t.get("budget"),
                    "status": r.get("status") or f"not run ({t.get('status')})",
                    "ingest_s": r.get("seconds"), "rows_per_s": r.get("rows_per_s"),
                    "bytes_on_disk": r.get("bytes_on_disk"), "bytes_per_sample": r.get("bytes_per_sample"),
                    "x_dataset": r.get("x_dataset"), "peak_working_set_bytes": r.get("res_peak_working_set_bytes"),
                    "peak_memory_bytes": r.get("res_peak_bytes"), "cpu_s": r.get("res_cpu_s"), "io_write_bytes": r.get("res_io_write_bytes"),
                    "applied_limit_bytes": r.get("applied_limit"), "budget_mode": r.get("budget_mode"),
                    "btb_rss_peak_bytes": t.get("btb_rss_peak_bytes"), "backend": r.get("backend"), "node": r.get("node") or t.get("node"), "trial": tid,
                    "message": r.get("message") or ("" if r else t.get("message", ""))})
    return out


INGEST_COLUMNS = ["dataset", "scenario", "level", "budget_bytes", "status", "ingest_s", "rows_per_s", "bytes_on_disk",
                  "bytes_per_sample", "x_dataset", "peak_working_set_bytes", "peak_memory_bytes", "cpu_s", "io_write_bytes", "applied_limit_bytes",
                  "budget_mode", "btb_rss_peak_bytes",
                  "backend", "node", "trial", "message"]


def minimum_viable_rows(b: Bundle) -> list[dict]:
    return [{"dataset": r["dataset"], "scenario": r["scenario"],
             "minimum_viable_level": r.get("minimum_viable_level") or "none",
             "minimum_viable_bytes": r.get("minimum_viable_bytes"),
             "level_statuses": json.dumps(r.get("levels", {}))} for r in b.summary.get("minimum_viable", [])]


def _csv(path: Path, rows: list[dict], columns: list[str]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    return path


RECORD_COLUMNS = {  # record key → (column, arrow type)
    "campaign": ("campaign", pa.string()), "trial": ("trial", pa.string()), "record_id": ("record_id", pa.string()),
    "kind": ("kind", pa.string()), "dataset": ("dataset", pa.string()), "scenario": ("scenario", pa.string()),
    "level": ("level", pa.string()), "node": ("node", pa.string()), "attempt": ("attempt", pa.int64()),
    "query": ("query", pa.string()), "binding": ("binding", pa.int64()), "run": ("run", pa.int64()),
    "warmup": ("warmup", pa.bool_()), "status": ("status", pa.string()), "seconds": ("duration_s", pa.float64()),
    "n_rows": ("n_rows", pa.int64()), "t_start": ("t_start_unix_s", pa.float64()),
    "t_end": ("t_end_unix_s", pa.float64()), "message": ("message", pa.string()),
}


def _num(v, typ):
    if v is None:
        return None
    if typ == pa.int64():
        return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    if typ == pa.float64():
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    if typ == pa.bool_():
        return bool(v)
    return str(v)


def write_records(path: Path, records: list[dict]) -> Path:
    cols: dict[str, list] = {c: [] for c, _ in RECORD_COLUMNS.values()}
    cols["phases_json"] = []
    cols["record_json"] = []
    for r in records:
        for k, (c, typ) in RECORD_COLUMNS.items():
            cols[c].append(_num(r.get(k), typ))
        cols["phases_json"].append(json.dumps(r["phases"]) if r.get("phases") else None)
        cols["record_json"].append(json.dumps(r, sort_keys=True, default=str))
    schema = pa.schema([(c, t) for c, t in RECORD_COLUMNS.values()] + [("phases_json", pa.string()),
                                                                        ("record_json", pa.string())])
    pq.write_table(pa.table(cols, schema=schema), path, compression="zstd")
    return path


SAMPLE_NUMERIC = {  # sample key → column (unit in the name)
    "t": "t_unix_s", "mem_bytes": "mem_bytes", "mem_peak_bytes": "mem_peak_bytes", "anon_bytes": "anon_bytes",
    "file_bytes": "file_bytes", "shmem_bytes": "shmem_bytes", "cpu_s": "cpu_s", "io_read_bytes": "io_read_bytes",
    "io_write_bytes": "io_write_bytes", "oom_kills": "oom_kills_count", "mem_limit_bytes": "mem_limit_bytes",
    "psi_mem_some_us": "psi_mem_some_us", "psi_mem_full_us": "psi_mem_full_us", "psi_cpu_some_us": "psi_cpu_some_us",
    "psi_io_some_us": "psi_io_some_us", "psi_io_full_us": "psi_io_full_us",
}
SAMPLE_LABELS = ("target", "source", "peak_scope")


def write_samples(path: Path, samples: dict[str, list[dict]]) -> Path:
    cols: dict[str, list] = {"trial": []} | {c: [] for c in SAMPLE_NUMERIC.values()} | {k: [] for k in SAMPLE_LABELS}
    cols["extra_json"] = []
    for tid, rows in sorted(samples.items()):
        for s in rows:
            cols["trial"].append(tid)
            for k, c in SAMPLE_NUMERIC.items():
                v = s.get(k)
                cols[c].append(None if v is None else float(v))
            for k in SAMPLE_LABELS:
                v = s.get(k)
                cols[k].append(None if v is None else str(v))
            cols["extra_json"].append(json.dumps(s["extra"]) if s.get("extra") else None)
    schema = pa.schema([("trial", pa.string())] + [(c, pa.float64()) for c in SAMPLE_NUMERIC.values()]
                       + [(k, pa.string()) for k in SAMPLE_LABELS] + [("extra_json", pa.string())])
    pq.write_table(pa.table(cols, schema=schema), path, compression="zstd")
    return path


_INT_SAMPLE = {"mem_bytes", "mem_peak_bytes", "anon_bytes", "file_bytes", "shmem_bytes", "io_read_bytes",
               "io_write_bytes", "oom_kills", "mem_limit_bytes", "psi_mem_some_us", "psi_mem_full_us",
               "psi_cpu_some_us", "psi_io_some_us", "psi_io_full_us"}


def read_samples(path: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    if not path.exists():
        return out
    for row in pq.read_table(path).to_pylist():
        s: dict[str, Any] = {}
        for k, c in SAMPLE_NUMERIC.items():
            v = row.get(c)
            s[k] = None if v is None else (int(v) if k in _INT_SAMPLE else float(v))
        for k in SAMPLE_LABELS:
            s[k] = row.get(k)
        s["extra"] = json.loads(row["extra_json"]) if row.get("extra_json") else {}
        out.setdefault(row["trial"], []).append(s)
    return out


def read_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(v) for v in pq.read_table(path, columns=["record_json"]).column("record_json").to_pylist()]


def write_bundle(out_dir: Path, b: Bundle) -> list[Path]:
    """Write every file of the list above under `out_dir` (created)."""
    import yaml

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    text = b.campaign.get("meta", {}).get("text")
    p = out_dir / "campaign.yaml"
    p.write_text(text if text else yaml.safe_dump(b.campaign["spec"], sort_keys=False))
    paths.append(p)
    p = out_dir / "campaign.json"
    p.write_text(json.dumps(b.campaign, indent=2, sort_keys=True, default=str))
    paths.append(p)
    p = out_dir / "trials.json"
    p.write_text(json.dumps(b.trials, indent=2, sort_keys=True, default=str))
    paths.append(p)
    p = out_dir / "environment.json"
    env = {"nodes": b.summary.get("environment", {}), "coordinator": b.campaign.get("meta", {}).get("coordinator")}
    p.write_text(json.dumps(env, indent=2, sort_keys=True, default=str))
    paths.append(p)
    paths.append(write_records(out_dir / "records.parquet", b.records))
    p = out_dir / "records.jsonl"  # the same records, one JSON object a line (jq, grep)
    with p.open("w") as f:
        for r in b.records:
            f.write(json.dumps(r, sort_keys=True, default=str) + "\n")
    paths.append(p)
    paths.append(write_samples(out_dir / "samples.parquet", b.samples))
    paths.append(_csv(out_dir / "summary.csv", summary_rows(b), SUMMARY_COLUMNS))
    paths.append(_csv(out_dir / "ingest.csv", ingest_rows(b), INGEST_COLUMNS))
    paths.append(_csv(out_dir / "minimum_viable.csv", minimum_viable_rows(b),
                      ["dataset", "scenario", "minimum_viable_level", "minimum_viable_bytes", "level_statuses"]))
    paths += workload_files(out_dir, b)
    p = out_dir / "summary.json"
    p.write_text(json.dumps({"campaign": b.campaign, **b.summary}, indent=2, sort_keys=True, default=str))
    paths.append(p)
    return paths


def workload_files(out_dir: Path, b: Bundle) -> list[Path]:
    """scores.csv (every campaign); load_curves.csv and saturation.csv (load workloads): btb/results/workload.py;
    live_ingest.csv (live ingest per trial, with its store check): btb/results/liveingest.py."""
    from btb.results import liveingest
    from btb.results import workload as w

    t = w.tables(b.campaign["spec"], b.summary, b.trials)
    paths = [_csv(out_dir / "scores.csv", t["scores"], w.SCORE_COLUMNS)]
    live = liveingest.trial_rows(b.records, b.trials)
    if live:
        paths.append(_csv(out_dir / "live_ingest.csv", live, liveingest.COLUMNS))
    if t["curves"]:
        paths.append(_csv(out_dir / "load_curves.csv", w.curve_csv_rows(t["curves"]), w.CURVE_COLUMNS))
        paths.append(_csv(out_dir / "saturation.csv", t["saturation"], w.SATURATION_COLUMNS))
    return paths


class BundleError(ValueError):
    pass


def load_bundle(out_dir: Path) -> Bundle:
    """The bundle from the files alone (campaign.json, trials.json, records/samples.parquet); the summary is
    recomputed from the records, so the report does not depend on a stored summary."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise BundleError(f"{out_dir}: not a directory of results")
    missing = [n for n in ("campaign.json", "trials.json", "records.parquet") if not (out_dir / n).is_file()]
    if missing:
        raise BundleError(f"{out_dir}: missing {', '.join(missing)} (written by `btb report ID`)")
    try:
        campaign = json.loads((out_dir / "campaign.json").read_text())
        trials = json.loads((out_dir / "trials.json").read_text())
        records = read_records(out_dir / "records.parquet")
        samples = read_samples(out_dir / "samples.parquet")
    except (OSError, ValueError, pa.ArrowException) as e:
        raise BundleError(f"{out_dir}: cannot read the results ({type(e).__name__}: {e})") from None
    b = Bundle(campaign, trials, records, samples)
    b.summary = summarize_bundle(b)
    return b


def level_label(level: str, budget: int | None) -> str:
    sized = level.startswith(("auto-", "rel-"))  # auto and relative levels: the label and the bytes it resolved to
    return level if not sized or budget is None else f"{level} ({format_size(budget)})"
