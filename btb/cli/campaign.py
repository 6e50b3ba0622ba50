"""`btb submit` (and `--resume`), `btb cancel`: put a campaign's trials on the board, take them off again."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer

from btb.cli.common import console, err, fail, fail_problems, ledger_campaign, line, require_broker
from btb.cli.progress import follow
from btb.cli.report import report
from btb.config import get_settings
from btb.trials.lifecycle import is_final

RESUMABLE = ("cancelled", "error")  # trial states `--resume` re-runs (the others have a result)


def _new_campaign_id(name: str) -> str:
    return f"{name}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"


def submit(campaign_file: Optional[Path] = typer.Argument(None, help="campaign YAML (see campaigns/example.yaml)"),
           wait: bool = typer.Option(False, "--wait", help="follow progress, then write and print the report"),
           timeout: float = typer.Option(6 * 3600, min=1, help="with --wait: give up after this many seconds"),
           resume: Optional[str] = typer.Option(None, "--resume", metavar="ID",
                                                help="re-run only the trials of campaign ID that did not end "
                                                     "(cancelled, error, lost)")) -> None:
    """Validate a campaign, plan its trials and enqueue them; prints the campaign id."""
    from btb.campaign import CampaignError, plan
    from btb.campaign_load import load_campaign

    if resume is not None:
        if campaign_file is not None:
            fail("give a campaign file or --resume ID, not both")
        return _resume(resume, wait, timeout)
    if campaign_file is None:
        fail("missing argument CAMPAIGN_FILE (or --resume ID)")
    try:
        campaign = load_campaign(campaign_file)
    except CampaignError as e:
        fail_problems(e)
    if campaign.workload.unavailable():
        fail(campaign.workload.unavailable())
    from btb.envinfo import environment_fingerprint
    from btb.results.store import Ledger
    from btb.routing import scenario_engine_set
    from btb.trials.board import TrialBoard, engine_sets_for
    from btb.workflow.tasks import enqueue_campaign

    s = require_broker()
    board = TrialBoard(s.redis_url)
    nodes = board.nodes()
    served = {e for n in nodes.values() for e in n.get("engine_sets", [])}
    for sc in campaign.scenarios:
        if scenario_engine_set(sc) not in served:
            live = ", ".join(f"{n} ({'; '.join(i.get('engine_sets', [])) or 'nothing'})" for n, i in sorted(nodes.items()))
            fail(f"scenarios: no live worker can run {sc} (needs engines {scenario_engine_set(sc)}); live nodes: "
                 f"{live or 'none'} — start `btb up`, or `btb worker` on a node that has those engines")
    _refuse_if_no_room(campaign, nodes, s)
    cid = _new_campaign_id(campaign.name)
    trials = [t.to_dict() for t in plan(campaign, cid)]
    _hint_resume(board, campaign.digest())
    ledger = Ledger(s.redis_url)
    from btb.campaign_load import read_text

    ledger.create_campaign(cid, campaign.model_dump(mode="json", by_alias=True), len(trials),
                           {"file": str(campaign_file), "digest": campaign.digest(), "text": read_text(campaign_file),
                            "coordinator": environment_fingerprint({})})
    enqueue_campaign(board, campaign, trials, engine_sets_for(trials))
    console.print(f"campaign {cid}: {len(trials)} trial(s) enqueued")
    print(cid)
    if wait:
        _wait_and_report(board, ledger, cid, timeout)


def _refuse_if_no_room(campaign, nodes: dict, settings) -> None:
    """Refuse, before anything is enqueued (so before any dataset is generated), a campaign that a live node
    cannot hold on its disk, as the node reported its datasets and engines dirs (`btb plan` prints the plan)."""
    from btb.planning import make_plan, refusals
    from btb.planning.disk import DirSpace

    reported = {n: [DirSpace.from_dict(d) for d in i["disk"]] for n, i in nodes.items() if i.get("disk")}
    if not reported:
        return
    try:
        p = make_plan(campaign, settings.datasets_dir, settings.redis_url)
    except ValueError as e:  # cannot be sized (e.g. a Brick model not imported yet): said, not refused
        err.print(f"note: disk not checked: {e}", markup=False, style="yellow")  # stdout begins with the id
        return
    refused = refusals(p, reported)
    for text in refused:
        line(text, prefix="refused: ")
    if refused:
        raise typer.Exit(1)


def _hint_resume(board, digest: str) -> None:
    """The same campaign file was submitted before and some of its trials did not finish: say how to run
    only those (a new submission measures everything again, under a new id)."""
    from btb.results.store import Ledger

    ledger = Ledger(get_settings().redis_url)
    for cid in ledger.campaigns(50):
        c = ledger.campaign(cid) or {}
        if c.get("meta", {}).get("digest") != digest:
            continue
        missing = [t for t in board.trials(cid).values() if t.get("status") in RESUMABLE]
        if missing:
            console.print(f"note: campaign {cid} ran this same file and {len(missing)} of its trial(s) did not "
                          f"finish; `btb submit --resume {cid}` runs only those", markup=False, style="yellow")
        return


def _wait_and_report(board, ledger, cid: str, timeout: float) -> None:
    try:
        follow(board, ledger, cid, timeout)
    except KeyboardInterrupt:
        left = sum(not is_final(t.get("status")) for t in board.trials(cid).values())
        line(f"stopped following; campaign {cid} goes on ({left} trial(s) not finished). "
             f"Follow it: btb status {cid}   stop it: btb cancel {cid}   report: btb report {cid}", prefix="")
        raise typer.Exit(130)
    report(cid, out=None, from_dir=None)
    failed = {tid: t for tid, t in board.trials(cid).items() if t.get("status") in ("error", "invalid")}
    for tid, t in sorted(failed.items()):
        line(f"trial {tid} ({t['scenario']} @ {t['level']}): {t['status']} {t.get('message', '')}", prefix="")
    if failed:
        raise typer.Exit(1)


def _resume(cid: str, wait: bool, timeout: float) -> None:
    """Re-queue the trials of `cid` that did not end with a result (cancelled, error); the others stay."""
    from btb.campaign import Campaign, plan
    from btb.trials.board import engine_sets_for
    from btb.workflow.tasks import enqueue_campaign

    ledger, board, cid, camp = ledger_campaign(cid)
    trials = board.trials(cid)
    active = [tid for tid, t in trials.items() if not is_final(t.get("status"))]
    if active:
        fail(f"campaign {cid} still has {len(active)} trial(s) queued or running; wait, or `btb cancel {cid}` first")
    campaign = Campaign.model_validate(camp["spec"])
    planned = {t.id: t.to_dict() for t in plan(campaign, cid)}
    missing = [planned[tid] for tid in sorted(planned)
               if tid not in trials or trials[tid].get("status") in RESUMABLE]
    kept = len(planned) - len(missing)
    if not missing:
        console.print(f"campaign {cid}: nothing to resume, every one of {len(planned)} trial(s) has a result",
                      markup=False)
        print(cid)
        return
    board.clear_flag(f"cancel:{cid}")
    for t in missing:
        board.drop_records(t["id"])  # (nobody holds an ended trial) its partial runs never mix with the re-run's
    ledger.set_campaign_status(cid, "submitted")
    enqueue_campaign(board, campaign, missing, engine_sets_for(missing))
    console.print(f"campaign {cid}: resumed {len(missing)} trial(s) "
                  f"({', '.join(t['id'].rsplit('.', 1)[1] for t in missing)}); {kept} kept", markup=False)
    print(cid)
    if wait:
        _wait_and_report(board, ledger, cid, timeout)


def cancel(campaign_id: str = typer.Argument(..., help="campaign id (see `btb list`)"),
           wait: bool = typer.Option(True, help="wait until running trials stopped (engines stopped, trial closed)"),
           timeout: float = typer.Option(300, min=1, help="with --wait: give up after this many seconds")) -> None:
    """Cancel a campaign: queued trials end `cancelled` at once; a running trial stops between two runs,
    its engines are stopped and it ends `cancelled` (its runs so far stay, marked as a cancelled trial).
    `btb submit --resume ID` re-runs what did not finish."""
    ledger, board, cid, camp = ledger_campaign(campaign_id)
    board.set_flag(f"cancel:{cid}")
    n = board.cancel_pending(cid)
    running = [tid for tid, t in board.trials(cid).items() if not is_final(t.get("status"))]
    console.print(f"campaign {cid}: {n} queued trial(s) cancelled, {len(running)} running trial(s) stopping",
                  markup=False)
    if wait and running:
        deadline = time.monotonic() + timeout
        while running and time.monotonic() < deadline:
            time.sleep(0.5)
            # ended, and its node let go of it (engines stopped, lease released)
            held = set(board.running())
            running = [tid for tid, t in board.trials(cid).items() if not is_final(t.get("status")) or tid in held]
        if running:
            fail(f"{len(running)} trial(s) still running after {timeout:.0f} s: {', '.join(running)} "
                 f"(`btb status {cid}`)", 3)
    from btb.results.aggregate import aggregate_campaign

    aggregate_campaign(ledger, board, cid)
    states = {}
    for t in board.trials(cid).values():
        states[t.get("status")] = states.get(t.get("status"), 0) + 1
    console.print(f"campaign {cid}: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
                  + f" — re-run the rest with `btb submit --resume {cid}`", markup=False)
