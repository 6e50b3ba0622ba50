"""`btb plan`'s estimate beside what a finished campaign measured: per scenario the store size (ingest.csv)
and the time its load and trials took (trials.json: claim → last update), and the campaign's wall time; with
`--du-log`, the engines dir's peak as sampled during the run (lines `epoch engines_bytes datasets_bytes`).

    python benchmarks/plan_vs_campaign.py results/<campaign id> [--du-log FILE] [--wall-s SECONDS]

The estimate is made as before the run (its dataset not on disk, this machine's defaults, no ledger), with
the trials the campaign really ran (its bisection steps counted, not the worst case).
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from collections import defaultdict
from pathlib import Path

from btb.campaign_load import load_campaign
from btb.planning import make_plan
from btb.planning.report import duration, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--du-log", type=Path)
    ap.add_argument("--wall-s", type=float, help="the campaign's wall time as timed around `btb submit --wait`")
    a = ap.parse_args()
    campaign = load_campaign(a.results / "campaign.yaml")
    with tempfile.TemporaryDirectory() as empty:
        p = make_plan(campaign, Path(empty))
    trials = json.loads((a.results / "trials.json").read_text())
    took, ran = defaultdict(float), defaultdict(int)
    for t in trials.values():
        took[t["scenario"]] += float(t["updated"]) - float(t["claimed_at"])
        ran[t["scenario"]] += 1
    stores = {r["scenario"]: float(r["bytes_on_disk"]) for r in csv.DictReader(open(a.results / "ingest.csv"))
              if r.get("bytes_on_disk")}
    print(f"{'scenario':<8} {'store est.':>11} {'measured':>11} {'ratio':>6}   {'time est.':>11} {'measured':>11} "
          f"{'ratio':>6}  trials")
    est_total = meas_total = 0.0
    for lp in p.loads:
        est = lp.load_s + ran[lp.scenario] * lp.trial_s
        est_total += est
        meas_total += took[lp.scenario]
        st = stores.get(lp.scenario)
        print(f"{lp.scenario:<8} {size(lp.store_bytes):>11} {size(st) if st else '—':>11} "
              f"{lp.store_bytes / st if st else float('nan'):>6.2f}   {duration(est):>11} {duration(took[lp.scenario]):>11} "
              f"{est / took[lp.scenario] if took[lp.scenario] else float('nan'):>6.2f}  {ran[lp.scenario]}")
    est_wall = est_total + sum(d.prepare_s for d in p.datasets)
    print(f"stores: estimated {size(sum(lp.store_bytes for lp in p.loads))}, measured {size(sum(stores.values()))}")
    print(f"trials and loads: estimated {duration(est_total)}, measured {duration(meas_total)} "
          f"(ratio {est_total / meas_total:.2f})")
    if a.wall_s:
        print(f"wall: estimated {duration(est_wall)} (with the {len(trials)} trials run), measured {duration(a.wall_s)} "
              f"(ratio {est_wall / a.wall_s:.2f})")
    if a.du_log:
        rows = [list(map(int, ln.split())) for ln in a.du_log.read_text().splitlines() if len(ln.split()) == 3]
        peak = max(r[1] for r in rows)
        print(f"engines dir peak: estimated {size(p.engines_bytes)}, measured {size(peak)} "
              f"(ratio {p.engines_bytes / peak:.2f}); datasets dir: estimated {size(p.datasets_bytes)}, "
              f"measured {size(max(r[2] for r in rows))}")


if __name__ == "__main__":
    main()
