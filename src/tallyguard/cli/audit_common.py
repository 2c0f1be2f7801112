"""What the stored-audit commands share: options, the store session, output.

Every command opens the store (``--db`` / ``TALLYGUARD_DB``, SQLite file
``tallyguard.db`` by default), runs inside one transaction and appends its event
to the audit's hash-chained log; the command either happens entirely or not at all.
"""

from __future__ import annotations

import csv
import getpass
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from sqlalchemy.orm import Session

from tallyguard.audit.workflow import service
from tallyguard.cli.output import emit_json, stdout
from tallyguard.io.atomic import write_file_atomically
from tallyguard.store.db import Store, resolve_url
from tallyguard.store.models import Audit

T = TypeVar("T")

DB_HELP = (
    "Database: a SQLite file or a postgresql:// URL. [default: $TALLYGUARD_DB or tallyguard.db]"
)
AUDIT_HELP = "The audit's name (needed only when the database holds several)."
JSON_HELP = "Print the result as JSON."

DbOption = typer.Option(None, "--db", help=DB_HELP)
AuditOption = typer.Option(None, "--audit", help=AUDIT_HELP)
JsonOption = typer.Option(False, "--json", help=JSON_HELP)
ActorOption = typer.Option(
    None, "--actor", help="Who does this, for the event log. [default: the login name]"
)


def actor_name(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no login name
        return "unknown"


@contextmanager
def open_session(db: str | None) -> Iterator[Session]:
    with Store.open(resolve_url(db)) as store, store.transaction() as session:
        yield session


def run_on_audit(db: str | None, audit: str | None, action: Callable[[Session, Audit], T]) -> T:
    with open_session(db) as session:
        return action(session, service.find_audit(session, audit))


def write_csv(path: Path, header: tuple[str, ...] | list[str], rows: list[list[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_file_atomically(path, buffer.getvalue().encode("utf-8"))


def say(json_out: bool, document: Any, text: str) -> None:
    if json_out:
        emit_json(document)
    else:
        stdout.print(text)
