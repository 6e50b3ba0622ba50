"""`btb` command line. Commands are thin: they parse, call the library and print."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from btb.config import ConfigError, get_settings

class _OneLineTyper(typer.Typer):
    """A wrong argument is one line (`error: …`), never a usage box; an unexpected exception is one line
    too (BTB_DEBUG=1 shows the traceback). Exit codes: 2 usage, 1 internal, 130 interrupted."""

    def __call__(self, *args, **kwargs):
        from typer import _click as click

        try:
            rv = typer.main.get_command(self).main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as e:  # click ≥ 8.2: help printed, then this
            click.echo(e.ctx.get_help())
            sys.exit(0)
        except click.ClickException as e:
            cmd = f"btb {e.ctx.command_path.split(' ', 1)[1]} --help" if getattr(e, "ctx", None) and " " in \
                e.ctx.command_path else "btb --help"
            _line(f"{e.format_message()} (see `{cmd}`)")
            sys.exit(e.exit_code)
        except typer.Exit as e:
            sys.exit(getattr(e, "exit_code", 0))
        except (typer.Abort, KeyboardInterrupt):
            _line("interrupted")
            sys.exit(130)
        except ConfigError as e:  # a bad BTB_CONFIG: the user's to fix, one line
            _line(str(e))
            sys.exit(2)
        except Exception as e:  # noqa: BLE001 - one line, not a traceback (BTB_DEBUG=1 for the traceback)
            if os.environ.get("BTB_DEBUG"):
                raise
            _line(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                  "(unexpected; BTB_DEBUG=1 shows the traceback)")
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


app = _OneLineTyper(help="btb: which storage paradigm serves building data best, at what memory budget.",
                    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                    rich_markup_mode=None)
# pipes and CI logs get a wide console (rich would assume 80 columns and squeeze the tables)
console = Console(soft_wrap=True) if sys.stdout.isatty() else Console(soft_wrap=True, width=160)
err = Console(stderr=True, soft_wrap=True, highlight=False)


def _line(msg: str, prefix: str = "error: ") -> None:
    """One literal line on stderr: user text is never read as rich markup (`[/x]` prints as is)."""
    from rich.text import Text

    err.print(Text(prefix, style="bold red") + Text(msg), soft_wrap=True, highlight=False)


def _fail(msg: str, code: int = 2) -> None:
    _line(msg)
    raise typer.Exit(code)


def _fail_problems(e) -> None:
    """A campaign's problems: a head line, then one line each, field path first; exit 2."""
    from rich.text import Text

    problems = getattr(e, "problems", None)
    if not problems:
        _fail(str(e))
    _line(e.head)
    for p in problems:
        err.print(Text("  " + p), soft_wrap=True, highlight=False)
    raise typer.Exit(2)


def _require_broker():
    from btb.infra.stack import redis_up

    s = get_settings()
    if not redis_up(s):
        _fail(f"no broker at {s.redis_host}:{s.redis_port} — start the local stack with `btb up` "
              "(or set BTB_BROKER_URL to a running one)")
    return s


def _version(value: bool) -> None:
    if value:
        from btb import __version__

        console.print(f"btb {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit")) -> None:
    """btb: which storage paradigm serves building data best, at what memory budget."""


@app.command()
def up(workers: bool = typer.Option(True, help="also start this node's workers"),
       flower: bool = typer.Option(True, help="also start Flower")) -> None:
    """Start the local stack: Redis (loopback, password, AOF), this node's workers, Flower (basic auth)."""
    from btb.infra import stack

    s = get_settings()
    try:
        console.print(f"redis     {s.redis_host}:{s.redis_port}  {stack.start_redis(s)}")
        if workers:
            from btb.trials.board import TrialBoard
            from btb.workflow.app import wait_workers

            TrialBoard(s.redis_url).clear_flag(f"drain:{s.node}")  # `btb down` drained it: take trials again
            specs = stack.worker_specs(s.node, aggregator=True)
            stack.start_workers(s, s.node)
            for spec in specs:
                console.print(f"worker    {spec.hostname(s.node)}  queues: {', '.join(spec.queues)}")
            silent = wait_workers(s, [w.hostname(s.node) for w in specs])
            if silent:
                _fail(f"worker(s) {', '.join(silent)} did not answer within 60 s; see {s.state_dir / 'logs'}")
        if flower:
            console.print(f"flower    http://{s.bind}:{s.flower_port}  {stack.start_flower(s)} "
                          f"(user {s.flower_user}, password in {s.secrets_file})")
            if workers:
                hosts = [w.hostname(s.node) for w in stack.worker_specs(s.node, aggregator=True)]
                if not stack.wait_flower(s, hosts):
                    _fail(f"Flower does not list the workers after 60 s; see {s.state_dir / 'logs'}")
        console.print("ready     every worker answers" + (" and Flower lists them" if flower and workers else ""))
    except stack.StackError as e:
        _fail(str(e))
    console.print(f"state     {s.state_dir}   logs: {s.state_dir / 'logs'}")


