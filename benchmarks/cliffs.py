"""Per scenario and query of a campaign's summary.csv: p50 at each budget (ascending), the hot set (the cold run's
IO read bytes, else the store), budget ÷ hot set, and the cliffs: the budget step where p50 rises ≥ 5× going down
from its upper neighbour,
both levels ok (a level where the query failed is shown by its status, not counted as a cliff).

    python benchmarks/cliffs.py results/<campaign id>/summary.csv [--factor 5]
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict


def mib(b: float | None) -> str:
    return "—" if b is None else f"{b / 2**20:,.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("summary", help="a campaign's summary.csv")
    ap.add_argument("--factor", type=float, default=5.0)
    a = ap.parse_args()
    by = defaultdict(list)
    for r in csv.DictReader(open(a.summary)):
        if r["budget_bytes"] and r["status"] not in ("measuring", "queued", "running", ""):
            by[(r["scenario"], r["query"])].append(r)
    for (sid, qid), rows in sorted(by.items()):
        rows.sort(key=lambda r: float(r["budget_bytes"]))
        cells, cliffs = [], []
        for lo, hi in zip(rows, rows[1:]):
            p_lo, p_hi = (float(x["p50_ms"]) if x["p50_ms"] and x["status"] == "ok" else None for x in (lo, hi))
            if p_hi is not None and p_lo is not None and p_lo >= a.factor * p_hi:
                cliffs.append(f"{lo['level']}→{hi['level']} ({p_lo / p_hi:.1f}×)")
        for r in rows:
            hot = float(r["hot_set_bytes"]) if r["hot_set_bytes"] else None
            b = float(r["budget_bytes"])
            p50 = f"{float(r['p50_ms']):.0f}" if r["p50_ms"] and r["status"] == "ok" else r["status"]
            cells.append(f"{r['level']}({mib(b)} MiB, ÷hot {b / hot:.1f}): {p50}" if hot else
                         f"{r['level']}({mib(b)} MiB): {p50}")
        hot = [float(r["hot_set_bytes"]) for r in rows if r["hot_set_bytes"]]
        print(f"{sid} {qid} hot set {mib(max(hot) if hot else None)} MiB | " + " | ".join(cells)
              + (f" | CLIFF {'; '.join(cliffs)}" if cliffs else ""))


if __name__ == "__main__":
    main()
