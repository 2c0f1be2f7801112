"""Entry point of the ``tallyguard`` command.

Exit codes: 0 success; 1 internal error (short message, traceback only with
``--debug``); 2 bad input or options (the message names file, line and field);
3 an evidence bundle does not verify.
"""

from __future__ import annotations

import sys
import traceback

import typer
from rich.markup import escape

from tallyguard import __version__
from tallyguard.cli import audit as audit_cmd
from tallyguard.cli import demo as demo_cmd
from tallyguard.cli import forensics as forensics_cmd
from tallyguard.cli import inspect as inspect_cmd
from tallyguard.cli import rolls as rolls_cmd
from tallyguard.cli import serve as serve_cmd
from tallyguard.cli import simulate as simulate_cmd
from tallyguard.cli import verify as verify_cmd
from tallyguard.cli.output import stderr
from tallyguard.errors import EXIT_INTERNAL, TallyguardError

app = typer.Typer(
    name="tallyguard",
    help=(
        "Evidence-first election integrity: risk-limiting audits, calibrated forensics "
        "and voter-roll list maintenance. Every number it prints can be re-derived from "
        "the same inputs and says how sure it is."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tallyguard {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Show the full traceback when an internal error happens."
    ),
) -> None:
    """tallyguard: check outcomes against paper, screen results, keep rolls clean."""


app.command("demo")(demo_cmd.demo)
app.add_typer(simulate_cmd.app, name="simulate")
app.command("verify")(verify_cmd.verify)
app.add_typer(audit_cmd.app, name="audit")
app.command("inspect")(inspect_cmd.inspect)
app.add_typer(forensics_cmd.app, name="forensics")
app.add_typer(rolls_cmd.app, name="rolls")
app.command("serve")(serve_cmd.serve)


def run(argv: list[str] | None = None) -> None:
    """Run the CLI and turn every failure into its exit code and a short message."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        app(args=args, prog_name="tallyguard")
    except TallyguardError as error:
        stderr.print(f"[bold red]error:[/] {escape(str(error))}")
        if debug:
            traceback.print_exc()
        sys.exit(error.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        stderr.print("interrupted; nothing was left half-written.")
        sys.exit(130)
    except Exception as error:
        if debug:
            traceback.print_exc()
        else:
            name = type(error).__name__
            stderr.print(
                f"[bold red]internal error:[/] {name}: {escape(str(error))}\n"
                "This is a bug in tallyguard, not in your data. Re-run with --debug for "
                "the traceback and report it.",
                highlight=False,
            )
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    run()
