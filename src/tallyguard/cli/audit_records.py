"""``tallyguard audit log | export | report``: what the audit leaves for the public."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.export import export_audit
from tallyguard.cli.audit_common import (
    AuditOption,
    DbOption,
    JsonOption,
    run_on_audit,
    say,
)
from tallyguard.cli.output import emit_json, stdout
from tallyguard.errors import Discrepancy, VerificationError
from tallyguard.evidence.chain import ChainRecord
from tallyguard.report.audit_csv import write_report_files
from tallyguard.store.events import load_chain, verify_log
from tallyguard.store.models import Audit


def log(
    verify: bool = typer.Option(
        False, "--verify", help="Check the hash chain: any edited, deleted or reordered event."
    ),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    json_out: bool = JsonOption,
) -> None:
    """Show the audit's event log; with --verify, check its hash chain (exit 3 if broken)."""

    def act(session: Session, row: Audit) -> tuple[list[ChainRecord], list[str]]:
        chain = load_chain(session, row.id)
        return chain, (verify_log(session, row.id) if verify else [])

    chain, problems = run_on_audit(db, audit, act)
    if json_out:
        emit_json({"events": [asdict(e) for e in chain], "verified": verify,
                   "problems": problems})  # fmt: skip
    else:
        table = Table("seq", "type", "actor", "created", "hash")
        for e in chain:
            table.add_row(str(e.seq), e.type, escape(e.actor), e.created, e.hash[:16])
        stdout.print(table)
    if problems:
        raise VerificationError(
            "event log", [Discrepancy(f"event log of {audit or 'the audit'}", p) for p in problems]
        )
    if verify and not json_out:
        stdout.print(f"[bold green]intact:[/] {len(chain)} events, hash chain verified.")


def export(
    directory: Path = typer.Argument(..., help="Folder for the verification bundle."),
    force: bool = typer.Option(False, "--force", help="Replace an existing folder."),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    json_out: bool = JsonOption,
) -> None:
    """Write the verification bundle: inputs, seed, sample, readings, event log, results.

    Anyone can check it without the database: tallyguard verify DIRECTORY.
    """

    def act(session: Session, row: Audit) -> dict[str, Any]:
        inputs = service.load_inputs(session, row)
        return export_audit(inputs, load_chain(session, row.id), directory, overwrite=force)

    summary = run_on_audit(db, audit, act)
    say(json_out, summary, f"Wrote the verification bundle {escape(str(directory))}; check it "
         f"with: tallyguard verify {escape(str(directory))}")  # fmt: skip


def report(
    out: Path = typer.Option(Path("."), "--out", help="Folder for the report files."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also write the PDF (WeasyPrint)."),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    json_out: bool = JsonOption,
) -> None:
    """Write the audit report: CSV (Arlo's sections), self-contained HTML and PDF."""
    result = run_on_audit(db, audit, service.status)
    files = write_report_files(result, out, pdf=pdf)
    say(json_out, {"files": [str(f) for f in files]},
         "Wrote:\n" + "\n".join(f"  {escape(str(f))}" for f in files))  # fmt: skip
