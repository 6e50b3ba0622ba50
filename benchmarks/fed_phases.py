"""The hybrids' transfer phase in a campaign's results, against the bound issue 30 set for it:
transfer p50 <= max(0.3 ms, 15 % of the query's p50) for every query that federates (F2, M2, O2 series
queries), per level; with the paths the measured runs took and the threshold each load calibrated.

    python benchmarks/fed_phases.py results/<campaign id>     (exit 1 if a query is over the bound)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BOUND_MS, SHARE = 0.3, 0.15


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    root = Path(sys.argv[1])
    summary = json.loads((root / "summary.json").read_text())
    for ing in summary.get("ingest", []):
        fed = (ing.get("details") or {}).get("federation")
        if isinstance(fed, dict):
            print(f"{ing.get('scenario')} load: mode {fed.get('mode')}, thresholds {fed.get('threshold_ids')}")
    rows = [r for r in summary["rows"] if "transfer" in (r.get("phases_p50") or {})]
    print(f"{'scenario':<8} {'level':<10} {'query':<5} {'p50 ms':>8} {'graph':>7} {'transfer':>8} {'sql':>7} "
          f"{'share':>6} {'bound':>6}  paths")
    over = 0
    for r in sorted(rows, key=lambda r: (r["scenario"], r["budget"] or 1 << 62, int(r["query"][1:]))):
        ph = {k: v * 1000 for k, v in r["phases_p50"].items()}
        total = r["p50"] * 1000
        bound = max(BOUND_MS, SHARE * total)
        ok = ph["transfer"] <= bound
        over += not ok
        print(f"{r['scenario']:<8} {r['level']:<10} {r['query']:<5} {total:>8.3f} {ph['graph']:>7.3f} "
              f"{ph['transfer']:>8.4f} {ph['sql']:>7.3f} {ph['transfer'] / total:>6.1%} {bound:>6.2f}  "
              f"{r.get('federation')}: {r.get('federation_paths')}{'' if ok else '  OVER'}")
    print(f"{len(rows)} federated query summaries, {over} over the bound")
    return 1 if over or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
