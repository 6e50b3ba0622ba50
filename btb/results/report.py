"""Summaries → files people read: summary.json, summary.csv, the raw records, and console tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from btb.results.files import P95_MIN_N, P99_MIN_N
from btb.units import format_size


def print_checks(checks, console: Console) -> None:
    """Failed self-checks first, in red, one line each; then a one-line tally."""
    from rich.text import Text

    failed = [c for c in checks if not c.ok]
    for c in failed:
        console.print(Text(f"CHECK FAILED  {c.name}: {c.detail}", style="bold red"), soft_wrap=True)
        for f in c.failures:
            console.print(Text(f"    {f}", style="red"), soft_wrap=True)
    passed = sum(c.ok and not c.info for c in checks)
    console.print(Text(f"self-checks: {passed} passed, {len(failed)} failed"
                       + "".join(f"; {c.detail}" for c in checks if c.info),
                       style="red" if failed else "green"), soft_wrap=True)


def _ms(x, n: int | None = None, min_n: int = 0) -> str:
    if x is None:
        return "—"
    if n is not None and n < min_n:
        return f"(n<{min_n})"
    return f"{x * 1000:.2f}"


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
        t = Table(title=f"{ds} @ {level}: latency (ms; cold = first run on a fresh engine), engine memory during "
                        "the query's batch (working set = anon + shmem; total includes page cache)")
        for col in ("scenario", "query", "ok/runs", "cold", "p50", "p95", "p99", "working set MiB", "total MiB",
                    "phases p50 (ms)", "other statuses"):
            t.add_column(col, justify="left" if col in ("scenario", "query", "other statuses", "phases p50 (ms)")
                         else "right")
        for r in sorted(rows, key=lambda r: (r["scenario"], _qkey(r["query"]), r.get("repetition", 0))):
            st = r.get("statuses", {})
            phases = " ".join(f"{k} {v * 1e3:.2f}" for k, v in (r.get("phases_p50") or {}).items()) or "—"
            t.add_row(r["scenario"], r["query"], f"{st.get('ok', 0)}/{r['n_runs']}", _ms(r.get("cold_seconds")),
                      _ms(r.get("p50")), _ms(r.get("p95"), r.get("n", 0), P95_MIN_N),
                      _ms(r.get("p99"), r.get("n", 0), P99_MIN_N), _mib(r.get("res_peak_working_set_bytes")),
                      _mib(r.get("res_peak_bytes")), phases,
                      ",".join(f"{k}:{v}" for k, v in sorted(st.items()) if k != "ok") or "—")
        console.print(t)
    if summary.get("ingest"):
        t = Table(title="ingest")
        for col in ("dataset", "scenario", "level", "status", "seconds", "rows/s", "on disk MiB", "B/sample", "peak MiB"):
            t.add_column(col)
        for r in summary["ingest"]:
            t.add_row(r["dataset"], r["scenario"], r.get("ingest_level") or r["level"], r["status"], f"{r['seconds'] or 0:.2f}",
                      f"{r['rows_per_s'] or 0:,.0f}", _mib(r.get("bytes_on_disk")),
                      "—" if r.get("bytes_per_sample") is None else f"{r['bytes_per_sample']:.1f}", _mib(r.get("res_peak_bytes")))
        console.print(t)
    if summary.get("minimum_viable"):
        t = Table(title="minimum viable RAM: lowest level from which every level upwards completed every run, "
                        "bracketed by the highest level below it that failed")
        for col in ("dataset", "scenario", "status", "failed at", "minimum viable", "levels"):
            t.add_column(col)
        for r in summary["minimum_viable"]:
            mv = r["minimum_viable_level"]
            t.add_row(r["dataset"], r["scenario"], r.get("status", ""),
                      format_size(r["failed_below_bytes"]) if r.get("failed_below_bytes") else "—",
                      (format_size(r["minimum_viable_bytes"]) if r["minimum_viable_bytes"] else mv) or "none",
                      ", ".join(f"{k}: {v}" for k, v in r["levels"].items()))
        console.print(t)
