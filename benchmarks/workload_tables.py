"""Markdown tables for docs/workloads.md from a workloads campaign's result files (load_curves.csv,
saturation.csv, live_ingest.csv, scores.csv):

    python benchmarks/workload_tables.py results/<campaign>

A curve cell is `achieved ops/s: response p50 / p95 ms, failed + missed %` (+ the verdict when not valid); the class
table gives each query class's response p95 per mix step (a class too thin for a p95: its slowest op).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from btb.engines.registry import SCENARIOS

ORDER = list(SCENARIOS)  # the registry's order: P1 P1c P2 F1 F2 M1 M2 O1 O2 D1 D2


def read(d: Path, name: str) -> list[dict]:
    p = d / name
    return list(csv.DictReader(p.open())) if p.exists() else []


def num(x: str | None, digits: int = 0) -> str:
    return "—" if x in (None, "", "None") else f"{float(x):,.{digits}f}"


def levels(rows: list[dict]) -> list[str]:
    return sorted({r["level"] for r in rows}, key=lambda s: (len(s), s))


def scenarios(rows: list[dict]) -> list[str]:
    return sorted({r["scenario"] for r in rows}, key=lambda s: ORDER.index(s) if s in ORDER else len(ORDER))


def table(head: list[str], body: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                     + ["| " + " | ".join(r) + " |" for r in body])


def cell(r: dict, digits: int = 1) -> str:
    """`achieved: p50 / p95 ms, failed + missed %` (missed: due in the window, never started before its end)."""
    errors = 100 * float(r["error_rate"] or 0)
    return (f"{num(r['achieved_ops_s'], digits)}: {num(r['response_p50_ms'])} / {num(r['response_p95_ms'])}, "
            f"{errors:.0f} %" + ("" if r["verdict"] == "valid" else f" {r['verdict']}"))


def steps(curve: list[dict], workload: str, column: str, fmt) -> str:
    """One row per (level, scenario), one column per step value (`rate` or `clients`)."""
    mine = [r for r in curve if r["workload"] == workload and (workload != "mix" or r["loop"] == "open")]
    keys = sorted({float(r[column]) for r in mine})
    body = []
    for level in levels(mine):
        for sc in scenarios(mine):
            got = {float(r[column]): r for r in mine if r["scenario"] == sc and r["level"] == level}
            if got:
                body.append([sc, level] + [fmt(got[k]) if k in got else "—" for k in keys])
    name = "ops/s" if column == "offered_ops_s" else "operators"
    return table(["scenario", "budget"] + [f"{k:g} {name}" for k in keys], body)


def main() -> None:
    d = Path(sys.argv[1])
    curve = read(d, "load_curves.csv")
    print("### mix, open loop: achieved ops/s: response p50 / p95 ms, failed + missed %\n")
    print(steps(curve, "mix", "offered_ops_s", cell))
    print("\n### mix, open loop: response p95 ms per query class\n")
    print(steps(curve, "mix", "offered_ops_s", lambda r: r.get("class_response_p95_ms") or "—"))
    print("\n### sessions: achieved ops/s: response p50 / p95 ms, failed + missed %\n")
    print(steps(curve, "sessions", "clients", lambda r: cell(r, 2)))
    sat = read(d, "saturation.csv")
    print("\n### saturation\n")
    print(table(["scenario", "budget", "workload", "saturation ops/s", "reached", "peak achieved", "note"],
                [[r["scenario"], r["level"], r["workload"], r["saturation_ops_s"] or "—", r["reached"],
                  num(r["peak_achieved_ops_s"], 2), r["note"]]
                 for level in levels(sat) for sc in scenarios(sat) for r in sat
                 if r["scenario"] == sc and r["level"] == level]))
    live = read(d, "live_ingest.csv")
    if live:
        print("\n### live ingest beside every step, freshness, and the answers after it\n")
        print(table(["scenario", "budget", "offered / achieved samples/s", "append p95 ms", "writer start lag p95 ms",
                     "freshness n", "p50 ms", "p95 ms", "answers after the writes"],
                    [[r["scenario"], r["level"], f"{num(r['offered_samples_per_s'])} / {num(r['achieved_samples_per_s'])}",
                      num(r["append_p95_ms"], 1), num(r["start_lag_p95_ms"]), r["freshness_n"],
                      num(r["freshness_p50_ms"], 1), num(r["freshness_p95_ms"]),
                      f"{r['store_check']}: {r['answers_checked']} answers, {r['answers_changed']} changed, "
                      f"+{num(r['appended_samples'])} samples"
                      + (f"; {r['write_errors']} write errors" if r["write_errors"] not in ("", "0") else "")]
                     for level in levels(live) for sc in scenarios(live) for r in live
                     if r["scenario"] == sc and r["level"] == level]))
    score = read(d, "scores.csv")
    if score:
        print("\n### scores\n")
        print(table(["scenario", "level", "score", "cells", "failed", "dropped"],
                    [[r["scenario"], r["level"], num(r["score"], 2), r["cells"], r["failed_cells"], r["dropped_cells"]]
                     for r in score]))


if __name__ == "__main__":
    main()