@app.command()
def down() -> None:
    """Stop the local stack: drain this node (a running trial stops between two runs and is queued again,
    so `btb up` resumes it), workers (warm shutdown), Flower, leftover trial engines, Redis."""
    from btb.infra import stack
    from btb.providers import make_provider
    from btb.trials.board import TrialBoard

    s = get_settings()
    if stack.redis_up(s):
        TrialBoard(s.redis_url).set_flag(f"drain:{s.node}")
    for name in stack.stop_pidfiles(s, "worker-*.pid", timeout_s=120) + stack.stop_pidfiles(s, "flower.pid"):
        console.print(f"stopped   {name}")
    provider = make_provider(s, s.node)
    for tid in provider.trials():
        provider.stop(tid)
        console.print(f"engines   {tid} stopped")
    console.print(f"redis     {stack.stop_redis(s)}")


@app.command()
def worker(node: str = typer.Option(None, help="node name (default: BTB_NODE or the host name)"),
           broker: str = typer.Option(None, help="redis://:PASSWORD@HOST:PORT/0 of the campaign's broker"),
           aggregator: bool = typer.Option(False, envvar="BTB_AGGREGATOR",
                                           help="also run an aggregator worker on this node (one per campaign "
                                                "broker is enough; compose sets it from BTB_AGGREGATOR)")) -> None:
    """Run this node's bench and monitor workers in the foreground (Ctrl-C stops them).

    A second server joins a running campaign by running this against the same broker.
    """
    from btb.infra import stack

    if broker:
        os.environ["BTB_BROKER_URL"] = broker
    if node:
        os.environ["BTB_NODE"] = node
    get_settings.cache_clear()
    s = _require_broker()
    procs = []
    for spec in stack.worker_specs(s.node, aggregator):
        console.print(f"worker {spec.hostname(s.node)}  queues: {', '.join(spec.queues)}")
        procs.append(subprocess.Popen(stack.worker_argv(spec, s.node, s), env=stack.worker_env(s, s.node),
                                      cwd=stack.worker_cwd(s)))

    def _stop(*_):
        for p in procs:
            p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, _stop)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        _stop()
    _stop()
    codes = [p.wait() for p in procs]
    raise typer.Exit(max(codes) if any(codes) else 0)


def _new_campaign_id(name: str) -> str:
    return f"{name}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"


@app.command()
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
            _fail("give a campaign file or --resume ID, not both")
        return _resume(resume, wait, timeout)
    if campaign_file is None:
        _fail("missing argument CAMPAIGN_FILE (or --resume ID)")
    try:
        campaign = load_campaign(campaign_file)
    except CampaignError as e:
        _fail_problems(e)
    from btb.envinfo import environment_fingerprint
    from btb.results.store import Ledger
    from btb.routing import scenario_engine_set
    from btb.trials.board import TrialBoard, engine_sets_for
    from btb.workflow.tasks import enqueue_campaign

    s = _require_broker()
    board = TrialBoard(s.redis_url)
    nodes = board.nodes()
    served = {e for n in nodes.values() for e in n.get("engine_sets", [])}
    for sc in campaign.scenarios:
        if scenario_engine_set(sc) not in served:
            live = ", ".join(f"{n} ({'; '.join(i.get('engine_sets', [])) or 'nothing'})" for n, i in sorted(nodes.items()))
            _fail(f"scenarios: no live worker can run {sc} (needs engines {scenario_engine_set(sc)}); live nodes: "
                  f"{live or 'none'} — start `btb up`, or `btb worker` on a node that has those engines")
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
        _follow(board, ledger, cid, timeout)
    except KeyboardInterrupt:
        left = sum(not _is_final(t.get("status")) for t in board.trials(cid).values())
        _line(f"stopped following; campaign {cid} goes on ({left} trial(s) not finished). "
              f"Follow it: btb status {cid}   stop it: btb cancel {cid}   report: btb report {cid}", prefix="")
        raise typer.Exit(130)
    report(cid, out=None, from_dir=None)
    failed = {tid: t for tid, t in board.trials(cid).items() if t.get("status") in ("error", "invalid")}
    for tid, t in sorted(failed.items()):
        _line(f"trial {tid} ({t['scenario']} @ {t['level']}): {t['status']} {t.get('message', '')}", prefix="")
    if failed:
        raise typer.Exit(1)


