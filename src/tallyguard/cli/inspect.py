"""``tallyguard inspect FILE``: what format a file is and what it holds, before using it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from tallyguard.cli.output import emit_json, stdout
from tallyguard.io.detect import ALIASES, FORMATS, inspect_file

FORMAT_HELP = (
    f"auto (detect), {', '.join(ALIASES)} (either of their forms) or one of: {', '.join(FORMATS)}."
)
SHOWN_CHOICES = 40


def _count(value: Any) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _contest_table(contests: dict[str, Any]) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("contest", "vote for", "cards", "over", "under", "choice", "votes"):
        if column in ("contest", "choice"):
            table.add_column(column, justify="left")
        else:
            table.add_column(column, justify="right")
    for name, contest in contests.items():
        votes = contest.get("votes") or {}
        choices = list(contest.get("choices") or votes)[:SHOWN_CHOICES]
        head = [
            escape(name),
            _count(contest.get("votes_allowed")),
            _count(contest.get("cards")),
            _count(contest.get("overvotes")),
            _count(contest.get("undervotes")),
        ]
        if not choices:
            where = contest.get("jurisdictions")
            table.add_row(*head, escape(", ".join(where)) if where else "-", "-")
        for k, choice in enumerate(choices):
            cells = head if k == 0 else [""] * len(head)
            table.add_row(*cells, escape(str(choice)), _count(votes.get(choice)))
        hidden = len(contest.get("choices") or votes) - len(choices)
        if hidden > 0:
            table.add_row(*[""] * len(head), f"[dim]... {hidden} more[/]", "")
    return table


def _render(path: Path, summary: dict[str, Any]) -> None:
    stdout.print(f"[bold]{escape(str(path))}[/]")
    stdout.print(f"format:  {escape(summary['format'])}")
    stdout.print(f"records: {summary['records']:,}")
    if "ballots" in summary:
        stdout.print(f"ballots: {summary['ballots']:,}")
    if summary["contests"]:
        stdout.print(_contest_table(summary["contests"]))
    problems = summary["problems"]
    if not problems:
        stdout.print("[green]no problems found.[/]")
    for problem in problems:
        stdout.print(f"[yellow]note:[/] {escape(problem)}")


def inspect(
    file: Path = typer.Argument(
        ..., help="A CVR export (file, folder or ZIP), manifest, results table or contests.json."
    ),
    format: str = typer.Option("auto", "--format", help=FORMAT_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Detect a file's format, read all of it and summarise what it holds.

    Prints the format, the number of records, each contest's choices and vote
    counts (with over- and undervotes where the votes allowed are known) and
    every problem found, so a file can be checked before an audit uses it.
    Bad input exits with code 2 and a message naming file, line and field.
    """
    summary = inspect_file(file, format)
    if json_out:
        emit_json(summary)
        return
    _render(file, summary)
