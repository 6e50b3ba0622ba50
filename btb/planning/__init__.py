"""`btb plan`: a campaign's trials, the disk each node needs and the expected wall time, before anything runs,
and the refusal of a campaign whose node cannot hold it (`btb plan` and `btb submit`).

size.py sizes a dataset from its profile without generating it; rates.py holds the measured figures
(btb/conf/plan_rates.json, a campaign's earlier ingest records) and how they scale; estimate.py is the plan;
disk.py measures free space and words a refusal; report.py prints a plan.
"""

from __future__ import annotations

from pathlib import Path

from btb.campaign import Campaign
from btb.planning.disk import DirSpace, shortfalls
from btb.planning.estimate import Plan, plan_campaign
from btb.planning.rates import ledger_overrides, load_rates
from btb.planning.size import dataset_shape


def make_plan(campaign: Campaign, datasets_dir: Path, redis_url: str | None = None,
              rates_path: Path | None = None) -> Plan:
    """The campaign's plan on a node whose datasets live in `datasets_dir`; with `redis_url`, the ledger's
    earlier measurements of a campaign of the same name override the defaults. Nothing is written."""
    shapes = {ds.key: dataset_shape(ds, datasets_dir) for ds in campaign.datasets}
    return plan_campaign(campaign, shapes, load_rates(rates_path), ledger_overrides(campaign.name, redis_url))


def needs(plan: Plan) -> dict[str, float]:
    """Bytes the plan puts on each dir role."""
    return {"datasets": plan.datasets_bytes, "engines": plan.engines_bytes}


def refusals(plan: Plan, nodes: dict[str, list[DirSpace]]) -> list[str]:
    """One line per node and filesystem that cannot hold the campaign ([] when every node can)."""
    return [line for node, dirs in sorted(nodes.items()) for line in shortfalls(needs(plan), dirs, node)]
