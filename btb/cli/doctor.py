"""`btb doctor` command (mounted by btb.cli.main): a thin printer over btb.doctor.run_checks."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from btb.doctor import run_checks

STYLE = {"ok": "green", "degraded": "yellow", "missing": "red"}


def doctor_cmd(
    broker: str = typer.Option("", "--broker", help="redis:// URL of the Celery broker to ping (optional)"),
) -> None:
    """Check what btb can measure and limit here, and what will be degraded and why."""
    checks = run_checks(broker or None)
    table = Table(title="btb doctor")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    table.add_column("degraded because / impact", overflow="fold")
    for c in checks:
        table.add_row(c.name, f"[{STYLE[c.status]}]{c.status}[/]", c.detail, c.impact)
    Console().print(table)
