"""``tallyguard simulate ...``."""

from __future__ import annotations

import typer

app = typer.Typer(help="Synthetic elections with known truth.", no_args_is_help=True)


@app.command("election")
def election() -> None:
    """Simulate an election."""
    raise NotImplementedError
