"""``tallyguard verify BUNDLE``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from tallyguard.cli.output import emit_json, stdout, steps
from tallyguard.errors import EXIT_VERIFY
from tallyguard.evidence import VerificationReport, planned_steps, verify_bundle

_MARK = {True: "[green]ok[/]", False: "[bold red]FAILED[/]", None: "[dim]skipped[/]"}


def _render(report: VerificationReport) -> None:
    """Print the checks and notes; the discrepancies go to stderr with the error."""
    stdout.print(f"[bold]Evidence bundle[/] {escape(str(report.bundle))}")
    checks = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    checks.add_column("check")
    checks.add_column("result")
    checks.add_column("detail")
    for check in report.checks:
        checks.add_row(escape(check.name), _MARK[check.passed], escape(check.detail))
    stdout.print(checks)
    stdout.print(f"{report.files_checked} file(s) checked.")
    for note in report.notes:
        stdout.print(f"[yellow]note:[/] {escape(note)}")
    if report.ok:
        stdout.print("[bold green]intact:[/] [green]every file is what bundle.json says.[/]")


def verify(
    bundle: Path = typer.Argument(..., help="Evidence bundle directory (or its bundle.json)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    no_rerun: bool = typer.Option(
        False, "--no-rerun", help="Only check the files; do not re-run the recorded computation."
    ),
) -> None:
    """Re-hash every file of an evidence bundle and re-run what it records.

    Exit code 0 when the bundle is intact, 3 when anything differs, 2 when the
    bundle path does not exist.
    """
    rerun = not no_rerun
    with steps("verify", planned_steps(bundle, rerun=rerun)) as step:
        report = verify_bundle(bundle, rerun=rerun, on_step=step)
    if json_out:
        emit_json(report.to_json())
        if not report.ok:
            raise typer.Exit(EXIT_VERIFY)
        return
    _render(report)
    report.raise_for_problems()
