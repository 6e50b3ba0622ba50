"""Summaries → files people read: summary.json, summary.csv, the raw records, and console tables."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from btb.units import format_size

CSV_FIELDS = ["dataset", "scenario", "level", "budget", "query", "n", "n_runs", "statuses", "p50", "p95", "p99",
              "mean", "stdev", "min", "max", "median_ci_low", "median_ci_high", "res_peak_bytes", "res_mean_bytes",
              "res_cpu_s", "res_io_read_bytes", "res_io_write_bytes", "res_source", "res_peak_from", "trial",
              "fingerprint"]


def write_report(out_dir: Path, summary: dict, records: list[dict], samples: dict[str, list[dict]],
                 campaign: dict) -> list[Path]:
    """Write everything under `out_dir` (created). Records are written as they are: nothing recomputed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    p = out_dir / "summary.json"
    p.write_text(json.dumps({"campaign": campaign, **summary}, indent=2, sort_keys=True, default=str))
    paths.append(p)
    p = out_dir / "summary.csv"
    with p.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for row in summary["rows"]:
            w.writerow(row | {"statuses": json.dumps(row.get("statuses", {}), sort_keys=True)})
    paths.append(p)
    p = out_dir / "records.jsonl"
    with p.open("w") as f:
        for r in records:
            f.write(json.dumps(r, sort_keys=True, default=str) + "\n")
    paths.append(p)
    p = out_dir / "samples.jsonl"
    with p.open("w") as f:
        for tid, rows in sorted(samples.items()):
            for r in rows:
                f.write(json.dumps({"trial": tid, **r}, sort_keys=True) + "\n")
    paths.append(p)
    return paths


def _ms(x) -> str:
    return "—" if x is None else f"{x * 1000:.2f}"


def _mib(x) -> str:
    return "—" if x is None else f"{x / 2**20:.1f}"


def _qkey(q: str) -> int:
    return int(q[1:]) if q[1:].isdigit() else 0


def print_summary(summary: dict, console: Console | None = None) -> None:
    console = console or Console()
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in summary["rows"]:
        groups.setdefault((r["dataset"], r["level"]), []).append(r)
    for (ds, level), rows in groups.items():
        t = Table(title=f"{ds} @ {level}: latency (ms), engine peak memory during the query's batch")
        for col in ("scenario", "query", "ok/runs", "p50", "p95", "p99", "peak MiB", "other statuses"):
            t.add_column(col, justify="left" if col in ("scenario", "query", "other statuses") else "right")
        for r in sorted(rows, key=lambda r: (r["scenario"], _qkey(r["query"]))):
            st = r.get("statuses", {})
            t.add_row(r["scenario"], r["query"], f"{st.get('ok', 0)}/{r['n_runs']}", _ms(r.get("p50")),
                      _ms(r.get("p95")), _ms(r.get("p99")), _mib(r.get("res_peak_bytes")),
                      ",".join(f"{k}:{v}" for k, v in sorted(st.items()) if k != "ok") or "—")
        console.print(t)
    if summary.get("ingest"):
        t = Table(title="ingest")
        for col in ("dataset", "scenario", "level", "status", "seconds", "rows/s", "on disk MiB", "peak MiB"):
            t.add_column(col)
        for r in summary["ingest"]:
            t.add_row(r["dataset"], r["scenario"], r["level"], r["status"], f"{r['seconds'] or 0:.2f}",
                      f"{r['rows_per_s'] or 0:,.0f}", _mib(r.get("bytes_on_disk")), _mib(r.get("res_peak_bytes")))
        console.print(t)
    if summary.get("minimum_viable"):
        t = Table(title="minimum viable RAM: lowest level from which every level upwards completed every run")
        for col in ("dataset", "scenario", "minimum viable", "levels"):
            t.add_column(col)
        for r in summary["minimum_viable"]:
            mv = r["minimum_viable_level"]
            t.add_row(r["dataset"], r["scenario"],
                      (format_size(r["minimum_viable_bytes"]) if r["minimum_viable_bytes"] else mv) or "none",
                      ", ".join(f"{k}: {v}" for k, v in r["levels"].items()))
        console.print(t)