def _is_final(status) -> bool:
    from btb.trials.lifecycle import is_final

    return is_final(status)


RESUMABLE = ("cancelled", "error")


def _resume(cid: str, wait: bool, timeout: float) -> None:
    """Re-queue the trials of `cid` that did not end with a result (cancelled, error); the others stay."""
    from btb.campaign import Campaign, plan
    from btb.trials.board import engine_sets_for
    from btb.workflow.tasks import enqueue_campaign

    ledger, board, cid, camp = _ledger_campaign(cid)
    trials = board.trials(cid)
    active = [tid for tid, t in trials.items() if not _is_final(t.get("status"))]
    if active:
        _fail(f"campaign {cid} still has {len(active)} trial(s) queued or running; wait, or `btb cancel {cid}` first")
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
        board.drop_records(t["id"])  # the stopped attempt's partial runs never mix with the re-run's
    ledger.set_campaign_status(cid, "submitted")
    enqueue_campaign(board, campaign, missing, engine_sets_for(missing))
    console.print(f"campaign {cid}: resumed {len(missing)} trial(s) "
                  f"({', '.join(t['id'].rsplit('.', 1)[1] for t in missing)}); {kept} kept", markup=False)
    print(cid)
    if wait:
        _wait_and_report(board, ledger, cid, timeout)


def _follow(board, ledger, cid: str, timeout: float) -> None:
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
                    active.append(f"{t['scenario']}@{t['level']} {pr['phase']} {_fmt_s(pr['elapsed'])}"
                                  + (f" ETA {_fmt_s(pr['eta'])}" if pr["eta"] else ""))
            prog.update(bar, completed=done, detail=" | ".join(active)[:110])
            if done == len(trials):
                break
            if time.monotonic() > t_end:
                _fail(f"campaign {cid} still running after {timeout:.0f}s; check `btb status {cid}`", 3)
            time.sleep(0.5)
    # the aggregator runs after each trial; wait until it has seen the last one
    for _ in range(100):
        summ = ledger.summary(cid)
        if summ and summ.get("status") == "done":
            break
        time.sleep(0.2)


def _ledger_campaign(campaign_id: str | None):
    """(ledger, board, id, campaign) for an id or, without one, the latest campaign; a clear error otherwise."""
    from btb.results.store import Ledger
    from btb.trials.board import TrialBoard

    url = _require_broker().redis_url
    ledger = Ledger(url)
    cid = campaign_id or ledger.latest_campaign()
    camp = ledger.campaign(cid) if cid else None
    if not camp:
        _fail(f"no campaign {cid!r} in the ledger" if cid else "no campaigns submitted yet")
    return ledger, TrialBoard(url), cid, camp


def _fmt_s(x: float | None) -> str:
    if x is None:
        return "—"
    x = int(x)
    return f"{x // 3600}h{x % 3600 // 60:02d}m" if x >= 3600 else f"{x // 60}m{x % 60:02d}s"


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
    if st == "measuring":
        q = queries[min(done_b, len(queries) - 1)]
        in_q = max(0, n_records - 2 - checks - done_b * (runs_per_q + 1))
        phase = f"{q} run {min(in_q + 1, runs_per_q)} of {runs_per_q} (query {done_b + 1}/{len(queries)})"
    elif st == "validating":
        phase = f"answer gate {max(0, n_records - 2)}/{checks}"
    start = tr.get("claimed_at")
    end = tr.get("finished") if _is_final(st) else now
    elapsed = (end - float(start)) if start and end else None
    frac = min(1.0, n_records / total) if total else 0.0
    eta = elapsed / frac - elapsed if (elapsed and frac > 0.05 and not _is_final(st) and st != "queued") else None
    return {"phase": phase, "elapsed": elapsed, "fraction": frac, "eta": eta}


