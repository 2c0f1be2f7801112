"""``tallyguard audit init | add-jurisdiction | manifest | cvrs | batch-tallies | contest |
seed``: setting up a stored audit."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from sqlalchemy.orm import Session

from tallyguard.audit.workflow import service
from tallyguard.cli.audit_common import (
    ActorOption,
    AuditOption,
    DbOption,
    JsonOption,
    actor_name,
    open_session,
    run_on_audit,
    say,
)
from tallyguard.store.models import Audit


def init(
    name: str = typer.Option(..., "--name", help="A name for the audit."),
    election: str = typer.Option(..., "--election", help="The election audited."),
    kind: str = typer.Option(
        ..., "--kind", help="polling, comparison (ballot-level, against CVRs) or batch."
    ),
    risk_limit: float = typer.Option(0.05, "--risk-limit", help="Risk limit as a fraction."),
    method: str | None = typer.Option(
        None, "--method", help="Risk function. [default: alpha for every kind]"
    ),
    db: str | None = DbOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Create an audit: election, risk limit and kind."""
    with open_session(db) as session:
        row = service.create_audit(
            session,
            name=name,
            election=election,
            kind=kind,
            risk_limit=risk_limit,
            method=method,
            actor=actor_name(actor),
        )
        document = {"audit": row.name, "kind": row.kind, "risk_limit": row.risk_limit,
                    "method": row.method}  # fmt: skip
    say(
        json_out,
        document,
        f"Created {kind} audit [bold]{escape(name)}[/] (risk limit {risk_limit:g}, "
        f"method {document['method']}). Next: add jurisdictions.",
    )


def add_jurisdiction(
    names: list[str] = typer.Argument(..., help="Jurisdiction names (e.g. counties)."),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Add jurisdictions that hold ballots of the audited contests."""

    def act(session: Session, row: Audit) -> None:
        for name in names:
            service.add_jurisdiction(session, row, name, actor_name(actor))

    run_on_audit(db, audit, act)
    say(
        json_out,
        {"added": names},
        f"Added {len(names)} jurisdiction(s): {escape(', '.join(names))}.",
    )


def manifest(
    file: Path = typer.Argument(..., help="Ballot manifest CSV (Arlo or ColoradoRLA layout)."),
    jurisdiction: str | None = typer.Option(
        None, "--jurisdiction", help="Its jurisdiction (if the file has no Jurisdiction column)."
    ),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Load (or, before the seed, replace) ballot manifests."""
    summary = run_on_audit(
        db, audit, lambda s, a: service.load_manifest(s, a, file, jurisdiction, actor_name(actor))
    )
    lines = [
        f"  {escape(n)}: {v['batches']:,} batches, {v['ballots']:,} cards"
        for n, v in summary.items()
    ]
    say(json_out, summary, "Loaded manifest:\n" + "\n".join(lines))


def cvrs(
    file: Path = typer.Argument(..., help="CVR export (any format tallyguard inspect reads)."),
    jurisdiction: str | None = typer.Option(
        None, "--jurisdiction", help="Its jurisdiction (if the file names none)."
    ),
    format: str = typer.Option("auto", "--format", help="CVR format, or auto to detect it."),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Load (or replace) cast vote records; every card must match its manifest batch."""
    summary = run_on_audit(
        db,
        audit,
        lambda s, a: service.load_cvrs(s, a, file, jurisdiction, format, actor_name(actor)),
    )
    lines = [f"  {escape(n)}: {v['cvrs']:,} CVRs" for n, v in summary.items()]
    say(json_out, summary, "Loaded CVRs:\n" + "\n".join(lines))


def batch_tallies(
    file: Path = typer.Argument(
        ..., help="Reported votes per batch: Batch Name + a column per choice."
    ),
    jurisdiction: str | None = typer.Option(
        None, "--jurisdiction", help="Its jurisdiction (if the file has no Jurisdiction column)."
    ),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Load (or replace) the reported votes of every batch (batch audits)."""
    summary = run_on_audit(
        db,
        audit,
        lambda s, a: service.load_batch_tallies(s, a, file, jurisdiction, actor_name(actor)),
    )
    lines = [f"  {escape(n)}: {v['rows']:,} batches" for n, v in summary.items()]
    say(json_out, summary, "Loaded batch tallies:\n" + "\n".join(lines))


def contest(
    contests: Path = typer.Option(..., "--contests", help="contests.json with reported results."),
    names: list[str] = typer.Option(..., "--name", help="Contest name (repeat for several)."),
    opportunistic: bool = typer.Option(
        False,
        "--opportunistic",
        help="Measure it from the same sample without letting it drive the sample size.",
    ),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Add contests to audit: targeted (default) or opportunistic."""

    def act(session: Session, row: Audit) -> list[str]:
        return [
            service.add_contest(
                session, row, contests, name, targeted=not opportunistic, actor=actor_name(actor)
            ).contest.name
            for name in names
        ]

    added = run_on_audit(db, audit, act)
    what = "opportunistic" if opportunistic else "targeted"
    say(json_out, {"added": added, "targeted": not opportunistic},
         f"Added {what} contest(s): {escape(', '.join(added))}.")  # fmt: skip


def seed(
    digits: str = typer.Argument(..., help="The public random seed: 20 digits from a dice roll."),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Set the public seed. From now on manifests, CVRs and contests cannot change."""
    payload = run_on_audit(
        db, audit, lambda s, a: service.set_seed(s, a, digits, actor_name(actor))
    )
    lines = [f"  {name}: {digest}" for name, digest in payload["inputs"].items()]
    say(
        json_out,
        payload,
        f"Seed {digits} set; the inputs are frozen. Publish these digests:\n" + "\n".join(lines),
    )
