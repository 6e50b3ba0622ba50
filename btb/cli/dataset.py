"""`btb dataset …`: generate a dataset with a progress bar, or describe one. Logic lives in btb.dataset."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from btb.dataset.format import series_files
from btb.dataset.profiles import parse_profile

app = typer.Typer(help="Generate and inspect benchmark datasets.", no_args_is_help=True)
console = Console()


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


@app.command()
def generate(
    profile: str = typer.Argument(..., help="<scale>-<duration>, e.g. small-1w"),
    seed: int = typer.Option(..., "--seed", help="RNG seed; (profile, seed) fixes the content"),
    out: Optional[Path] = typer.Option(None, "--out",
                                       help="target directory (default: datasets dir/<profile>-s<seed>)"),
    threads: Optional[int] = typer.Option(None, "--threads", help="generator threads (default: up to 2)"),
    deadband: float = typer.Option(0.0, "--deadband", help="change-of-value deadband in noise sigmas (0 = off)"),
) -> None:
    """Generate PROFILE with SEED into OUT (replaced atomically)."""
    from btb.dataset.generator import generate as gen

    try:
        prof = parse_profile(profile)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="PROFILE") from e
    if out is None:
        from btb.config import get_settings

        out = get_settings().datasets_dir / f"{prof.name}-s{seed}"
    t0 = time.perf_counter()
    # no auto-refresh thread: with no other thread running, the generator may fork its binding draw
    # (btb.dataset.generator._StructureFiles); the bar is redrawn on every progress call instead
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False, auto_refresh=False) as bar:
        task = bar.add_task(f"{prof.name} seed {seed}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, refresh=True)

        m = gen(prof.name, seed, out, threads=threads, progress=progress, deadband=deadband)
    dt = time.perf_counter() - t0
    console.print(f"wrote {out}  samples={m.counts['samples']:,}  bytes={_human(m.bytes)}  "
                  f"{dt:.2f}s ({m.counts['samples'] / dt / 1e6:.1f} M samples/s)  fingerprint={m.fingerprint}")


def _refuse(e: Exception) -> None:
    console.print(f"[red]dataset refused:[/] {e}", soft_wrap=True, highlight=False)
    raise typer.Exit(2)


@app.command()
def verify(directory: Path = typer.Argument(..., exists=True, file_okay=False, help="dataset directory")) -> None:
    """Check every file of a dataset against the fingerprint in its manifest (exit 2 naming a bad file)."""
    from btb.dataset.integrity import DatasetError, verify as check

    t0 = time.perf_counter()
    try:
        m = check(directory)
    except DatasetError as e:
        _refuse(e)
    console.print(f"ok {directory}  {m.profile} seed {m.seed}  fingerprint={m.fingerprint}  "
                  f"({time.perf_counter() - t0:.2f}s)", soft_wrap=True)


@app.command()
def shape(directory: Path = typer.Argument(..., exists=True, file_okay=False, help="dataset directory"),
          series: bool = typer.Option(True, help="also read meter and alarm series (energy balance, alarm rate)"),
          as_json: bool = typer.Option(False, "--json", help="print JSON instead of tables")) -> None:
    """Measure the generated building: points per equipment type, FEEDS depth, zones per VAV, metering
    balance (children vs parent, register vs integrated power, tenants vs main), alarm activity."""
    import json

    from btb.dataset.integrity import DatasetError, read_manifest
    from btb.dataset.shape import alarm_activity, energy_balance, load_graph, structure_shape

    try:
        m = read_manifest(directory)
        g = load_graph(directory)
    except (DatasetError, OSError, ValueError) as e:
        _refuse(e if isinstance(e, DatasetError) else DatasetError(f"{directory}: {type(e).__name__}: {e}"))
    out: dict = {"profile": m.profile, "seed": m.seed, **structure_shape(g)}
    if series:
        out.update({k: v for k, v in energy_balance(directory, g).items() if not k.startswith("_")})
        out.update(alarm_activity(directory, g))
    if as_json:
        console.print_json(json.dumps(out, default=str))
        return
    t = Table("metric", "value", title=f"shape of {directory.name} ({m.profile}, seed {m.seed})")
    for k, v in out.items():
        if isinstance(v, float):
            v = f"{v:.4g}"
        elif isinstance(v, dict):
            v = ", ".join(f"{a} {b}" for a, b in v.items())
        t.add_row(k, str(v))
    console.print(t)


@app.command()
def info(directory: Path = typer.Argument(..., exists=True, file_okay=False, help="dataset directory")) -> None:
    """Print counts, span, fingerprint and size of a dataset."""
    from btb.dataset.integrity import DatasetError, read_manifest

    try:
        m = read_manifest(directory)
    except DatasetError as e:
        _refuse(e)
    console.print(f"[bold]{directory}[/bold]")
    console.print(f"profile {m.profile}  seed {m.seed}  format v{m.format_version}")
    console.print(f"span    {m.start} → {m.end} ({m.days} days, {len(series_files(directory))} day files)")
    console.print(f"fingerprint {m.fingerprint}")
    console.print(f"bytes   {m.bytes:,} ({_human(m.bytes)})")
    t = Table("count", "value", title="counts")
    for k in ("nodes", "edges", "points", "samples"):
        t.add_row(k, f"{m.counts.get(k, 0):,}")
    for k, v in sorted(m.counts.items()):
        if k not in ("nodes", "edges", "points", "samples"):
            t.add_row(k, f"{v:,}")
    console.print(t)
    g = m.generator
    if g:
        console.print(f"generated in {g.get('seconds')}s with {g.get('threads')} threads "
                      f"(btb {g.get('btb_version')}, pyarrow {g.get('pyarrow')}, numpy {g.get('numpy')})")
