"""`btb` command line: the typer app, its one-line error handling, and the commands mounted in the order
`btb --help` lists them. Each command group lives in its own module (btb.cli.stack, .campaign, .progress,
.report, .plan, .dataset, .images, .validate, .doctor); commands are thin: they parse, call the library and print."""

from __future__ import annotations

import os
import sys

import typer

from btb.cli import campaign, progress, report, stack
from btb.cli.plan import plan_cmd
from btb.cli.common import console, line
from btb.cli.dataset import app as dataset_app
from btb.cli.doctor import doctor_cmd
from btb.cli.images import app as images_app
from btb.cli.validate import validate_cmd
from btb.config import PRIVATE_UMASK, ConfigError


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
            line(f"{e.format_message()} (see `{cmd}`)")
            sys.exit(e.exit_code)
        except typer.Exit as e:
            sys.exit(getattr(e, "exit_code", 0))
        except (typer.Abort, KeyboardInterrupt):
            line("interrupted")
            sys.exit(130)
        except ConfigError as e:  # a bad BTB_CONFIG: the user's to fix, one line
            line(str(e))
            sys.exit(2)
        except Exception as e:  # noqa: BLE001 - one line, not a traceback (BTB_DEBUG=1 for the traceback)
            if os.environ.get("BTB_DEBUG"):
                raise
            line(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                 "(unexpected; BTB_DEBUG=1 shows the traceback)")
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


app = _OneLineTyper(help="btb: which storage paradigm serves building data best, at what memory budget.",
                    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                    rich_markup_mode=None)


def _version(value: bool) -> None:
    if value:
        from btb import __version__

        console.print(f"btb {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit")) -> None:
    """btb: which storage paradigm serves building data best, at what memory budget."""
    os.umask(PRIVATE_UMASK)  # state, ledger, logs, results, datasets: btb's user only (and what it starts)


COMMANDS = [("up", stack.up), ("down", stack.down), ("worker", stack.worker), ("plan", plan_cmd), ("submit", campaign.submit),
            ("status", progress.status), ("list", progress.list_), ("cancel", campaign.cancel),
            ("report", report.report), ("compare", report.compare), ("validate", validate_cmd),
            ("doctor", doctor_cmd)]
for _name, _command in COMMANDS:
    app.command(name=_name)(_command)
app.add_typer(dataset_app, name="dataset", help="Generate and inspect datasets.")
app.add_typer(images_app, name="images", help="Engine images for the Docker provider: build locally, list.")


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
