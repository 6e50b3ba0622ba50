"""`btb images …`: build the engine images locally (where no registry answers) and list what is present.
Logic lives in btb.infra.docker.images."""

from __future__ import annotations

from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Engine images for the Docker provider: build them locally, list them.", no_args_is_help=True)
console = Console(soft_wrap=True, highlight=False)


@app.command()
def build(
    only: Optional[List[str]] = typer.Option(None, "--only", help="image name (repeatable): base, postgres, "
                                             "falkordb, oxigraph, memgraph, worker, redis; default: all"),
    rebuild: bool = typer.Option(False, "--rebuild", help="build even when an image with the same recipe is present"),
) -> None:
    """Build the Debian base, the engine images and compose's worker and Redis images (cached: a present image
    with the same recipe is skipped)."""
    from btb.infra.docker.images import ImageBuildError
    from btb.infra.docker.images import build as do_build

    try:
        results = do_build(only or None, rebuild, log=lambda s: console.print(s, markup=False))
    except ImageBuildError as e:
        console.print(f"error: {e}", markup=False, style="red")
        raise typer.Exit(1)
    table = Table(title="btb images build")
    for col in ("image", "tag", "result", "seconds", "detail"):
        table.add_column(col)
    for r in results:
        table.add_row(r.name, r.tag, r.action, f"{r.seconds:.1f}", r.detail)
    console.print(table)


@app.command(name="list")
def list_() -> None:
    """Each engine image: local build and pinned official image, present or missing, and where it came from."""
    from btb.infra.docker.images import ImageBuildError, docker_client, status

    try:
        client = docker_client(timeout=30)
    except ImageBuildError as e:
        console.print(f"error: {e}", markup=False, style="red")
        raise typer.Exit(1)
    table = Table(title="engine images")
    for col in ("image", "local build", "official (pinned)", "origin"):
        table.add_column(col, overflow="fold")
    for row in status(client):
        loc, off = row["local"], row["official"]
        lab = loc["labels"]
        if not loc["present"]:
            origin = ""
        elif lab.get("btb.recipe"):
            origin = f"{lab.get('btb.recipe.file', '')} recipe {lab['btb.recipe']}, built {lab.get('btb.built', '?')}"
        else:
            origin = "imported by scripts/build_base_image.sh" if row["kind"] is None else "no btb labels"
        table.add_row(row["name"], f"{loc['ref'] or '-'}: {'present ' + loc['id'] if loc['present'] else 'missing'}"
                      if loc["ref"] else "- (no local recipe)",
                      f"{off['ref'] or '-'}: {'present' if off['present'] else 'missing'}" if off["ref"] else "-",
                      origin)
    console.print(table)