@app.command()
def status(campaign_id: Optional[str] = typer.Argument(None, help="campaign id (default: the latest)")) -> None:
    """Progress of a campaign: per trial its phase (ingest / answer gate / Qn run k of N / finish), node,
    elapsed time and ETA; then the campaign's ETA from the trials that finished."""
    from btb.trials.board import records_key

    ledger, board, cid, camp = _ledger_campaign(campaign_id)
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
        if _is_final(tr.get("status")) and pr["elapsed"] and tr.get("status") not in ("cancelled", "skipped"):
            durations.append(pr["elapsed"])
        if tr.get("status") == "queued":
            waiting += 1
        from rich.text import Text

        t.add_row(*[Text(str(x)) for x in (
            tid.rsplit(".", 1)[-1], tr.get("dataset", ""), tr.get("scenario", ""), tr.get("level", ""),
            tr.get("status", ""), pr["phase"] if not _is_final(tr.get("status")) else "",
            tr.get("node", ""), tr.get("attempt", 0), _fmt_s(pr["elapsed"]), _fmt_s(pr["eta"]),
            str(tr.get("message", ""))[:80])])
    console.print(t)
    done = sum(_is_final(tr.get("status")) for tr in trials.values())
    running = len(trials) - done - waiting
    line = f"{done}/{len(trials)} trials finished, {running} running, {waiting} queued"
    if durations and done < len(trials):
        nodes = max(1, len(board.nodes()))
        mean = sum(durations) / len(durations)
        line += f"; ETA ≈ {_fmt_s(mean * (waiting + running * 0.5) / nodes)} (mean trial {_fmt_s(mean)}, {nodes} node(s))"
    console.print(line, markup=False)


@app.command(name="list")
def list_(limit: int = typer.Option(20, min=1, max=10000, help="how many campaigns, newest first")) -> None:
    """Campaigns in the ledger, newest first: id, submitted, status, trials by state."""
    from collections import Counter

    from rich.text import Text

    from btb.results.store import Ledger
    from btb.trials.board import TrialBoard

    url = _require_broker().redis_url
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
        active = sum(v for k, v in states.items() if not _is_final(k))
        st = "cancelling" if board.flag(f"cancel:{cid}") and active else (
            "running" if active else ("cancelled" if board.flag(f"cancel:{cid}") else "done"))
        t.add_row(*[Text(str(x)) for x in (
            cid, datetime.fromtimestamp(c.get("created", 0), timezone.utc).strftime("%Y-%m-%d %H:%M"), st,
            c.get("n_trials", ""), ", ".join(f"{k} {v}" for k, v in sorted(states.items())))])
    console.print(t)


@app.command()
def cancel(campaign_id: str = typer.Argument(..., help="campaign id (see `btb list`)"),
           wait: bool = typer.Option(True, help="wait until running trials stopped (engines stopped, trial closed)"),
           timeout: float = typer.Option(300, min=1, help="with --wait: give up after this many seconds")) -> None:
    """Cancel a campaign: queued trials end `cancelled` at once; a running trial stops between two runs,
    its engines are stopped and it ends `cancelled` (its runs so far stay, marked as a cancelled trial).
    `btb submit --resume ID` re-runs what did not finish."""
    ledger, board, cid, camp = _ledger_campaign(campaign_id)
    board.set_flag(f"cancel:{cid}")
    n = board.cancel_pending(cid)
    running = [tid for tid, t in board.trials(cid).items() if not _is_final(t.get("status"))]
    console.print(f"campaign {cid}: {n} queued trial(s) cancelled, {len(running)} running trial(s) stopping",
                  markup=False)
    if wait and running:
        deadline = time.monotonic() + timeout
        while running and time.monotonic() < deadline:
            time.sleep(0.5)
            # ended, and its node let go of it (engines stopped, lease released)
            held = set(board.running())
            running = [tid for tid, t in board.trials(cid).items() if not _is_final(t.get("status")) or tid in held]
        if running:
            _fail(f"{len(running)} trial(s) still running after {timeout:.0f} s: {', '.join(running)} "
                  f"(`btb status {cid}`)", 3)
    from btb.results.aggregate import aggregate_campaign

    aggregate_campaign(ledger, board, cid)
    states = {}
    for t in board.trials(cid).values():
        states[t.get("status")] = states.get(t.get("status"), 0) + 1
    console.print(f"campaign {cid}: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
                  + f" — re-run the rest with `btb submit --resume {cid}`", markup=False)


