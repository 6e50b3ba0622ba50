"""`btb status`, `btb list` and `submit --wait`'s progress bar: what each trial of a campaign is doing."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from btb.cli.common import console, fail, fmt_s, ledger_campaign, require_broker
from btb.trials.lifecycle import is_final


def follow(board, ledger, cid: str, timeout: float) -> None:
    from btb.trials.lifecycle import FINAL_VALUES as FINAL_TRIAL_STATES

    from btb.trials.board import records_key

    spec = (ledger.campaign(cid) or {}).get("spec", {})
    t_end = time.monotonic() + timeout
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("{task.fields[detail]}", markup=False), TimeElapsedColumn(), console=console) as prog:
        trials = board.trials(cid)
        bar = prog.add_task(cid, total=len(trials), detail="")
        while True:
            trials = board.trials(cid)
            done = sum(t.get("status") in FINAL_TRIAL_STATES for t in trials.values())
            active = []
            for tid, t in trials.items():
                if t.get("status") not in FINAL_TRIAL_STATES and t.get("status") != "queued":
                    pr = trial_progress(t, spec, board.r.hlen(records_key(tid)), time.time())
                    active.append(f"{t['scenario']}@{t['level']} {pr['phase']} {fmt_s(pr['elapsed'])}"
                                  + (f" ETA {fmt_s(pr['eta'])}" if pr["eta"] else ""))
            prog.update(bar, completed=done, detail=" | ".join(active)[:110])
            if done == len(trials):
                break
            if time.monotonic() > t_end:
                fail(f"campaign {cid} still running after {timeout:.0f}s; check `btb status {cid}`", 3)
            time.sleep(0.5)
    # the aggregator runs after each trial; wait until it has seen the last one
    for _ in range(100):
        summ = ledger.summary(cid)
        if summ and summ.get("status") == "done":
            break
        time.sleep(0.2)


def trial_progress(tr: dict, spec: dict, n_records: int, now: float) -> dict:
    """What a trial is doing, from its state and its record count: phase, elapsed, fraction done, ETA."""
    from btb.engines.base import QUERY_IDS

    p = spec.get("protocol", {})
    queries = spec.get("queries") or QUERY_IDS
    runs_per_q = int(p.get("bindings", 1)) * (int(p.get("warmups", 0)) + int(p.get("runs", 1)))
    checks = len(queries) * int(p.get("bindings", 1)) if p.get("validate", True) else 0
    total = 2 + checks + len(queries) * (runs_per_q + 1)  # dataset + ingest + answer gate + runs and batches
    st = tr.get("status", "")
    done_b = int(tr.get("batches_done", 0) or 0)
    phase = st
    if st == "measuring" and tr.get("load_step"):  # a load workload: the step running (workload, rate or clients)
        phase = f"load: {tr['load_step']}"
    elif st == "measuring":
        q = queries[min(done_b, len(queries) - 1)]
        in_q = max(0, n_records - 2 - checks - done_b * (runs_per_q + 1))
        phase = f"{q} run {min(in_q + 1, runs_per_q)} of {runs_per_q} (query {done_b + 1}/{len(queries)})"
    elif st == "validating":
        phase = f"answer gate {max(0, n_records - 2)}/{checks}"
    start = tr.get("claimed_at")
    end = tr.get("finished") if is_final(st) else now
    elapsed = (end - float(start)) if start and end else None
    frac = min(1.0, n_records / total) if total else 0.0
    eta = elapsed / frac - elapsed if (elapsed and frac > 0.05 and not is_final(st) and st != "queued") else None
    return {"phase": phase, "elapsed": elapsed, "fraction": frac, "eta": eta}


def status(campaign_id: Optional[str] = typer.Argument(None, help="campaign id (default: the latest)")) -> None:
    """Progress of a campaign: per trial its phase (ingest / answer gate / Qn run k of N / finish), node,
    elapsed time and ETA; then the campaign's ETA from the trials that finished."""
    from btb.trials.board import records_key

    ledger, board, cid, camp = ledger_campaign(campaign_id)
    trials = board.trials(cid)
    now = time.time()
    pipe = board.r.pipeline()
    for tid in trials:
        pipe.hlen(records_key(tid))
    counts = dict(zip(trials, pipe.execute()))
    t = Table(title=f"campaign {cid}")
    for col in ("trial", "dataset", "scenario", "level", "status", "phase", "node", "attempt", "elapsed", "ETA",
                "message"):
        t.add_column(col)
    durations, waiting = [], 0
    for tid, tr in sorted(trials.items()):
        pr = trial_progress(tr, camp["spec"], counts.get(tid, 0), now)
        if is_final(tr.get("status")) and pr["elapsed"] and tr.get("status") not in ("cancelled", "skipped"):
            durations.append(pr["elapsed"])
        if tr.get("status") == "queued":
            waiting += 1
        from rich.text import Text

        t.add_row(*[Text(str(x)) for x in (
            tid.rsplit(".", 1)[-1], tr.get("dataset", ""), tr.get("scenario", ""), tr.get("level", ""),
            tr.get("status", ""), pr["phase"] if not is_final(tr.get("status")) else "",
            tr.get("node", ""), tr.get("attempt", 0), fmt_s(pr["elapsed"]), fmt_s(pr["eta"]),
            str(tr.get("message", ""))[:80])])
    console.print(t)
    done = sum(is_final(tr.get("status")) for tr in trials.values())
    running = len(trials) - done - waiting
    line = f"{done}/{len(trials)} trials finished, {running} running, {waiting} queued"
    if durations and done < len(trials):
        nodes = max(1, len(board.nodes()))
        mean = sum(durations) / len(durations)
        line += f"; ETA ≈ {fmt_s(mean * (waiting + running * 0.5) / nodes)} (mean trial {fmt_s(mean)}, {nodes} node(s))"
    console.print(line, markup=False)
    for line in workers_lines(board.r):
        console.print(line, markup=False)


