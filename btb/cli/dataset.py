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
from btb.dataset.profiles import DURATIONS, parse_profile

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


DATASET_HELP = "dataset directory, or the name of one in the datasets dir (see `btb dataset list`)"


def _resolve(directory: Path) -> Path:
    """A dataset given by path, else by name in the datasets dir (`tiny-1d-s1`), else one clear error."""
    if directory.is_dir():
        return directory
    from btb.config import get_settings

    root = get_settings().datasets_dir
    named = root / directory
    if len(directory.parts) == 1 and named.is_dir():
        return named
    raise typer.BadParameter(f"no dataset directory {str(directory)!r} (nor {named}); `btb dataset list` shows "
                             f"what is in {root}", param_hint="DIRECTORY")


@app.command("import")
def import_(
    model: Path = typer.Argument(..., help="Brick model file: Turtle (.ttl) or N-Triples (.nt, streamed)"),
    duration: Optional[str] = typer.Option(None, "--duration",
                                           help="series span: 1d 2d 1w 1m 6m 1y (default 1w; a model carrying "
                                                "btb's own series keeps its span)"),
    seed: int = typer.Option(0, "--seed", help="RNG seed of the synthesized series and the bindings"),
    name: Optional[str] = typer.Option(None, "--name", help="dataset name (default: the model file's stem)"),
    out: Optional[Path] = typer.Option(None, "--out", help="target directory (default: datasets dir/<name>-<duration>-s<seed>)"),
    infer_locations: bool = typer.Option(True, help="locate unlocated equipment that serves exactly one space in it"),
    threads: Optional[int] = typer.Option(None, "--threads", help="series generator threads (default: up to 2)"),
) -> None:
    """Import a real building's Brick model as a btb dataset; prints what was mapped, inferred and dropped."""
    from btb.dataset.brick_import import ModelError, import_model

    if duration is not None and duration not in DURATIONS:
        raise typer.BadParameter(f"unknown duration {duration!r}; one of {', '.join(DURATIONS)}", param_hint="--duration")
    name = name or model.stem
    if out is None:
        from btb.config import get_settings

        out = get_settings().datasets_dir / f"{name}-{duration or '1w'}-s{seed}"
    t0 = time.perf_counter()
    try:
        r = import_model(model, out, duration=duration, seed=seed, name=name, threads=threads,
                         infer_locations=infer_locations)
    except (ModelError, ValueError, OSError) as e:
        Console(stderr=True).print(f"import refused: {e}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    for line in r.summary.lines():
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    for q, why in (r.manifest.generator.get("unbound") or {}).items():
        console.print(f"{q}: {why}", markup=False, highlight=False)
    m = r.manifest
    console.print(f"wrote {out}  nodes={m.counts['nodes']:,} points={m.counts['points']:,} "
                  f"samples={m.counts['samples']:,} series={r.series}  {time.perf_counter() - t0:.2f}s  "
                  f"fingerprint={m.fingerprint}  source={m.generator['source']['fingerprint'][:16]}",
                  markup=False, highlight=False, soft_wrap=True)


def _refuse(e: Exception) -> None:
    console.print(f"[red]dataset refused:[/] {e}", soft_wrap=True, highlight=False)
    raise typer.Exit(2)


@app.command()
def verify(directory: Path = typer.Argument(..., help=DATASET_HELP)) -> None:
    """Check every file of a dataset against the fingerprint in its manifest (exit 2 naming a bad file)."""
    from btb.dataset.integrity import DatasetError, verify as check

    directory = _resolve(directory)
    t0 = time.perf_counter()
    try:
        m = check(directory)
    except DatasetError as e:
        _refuse(e)
    console.print(f"ok {directory}  {m.profile} seed {m.seed}  fingerprint={m.fingerprint}  "
                  f"({time.perf_counter() - t0:.2f}s)", soft_wrap=True)


@app.command()
def shape(directory: Path = typer.Argument(..., help=DATASET_HELP),
          series: bool = typer.Option(True, help="also read meter and alarm series (energy balance, alarm rate)"),
          as_json: bool = typer.Option(False, "--json", help="print JSON instead of tables")) -> None:
    """Measure the generated building: points per equipment type, FEEDS depth, zones per VAV, metering
    balance (children vs parent, register vs integrated power, tenants vs main), alarm activity."""
    import json

    from btb.dataset.integrity import DatasetError, read_manifest
    from btb.dataset.shape import alarm_activity, energy_balance, load_graph, structure_shape

    directory = _resolve(directory)
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
def info(directory: Path = typer.Argument(..., help=DATASET_HELP)) -> None:
    """Print counts, span, fingerprint and size of a dataset."""
    from btb.dataset.integrity import DatasetError, read_manifest

    directory = _resolve(directory)
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
    if g.get("kind") == "brick-import":
        src = g.get("source", {})
        console.print(f"imported from Brick model {src.get('model')} in {g.get('seconds')}s (series: "
                      f"{src.get('series')}, source fingerprint {str(src.get('fingerprint'))[:16]})",
                      markup=False, highlight=False, soft_wrap=True)
        for q, why in (g.get("unbound") or {}).items():
            console.print(f"{q}: {why}", markup=False, highlight=False)
    elif g:
        console.print(f"generated in {g.get('seconds')}s with {g.get('threads')} threads "
                      f"(btb {g.get('btb_version')}, pyarrow {g.get('pyarrow')}, numpy {g.get('numpy')})")


@app.command("list")
def list_(root: Optional[Path] = typer.Option(None, "--root", help="datasets dir (default: the state dir's)")) -> None:
    """Datasets in the datasets dir: name, profile, seed, samples, size, fingerprint (manifest only, no
    hashing: `btb dataset verify NAME` checks the files)."""
    from btb.config import get_settings
    from btb.dataset.integrity import DatasetError, read_manifest

    root = root or get_settings().datasets_dir
    dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []
    if not dirs:
        console.print(f"no datasets in {root} (`btb dataset generate tiny-1d --seed 1` makes one)")
        return
    t = Table("name", "profile", "seed", "samples", "size", "fingerprint", title=f"datasets in {root}")
    for d in dirs:
        try:
            m = read_manifest(d)
        except DatasetError as e:
            t.add_row(d.name, "[red]unreadable[/]", "", "", "", str(e)[:60])
            continue
        t.add_row(d.name, m.profile, str(m.seed), f"{m.counts.get('samples', 0):,}", _human(m.bytes), m.fingerprint[:16])
    console.print(t)