@app.command()
def report(campaign_id: Optional[str] = typer.Argument(None, help="campaign id (default: the latest)"),
           out: Optional[Path] = typer.Option(None, help="output dir (default: <output_dir>/<campaign id>)"),
           from_dir: Optional[Path] = typer.Option(None, "--from", help="rebuild from a results directory written "
                                                   "before (no Redis needed)")) -> None:
    """Write a campaign's results: report.html (plots, tables, self-checks), records/samples Parquet, CSVs."""
    from btb.results.checks import run_checks
    from btb.results.files import Bundle, BundleError, load_bundle, write_bundle
    from btb.results.html import write_html
    from btb.results.report import print_checks, print_summary

    if from_dir is not None:
        if campaign_id:
            _fail("give a campaign id or --from DIR, not both")
        try:
            bundle = load_bundle(from_dir)
        except BundleError as e:
            _fail(str(e))
        out_dir = out or from_dir
        paths = write_bundle(out_dir, bundle) if out else []
    else:
        from btb.campaign_load import output_dir_problem
        from btb.results.aggregate import aggregate_campaign, load_campaign_data

        ledger, board, cid, camp = _ledger_campaign(campaign_id)
        summary = aggregate_campaign(ledger, board, cid)
        data = load_campaign_data(ledger, board, cid)
        bundle = Bundle(camp, data.trials, data.records, data.samples, summary)
        if out is None:
            od = camp["spec"].get("output_dir", "results")
            why = output_dir_problem(od)
            if why:
                _fail(f"output_dir of campaign {cid}: {why}; give --out DIR")
            out = Path(od) / cid
        out_dir = out
        if out_dir.exists() and not out_dir.is_dir():
            _fail(f"--out: {out_dir} exists and is not a directory")
        paths = write_bundle(out_dir, bundle)
    checks = run_checks(bundle)
    paths.append(write_html(out_dir / "report.html", bundle, checks))
    print_checks(checks, console)
    print_summary(bundle.summary, console)
    if bundle.summary.get("status") != "done":
        console.print("campaign still running: this report is partial", style="yellow", markup=False)
    for p in paths:
        console.print(f"wrote {p}", markup=False, highlight=False)


def _bundle_of(ref: str):
    """A results directory (no Redis needed) or a campaign id in the ledger → Bundle."""
    from btb.results.files import Bundle, BundleError, load_bundle

    p = Path(ref)
    if p.exists():
        try:
            return load_bundle(p)
        except BundleError as e:
            _fail(str(e))
    from btb.results.aggregate import aggregate_campaign, load_campaign_data

    ledger, board, cid, camp = _ledger_campaign(ref)
    data = load_campaign_data(ledger, board, cid)
    return Bundle(camp, data.trials, data.records, data.samples, aggregate_campaign(ledger, board, cid))


@app.command()
def compare(a: str = typer.Argument(..., help="campaign A: a results directory or a campaign id"),
            b: str = typer.Argument(..., help="campaign B: a results directory or a campaign id"),
            csv_out: Optional[Path] = typer.Option(None, "--csv", help="also write the comparison as CSV"),
            only_changed: bool = typer.Option(False, help="show only rows whose verdict is faster or slower")) -> None:
    """Two campaigns side by side: p50 of each per (dataset, scenario, level, query), ratio B/A, and a verdict
    that calls a change only when the medians' 95% confidence intervals do not overlap."""
    import csv

    from rich.text import Text

    from btb.results.compare import compare as cmp_rows, geomean_ratio

    ba, bb = _bundle_of(a), _bundle_of(b)
    rows = cmp_rows(ba, bb)
    t = Table(title=f"A = {ba.cid}   B = {bb.cid}")
    for col in ("dataset", "scenario", "level", "query", "A p50 ms", "B p50 ms", "B/A", "verdict"):
        t.add_column(col, justify="right" if "ms" in col or col == "B/A" else "left")
    for r in rows:
        if only_changed and r["verdict"] not in ("faster", "slower"):
            continue
        style = {"faster": "green", "slower": "red"}.get(r["verdict"])
        f = (lambda v: "—" if v is None else f"{v:.3g}")
        t.add_row(*[Text(str(x)) for x in (r["dataset"], r["scenario"], r["level"], r["query"], f(r["a_p50_ms"]),
                                            f(r["b_p50_ms"]), f(r["ratio_b_over_a"]), r["verdict"])], style=style)
    console.print(t)
    g = geomean_ratio(rows)
    n = {v: sum(r["verdict"] == v for r in rows) for v in ("faster", "slower")}
    console.print(f"{len(rows)} row(s): B faster in {n['faster']}, slower in {n['slower']}"
                  + (f"; geometric mean of B/A {g:.3f}" if g else ""), markup=False)
    if csv_out:
        with csv_out.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["dataset"])
            w.writeheader()
            w.writerows(rows)
        console.print(f"wrote {csv_out}", markup=False, highlight=False)


def _mount_subcommands() -> None:
    """Command groups whose code lives with their library (dataset, validation, doctor)."""
    from btb.cli.dataset import app as dataset_app
    from btb.cli.doctor import doctor_cmd
    from btb.cli.images import app as images_app
    from btb.cli.validate import validate_cmd

    app.add_typer(dataset_app, name="dataset", help="Generate and inspect datasets.")
    app.add_typer(images_app, name="images", help="Engine images for the Docker provider: build locally, list.")
    app.command(name="validate")(validate_cmd)
    app.command(name="doctor")(doctor_cmd)


_mount_subcommands()


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
