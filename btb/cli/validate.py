"""`btb validate DATASET`: the answer gate as a command (logic lives in btb.validate)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from btb.dataset.integrity import DatasetError, verify
from btb.engines.base import FEDERATION_PATHS, QUERY_IDS
from btb.monitor.own import OwnMemory
from btb.validate import ValidationReport, validate

STYLE = {"no binding in this model": "cyan", "ok": "green", "mismatch": "bold red", "error": "red", "timeout": "yellow", "unsupported": "magenta"}


def per_sample(bytes_on_disk: int, samples: int) -> str:
    return f" ({bytes_on_disk / samples:.1f} B/sample)" if samples and bytes_on_disk else ""


def render(report: ValidationReport, scenarios: list[str], console: Console) -> None:
    """query × scenario table, then every failure with its binding and diff."""
    summary = report.summary()
    table = Table(title=f"validate {report.profile} seed={report.seed}")
    table.add_column("query")
    for sid in scenarios:
        table.add_column(sid)
    table.add_column("oracle rows (per binding)")
    for qid in QUERY_IDS:
        per = [c.expected_rows for c in report.checks if c.qid == qid and c.scenario == scenarios[0]]
        cells = []
        for sid in scenarios:
            st = summary.get((qid, sid), "-")
            if qid in report.unbound:
                st = "no binding in this model"
            cells.append(f"[{STYLE.get(st, 'white')}]{st}[/]")
        table.add_row(qid, *cells, ",".join(map(str, per)))
    console.print(table)
    console.print(f"oracle answers: {report.oracle_seconds:.2f} s ({report.oracle_source})",
                  markup=False, highlight=False)
    for sid, ing in report.ingests.items():
        gate = report.gate_seconds.get(sid)
        console.print(f"{sid}: ingest {ing.seconds:.2f} s, {sum(ing.rows.values()):,} rows "
                      f"({ing.rows_per_s:,.0f} rows/s), {ing.bytes_on_disk / 2**20:.1f} MiB"
                      f"{per_sample(ing.bytes_on_disk, report.samples)}, backend: {ing.backend}; "
                      f"gate {'-' if gate is None else f'{gate:.2f} s'}; engines: {report.budget_mode.get(sid, '?')}",
                      markup=False, highlight=False, soft_wrap=True)
        fed = ing.details.get("federation")
        if isinstance(fed, dict):
            cal = fed.get("calibration") or {}
            console.print(f"{sid}: federation thresholds calibrated at load (ids): {fed.get('threshold_ids')}"
                          f"; band {cal.get('band')}; {cal.get('status')}", markup=False, highlight=False)
    for p in report.count_problems:
        console.print(f"[red]count mismatch[/] {p}")
    for qid, why in report.unbound.items():
        console.print(f"[cyan]{qid}: {why}[/] (not run; the model holds nothing this query asks about)")
    for qid, i in report.empty_oracle:
        console.print(f"[yellow]empty oracle answer[/] {qid} binding {i}: this binding checks nothing")
    for c in report.failures:
        console.print(f"[red]{c.status}[/] {c.scenario} {c.qid} binding {c.binding} {c.params}\n{c.message}")


def print_import_summary(manifest, console: Console) -> None:
    """An imported Brick model's mapping summary (what was mapped, inferred, dropped), before its answers."""
    if manifest.generator.get("kind") != "brick-import":
        return
    from btb.dataset.brick_import.summary import ImportSummary

    src = manifest.generator.get("source", {})
    console.print(f"imported Brick model {src.get('model')} (series: {src.get('series')}, seed {src.get('seed')})",
                  markup=False, highlight=False)
    for line in ImportSummary.from_dict(manifest.generator.get("summary") or {}).lines():
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def validate_node(settings) -> str:  # noqa: ANN001 - btb Settings
    """The provider node `btb validate` starts its engines under: one per user and state dir, so two users
    (or two state dirs of one user) sharing an engine root never share, nor clean up, each other's engines."""
    import getpass
    import hashlib

    key = hashlib.sha1(str(Path(settings.state_dir).resolve()).encode()).hexdigest()[:8]
    user = "".join(c if c.isalnum() else "_" for c in getpass.getuser())[:32]
    return f"validate-{user}-{key}"


def validate_cmd(
    dataset: Path = typer.Argument(..., exists=True, file_okay=False, help="dataset directory"),
    scenarios: str = typer.Option("P1,P2", help="comma-separated scenario ids"),
    timeout_s: float = typer.Option(60.0, help="per-query statement timeout"),
    allow_empty: bool = typer.Option(False, help="do not fail when the oracle answer of a binding is empty"),
    federation: str = typer.Option("auto", help="hybrids' transfer path: auto (calibrated threshold), any "
                                                "(array parameters) or temp_table (session table + COPY)"),
) -> None:
    """Ingest the dataset into each scenario and compare every query × binding with the oracle."""
    from btb.config import get_settings
    from btb.engines.registry import PLANNED, SCENARIOS
    from btb.infra.provider import EngineUnavailable
    from btb.infra.factory import make_provider

    ids = [s.strip() for s in scenarios.split(",") if s.strip()]
    console = Console()
    if federation not in FEDERATION_PATHS:
        Console(stderr=True).print(f"error: --federation: {federation!r} is not one of {', '.join(FEDERATION_PATHS)}",
                                   markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    unknown = [i for i in ids if i not in SCENARIOS]
    if unknown or not ids:
        planned = [i for i in unknown if i in PLANNED]
        hint = f" ({', '.join(planned)}: planned, not built yet)" if planned else ""
        Console(stderr=True).print(f"error: --scenarios: unknown scenario(s) {', '.join(unknown) or '(none given)'}"
                                   f"{hint}; available: {', '.join(SCENARIOS)}",
                                   markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    try:  # the dataset must be the one its fingerprint describes before anything is compared with it
        manifest = verify(dataset)
    except DatasetError as e:
        Console(stderr=True).print(f"dataset refused: {e}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    print_import_summary(manifest, console)
    try:
        settings = get_settings()
        with OwnMemory() as own:
            report = validate(dataset, ids, provider=make_provider(settings, validate_node(settings)),
                              timeout_s=timeout_s, federation=federation)
    except EngineUnavailable as e:
        Console(stderr=True).print(f"error: {e}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    render(report, ids, console)
    if own.peak_bytes is not None:
        console.print(f"btb's own RSS: peak {own.peak_bytes / 2**20:,.0f} MiB (this process; the engines are not in it)",
                      markup=False, highlight=False)
    console.print(f"hybrids' federation path: {federation}", markup=False, highlight=False)
    failed = not report.ok or (report.empty_oracle and not allow_empty)
    console.print("[red]VALIDATION FAILED[/]" if failed else "[green]all answers match the oracle[/]")
    raise typer.Exit(1 if failed else 0)
