"""Shared output conventions of every command.

* ``--json`` prints one JSON document on stdout and nothing else there;
* human text goes to stdout through rich; progress bars and warnings go to stderr,
  so ``tallyguard ... --json | jq`` always works.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

StepCallback = Callable[[str], None]


def emit_json(document: Any) -> None:
    """Write ``document`` as pretty, key-sorted JSON on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


@contextmanager
def steps(title: str, total: int, *, enabled: bool = True) -> Iterator[StepCallback]:
    """A progress bar over ``total`` named steps, on stderr.

    Yields a callback ``step(label)`` that marks the previous step done and shows
    ``label`` as the one now running. The bar disappears when the work is done.
    """
    if not enabled or not stderr.is_terminal:
        yield lambda _label: None
        return
    columns = (
        TextColumn("[bold]{task.fields[title]}[/]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task("", total=total, title=title)
        started = False

        def step(label: str) -> None:
            nonlocal started
            if started:
                bar.advance(task)
            started = True
            bar.update(task, description=label)

        yield step
        bar.update(task, completed=total)
