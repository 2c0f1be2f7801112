"""``tallyguard verify BUNDLE``."""

from __future__ import annotations

from pathlib import Path

import typer


def verify(
    bundle: Path = typer.Argument(..., help="Evidence bundle directory (or its bundle.json)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Re-hash every file of an evidence bundle and re-run what it records."""
    raise NotImplementedError
