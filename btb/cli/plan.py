"""`btb plan CAMPAIGN`: the trials, the disk each node needs and the expected wall time, before anything runs
(library: btb.planning). Exit 1, one line per node and dir, when a node cannot hold the campaign."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from btb.cli.common import console, fail, fail_problems, line


def plan_cmd(campaign_file: Path = typer.Argument(..., help="campaign YAML"),
             rates: Optional[Path] = typer.Option(None, help="measured figures (default: btb/conf/plan_rates.json)"),
             ) -> None:
    """Plan a campaign without running it: trials, disk per node and dir, expected wall time; refuse it when a
    node's free disk cannot hold it."""
    from btb.campaign import CampaignError
    from btb.campaign_load import load_campaign
    from btb.config import get_settings
    from btb.planning import make_plan, refusals
    from btb.planning.disk import node_dirs
    from btb.planning.report import render

    try:
        campaign = load_campaign(campaign_file)
    except CampaignError as e:
        fail_problems(e)
    s = get_settings()
    url = _broker(s)
    try:
        p = make_plan(campaign, s.datasets_dir, url, rates)
    except ValueError as e:
        fail(str(e))
    dirs = node_dirs(s)
    console.print(f"plan of campaign {campaign.name} ({campaign_file})", markup=False, highlight=False)
    for text in render(p, s.node, dirs):
        console.print(text, markup=False, highlight=False, soft_wrap=True)
    nodes = {s.node: dirs} | (reported_nodes(url) if url else {})
    refused = refusals(p, nodes)
    for text in refused:
        line(text, prefix="refused: ")
    if refused:
        raise typer.Exit(1)


def _broker(s) -> str | None:  # noqa: ANN001 - btb Settings
    from btb.infra.stack import redis_up

    return s.redis_url if redis_up(s) else None


def reported_nodes(redis_url: str) -> dict:
    """Live workers' datasets and engines dirs with their free space, as each registered them."""
    from btb.planning.disk import DirSpace
    from btb.trials.board import TrialBoard

    out = {}
    for node, info in TrialBoard(redis_url).nodes().items():
        if info.get("disk"):
            out[node] = [DirSpace.from_dict(d) for d in info["disk"]]
    return out
