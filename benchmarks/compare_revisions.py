"""Timings and answers of two revisions, from campaigns run alternately (benchmarks/revisions.sh).

Why: a refactoring must leave what btb measures unchanged. One pair of campaigns says little on a shared
machine, so each revision runs the same campaign several times, alternating, and the ratio new/old is set
beside the spread between runs of the *same* revision: a change is only visible when it exceeds that noise.

    python benchmarks/compare_revisions.py --old results/ba-old1-* ... --new results/ba-new1-* ...

Per scenario: the geometric mean over queries of p50(new)/p50(old) (each side the median over its runs of the
trial's warm p50), and the same statistic between two runs of one revision (old run 1 vs old run 2, new 1 vs new
2) as the noise floor. Answers: every validation record matched the oracle in every run, and each query's row
count per binding is the same in every run of both revisions.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
from collections import defaultdict
from pathlib import Path

Key = tuple[str, str]  # (scenario, query)


def p50s(run: Path) -> dict[Key, float]:
    with open(run / "summary.csv", newline="") as f:
        return {(r["scenario"], r["query"]): float(r["p50_ms"]) for r in csv.DictReader(f)
                if r["status"] == "ok" and r["p50_ms"]}


def answers(run: Path) -> tuple[int, int, dict[tuple[str, str, int], set[int]]]:
    """(validations, mismatches, row counts per (scenario, query, binding)) of one run's records."""
    checked = bad = 0
    rows: dict[tuple[str, str, int], set[int]] = defaultdict(set)
    with open(run / "records.jsonl") as f:
        for line in f:
            r = json.loads(line)
            if r.get("kind") == "validation":
                checked += 1
                bad += not r.get("match")
            elif r.get("kind") == "run" and r.get("status") == "ok" and not r.get("warmup"):
                rows[(r["scenario"], r["query"], r["binding"])].add(int(r["n_rows"]))
    return checked, bad, rows


def geomean_ratio(a: dict[Key, float], b: dict[Key, float], scenario: str | None) -> tuple[float, int]:
    keys = [k for k in a if k in b and (scenario is None or k[0] == scenario) and a[k] > 0 and b[k] > 0]
    if not keys:
        return math.nan, 0
    return math.exp(statistics.fmean(math.log(b[k] / a[k]) for k in keys)), len(keys)


def median_of(runs: list[dict[Key, float]]) -> dict[Key, float]:
    keys = set.intersection(*(set(r) for r in runs))
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", nargs="+", type=Path, required=True, help="result dirs of the old revision")
    ap.add_argument("--new", nargs="+", type=Path, required=True, help="result dirs of the new revision")
    args = ap.parse_args()
    old, new = [p50s(r) for r in args.old], [p50s(r) for r in args.new]
    mo, mn = median_of(old), median_of(new)
    scenarios = sorted({k[0] for k in mo})
    print(f"{'scenario':<9} {'new/old':>8} {'old1/old2':>10} {'new1/new2':>10} {'queries':>8}")
    for s in [*scenarios, None]:
        r, n = geomean_ratio(mo, mn, s)
        no = geomean_ratio(old[0], old[1], s)[0] if len(old) > 1 else math.nan
        nn = geomean_ratio(new[0], new[1], s)[0] if len(new) > 1 else math.nan
        print(f"{s or 'all':<9} {r:>7.3f}× {no:>9.3f}× {nn:>9.3f}× {n:>8}")
    per_query = sorted(((mn[k] / mo[k], k) for k in mo if k in mn and mo[k] > 0), reverse=True)
    print("largest new/old:", ", ".join(f"{s} {q} {r:.2f}×" for r, (s, q) in per_query[:3]),
          "· smallest:", ", ".join(f"{s} {q} {r:.2f}×" for r, (s, q) in per_query[-3:]))
    rows: dict[tuple[str, str, int], set[int]] = defaultdict(set)
    for run in [*args.old, *args.new]:
        checked, bad, counts = answers(run)
        print(f"{run.name}: {checked} validations, {bad} mismatched")
        for k, v in counts.items():
            rows[k] |= v
    differ = sorted(k for k, v in rows.items() if len(v) > 1)
    print(f"row counts per (scenario, query, binding): {len(rows)} compared, {len(differ)} differ"
          + (f": {differ[:5]}" if differ else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
