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

from btb.config import get_settings

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

            TrialBoard(s.redis_url).clear_flag(f"drain:{s.node}")  # `btb down` drained it: take trials again
            specs = stack.worker_specs(s.node, aggregator=True)
            stack.start_workers(s, s.node)
            for spec in specs:
                console.print(f"worker    {spec.hostname(s.node)}  queues: {', '.join(spec.queues)}")
            silent = stack.wait_workers(s, [w.hostname(s.node) for w in specs])
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
           aggregator: bool = typer.Option(False, help="also run an aggregator worker on this node")) -> None:
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
def submit(campaign_file: Path = typer.Argument(..., help="campaign YAML (see campaigns/example.yaml)"),
           wait: bool = typer.Option(False, "--wait", help="follow progress, then write and print the report"),
           timeout: float = typer.Option(6 * 3600, help="with --wait: give up after this many seconds")) -> None:
    """Validate a campaign, plan its trials and enqueue them; prints the campaign id."""
    from btb.campaign import CampaignError, load_campaign, plan

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
    ledger = Ledger(s.redis_url)
    ledger.create_campaign(cid, campaign.model_dump(mode="json", by_alias=True), len(trials),
                           {"file": str(campaign_file), "digest": campaign.digest(),
                            "coordinator": environment_fingerprint({})})
    enqueue_campaign(board, campaign, trials, engine_sets_for(trials))
    console.print(f"campaign {cid}: {len(trials)} trial(s) enqueued")
    print(cid)
    if wait:
        _follow(board, ledger, cid, timeout)
        report(cid, out=None)
        failed = {tid: t for tid, t in board.trials(cid).items() if t.get("status") in ("error", "invalid")}
        for tid, t in sorted(failed.items()):
            err.print(f"trial {tid} ({t['scenario']} @ {t['level']}): {t['status']} {t.get('message', '')}",
                      soft_wrap=True, highlight=False)
        if failed:
            raise typer.Exit(1)


def _follow(board, ledger, cid: str, timeout: float) -> None:
    from btb.trials.lifecycle import FINAL_VALUES as FINAL_TRIAL_STATES

    t_end = time.monotonic() + timeout
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), console=console) as prog:
        trials = board.trials(cid)
        bar = prog.add_task(cid, total=len(trials), detail="")
        while True:
            trials = board.trials(cid)
            done = sum(t.get("status") in FINAL_TRIAL_STATES for t in trials.values())
            active = [f"{t['scenario']}@{t['level']}:{t.get('status')}" for t in trials.values()
                      if t.get("status") not in FINAL_TRIAL_STATES and t.get("status") != "queued"]
            prog.update(bar, completed=done, detail=" ".join(active)[:60])
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


@app.command()
def status(campaign_id: Optional[str] = typer.Argument(None, help="campaign id (default: the latest)")) -> None:
    """Progress of a campaign: trials, their state, node and measured runs."""
    from btb.trials.lifecycle import FINAL_VALUES as FINAL_TRIAL_STATES

    ledger, board, cid, camp = _ledger_campaign(campaign_id)
    trials = board.trials(cid)
    n_queries = len(camp["spec"].get("queries") or []) or 13
    t = Table(title=f"campaign {cid}")
    for col in ("trial", "dataset", "scenario", "level", "status", "node", "attempt", "batches", "message"):
        t.add_column(col)
    for tid, tr in sorted(trials.items()):
        t.add_row(tid, tr["dataset"], tr["scenario"], tr["level"], tr.get("status", ""), tr.get("node", ""),
                  str(tr.get("attempt", 0)), f"{tr.get('batches_done', 0)}/{n_queries}",
                  str(tr.get("message", ""))[:80], style=None)
    console.print(t)
    done = sum(tr.get("status") in FINAL_TRIAL_STATES for tr in trials.values())
    console.print(f"{done}/{len(trials)} trials finished")


@app.command()
def report(campaign_id: Optional[str] = typer.Argument(None, help="campaign id (default: the latest)"),
           out: Optional[Path] = typer.Option(None, help="output dir (default: <output_dir>/<campaign id>)")) -> None:
    """Aggregate a campaign's records and write summary.json, summary.csv and the raw records."""
    from btb.results.aggregate import aggregate_campaign, load_campaign_data
    from btb.results.report import print_summary, write_report

    ledger, board, cid, camp = _ledger_campaign(campaign_id)
    summary = aggregate_campaign(ledger, board, cid)
    data = load_campaign_data(ledger, board, cid)  # raw records and samples for the files
    out_dir = out or Path(camp["spec"].get("output_dir", "results")) / cid
    paths = write_report(out_dir, summary, data.records, data.samples, camp)
    print_summary(summary, console)
    if summary["status"] != "done":
        console.print("[yellow]campaign still running: this report is partial[/]")
    for p in paths:
        console.print(f"wrote {p}")


def _mount_subcommands() -> None:
    """Command groups whose code lives with their library (dataset, validation, doctor)."""
    from btb.cli.dataset import app as dataset_app
    from btb.cli.doctor import doctor_cmd
    from btb.cli.validate import validate_cmd

    app.add_typer(dataset_app, name="dataset", help="Generate and inspect datasets.")
    app.command(name="validate")(validate_cmd)
    app.command(name="doctor")(doctor_cmd)


_mount_subcommands()


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
