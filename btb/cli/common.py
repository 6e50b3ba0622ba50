"""What every `btb` command shares: the consoles, one-line errors with their exit codes, and finding the
broker and a campaign in its ledger. Imported by btb.cli.main and each command module, never the reverse."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from btb.config import get_settings

# pipes and CI logs get a wide console (rich would assume 80 columns and squeeze the tables)
console = Console(soft_wrap=True) if sys.stdout.isatty() else Console(soft_wrap=True, width=160)
err = Console(stderr=True, soft_wrap=True, highlight=False)


def line(msg: str, prefix: str = "error: ") -> None:
    """One literal line on stderr: user text is never read as rich markup (`[/x]` prints as is)."""
    from rich.text import Text

    err.print(Text(prefix, style="bold red") + Text(msg), soft_wrap=True, highlight=False)


def fail(msg: str, code: int = 2) -> None:
    line(msg)
    raise typer.Exit(code)


def fail_problems(e) -> None:
    """A campaign's problems: a head line, then one line each, field path first; exit 2."""
    from rich.text import Text

    problems = getattr(e, "problems", None)
    if not problems:
        fail(str(e))
    line(e.head)
    for p in problems:
        err.print(Text("  " + p), soft_wrap=True, highlight=False)
    raise typer.Exit(2)


def require_broker():
    from btb.infra.stack import redis_up

    s = get_settings()
    if not redis_up(s):
        fail(f"no broker at {s.redis_host}:{s.redis_port} — start the local stack with `btb up` "
             "(or set BTB_BROKER_URL to a running one)")
    return s


def ledger_campaign(campaign_id: str | None):
    """(ledger, board, id, campaign) for an id or, without one, the latest campaign; a clear error otherwise."""
    from btb.results.store import Ledger
    from btb.trials.board import TrialBoard

    url = require_broker().redis_url
    ledger = Ledger(url)
    cid = campaign_id or ledger.latest_campaign()
    camp = ledger.campaign(cid) if cid else None
    if not camp:
        fail(f"no campaign {cid!r} in the ledger" if cid else "no campaigns submitted yet")
    return ledger, TrialBoard(url), cid, camp


def fmt_s(x: float | None) -> str:
    if x is None:
        return "—"
    x = int(x)
    return f"{x // 3600}h{x % 3600 // 60:02d}m" if x >= 3600 else f"{x // 60}m{x % 60:02d}s"