def workers_lines(r) -> list[str]:
    """What each node's worker supervisor says: running, restarted (how often), or given up (why)."""
    import json

    out = []
    for key in sorted(r.scan_iter("btb:workers:*")):
        doc = json.loads(r.get(key) or "{}")
        for role, w in sorted((doc.get("workers") or {}).items()):
            line = f"worker {role}@{doc.get('node')}: {w['state']}"
            if w.get("restarts"):
                line += f", restarted {w['restarts']}×"
            if w.get("last_exit"):
                line += f" (last: {w['last_exit']})"
            if w["state"] == "gave-up":
                line += (f" — died more than {doc.get('max_restarts')}× in {doc.get('window_s', 0) / 60:.0f} min: "
                         "not restarted again; see its log, then `btb up`")
            out.append(line)
    return out


def list_(limit: int = typer.Option(20, min=1, max=10000, help="how many campaigns, newest first")) -> None:
    """Campaigns in the ledger, newest first: id, submitted, status, trials by state."""
    from collections import Counter

    from rich.text import Text

    from btb.results.store import Ledger
    from btb.trials.board import TrialBoard

    url = require_broker().redis_url
    ledger, board = Ledger(url), TrialBoard(url)
    ids = ledger.campaigns(limit)
    if not ids:
        console.print("no campaigns submitted yet", markup=False)
        return
    t = Table(title="campaigns")
    for col in ("campaign", "submitted (UTC)", "status", "trials", "by state"):
        t.add_column(col)
    for cid in ids:
        c = ledger.campaign(cid) or {}
        states = Counter(tr.get("status") for tr in board.trials(cid).values())
        active = sum(v for k, v in states.items() if not is_final(k))
        st = "cancelling" if board.flag(f"cancel:{cid}") and active else (
            "running" if active else ("cancelled" if board.flag(f"cancel:{cid}") else "done"))
        t.add_row(*[Text(str(x)) for x in (
            cid, datetime.fromtimestamp(c.get("created", 0), timezone.utc).strftime("%Y-%m-%d %H:%M"), st,
            c.get("n_trials", ""), ", ".join(f"{k} {v}" for k, v in sorted(states.items())))])
    console.print(t)
