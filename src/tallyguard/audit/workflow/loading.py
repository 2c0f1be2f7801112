"""Loading manifests, CVRs and batch tallies into an audit (before the seed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from tallyguard.audit.workflow.state import (
    close_hint,
    get_jurisdiction,
    require_setup,
)
from tallyguard.errors import InputError
from tallyguard.evidence.canonical import sha256_file
from tallyguard.io.csvfile import open_csv, parse_count
from tallyguard.io.manifest import read_manifest
from tallyguard.store.events import append_event
from tallyguard.store.models import (
    Audit,
    Batch,
    BatchTally,
    Cvr,
    InputFile,
    Interpretation,
    Jurisdiction,
)

CHUNK = 50_000
_BATCH_KEY_COLUMNS = ("jurisdiction", "tabulator", "batch name", "container")


def record_file(
    session: Session,
    audit: Audit,
    jurisdiction: Jurisdiction | None,
    role: str,
    path: Path,
    fmt: str,
    records: int,
    digest: str | None = None,
) -> str:
    """Record (replacing any earlier) the file of ``role``; returns its SHA-256."""
    session.execute(
        delete(InputFile).where(
            InputFile.audit_id == audit.id,
            InputFile.role == role,
            InputFile.jurisdiction_id == (jurisdiction.id if jurisdiction else None),
        )
    )
    digest = digest or sha256_file(path)
    session.add(
        InputFile(
            audit_id=audit.id,
            jurisdiction_id=jurisdiction.id if jurisdiction else None,
            role=role,
            filename=path.name,
            format=fmt,
            sha256=digest,
            size=path.stat().st_size,
            records=records,
        )
    )
    return digest


def group_by_jurisdiction(
    session: Session, audit: Audit, path: Path, names: list[str | None], given: str | None
) -> dict[str, Jurisdiction]:
    """The jurisdictions a file covers: its Jurisdiction values, or ``given``."""
    found: dict[str, Jurisdiction] = {}
    for name in dict.fromkeys(names):
        if given is not None and name not in (None, given):
            raise InputError(
                f"the file lists rows of jurisdiction {name!r}, not {given!r}.",
                file=path,
                field="Jurisdiction",
                fix="load each jurisdiction's own file, or leave out --jurisdiction.",
            )
        label = given if name is None else name
        if label is None:
            raise InputError(
                "has no Jurisdiction column.",
                file=path,
                field="Jurisdiction",
                fix="pass --jurisdiction NAME.",
            )
        found[label] = get_jurisdiction(session, audit, label)
    return found


def load_manifest(
    session: Session, audit: Audit, path: Path, jurisdiction: str | None, actor: str
) -> dict[str, Any]:
    """Load (or replace, before the seed) ballot manifests."""
    require_setup(audit, "manifests")
    batches = read_manifest(path, jurisdiction)
    if not batches:
        raise InputError("lists no batch.", file=path, fix="export the full ballot manifest.")
    groups = group_by_jurisdiction(
        session, audit, path, [b.jurisdiction for b in batches], jurisdiction
    )
    digest = sha256_file(path)
    summary: dict[str, Any] = {}
    for name, row in groups.items():
        mine = [b for b in batches if b.jurisdiction == name]
        ids = select(Batch.id).where(Batch.jurisdiction_id == row.id)
        for table in (Cvr, BatchTally, Interpretation):
            # A million CVRs: no need to fetch their ids to sync the session (none is in it).
            session.execute(
                delete(table)
                .where(table.batch_id.in_(ids))
                .execution_options(synchronize_session=False)
            )
        session.execute(delete(Batch).where(Batch.jurisdiction_id == row.id))
        session.execute(
            delete(InputFile).where(
                InputFile.jurisdiction_id == row.id, InputFile.role.in_(("cvrs", "batch_tallies"))
            )
        )
        session.execute(
            insert(Batch),
            [
                {
                    "audit_id": audit.id,
                    "jurisdiction_id": row.id,
                    "ordinal": i,
                    "tabulator": b.tabulator or "",
                    "batch_name": b.batch_name,
                    "num_ballots": b.num_ballots,
                    "container": b.container,
                }
                for i, b in enumerate(mine, start=1)
            ],
        )
        record_file(session, audit, row, "manifest", path, "manifest", len(mine), digest)
        summary[name] = {"batches": len(mine), "ballots": sum(b.num_ballots for b in mine)}
    append_event(
        session,
        audit.id,
        "manifest.loaded",
        {"file": path.name, "sha256": digest, "jurisdictions": summary},
        actor,
    )
    return summary


def batches_of(session: Session, jurisdiction: Jurisdiction) -> list[Batch]:
    return list(
        session.scalars(
            select(Batch).where(Batch.jurisdiction_id == jurisdiction.id).order_by(Batch.ordinal)
        )
    )


def load_batch_tallies(
    session: Session, audit: Audit, path: Path, jurisdiction: str | None, actor: str
) -> dict[str, Any]:
    """Load (or replace) reported votes per batch: a column per choice."""
    require_setup(audit, "batch tallies")
    if audit.kind != "batch":
        raise InputError(
            f"a {audit.kind} audit uses no batch tallies.",
            field="kind",
            fix="batch tallies belong to batch audits (tallyguard audit init --kind batch).",
        )
    table = open_csv(path)
    batch_col = table.column("Batch Name")
    jur_col = table.column("Jurisdiction", required=False)
    tab_col = table.column("Tabulator", required=False)
    skip = {c.casefold() for c in _BATCH_KEY_COLUMNS}
    choices = [c for c in table.header if c.casefold() not in skip]
    parsed: list[tuple[int, str | None, str, str, dict[str, int]]] = []
    for line, row in table.rows():
        assert batch_col is not None
        votes = {c: parse_count(row[c], file=path, line=line, field=c) for c in choices}
        parsed.append(
            (
                line,
                row[jur_col] or None if jur_col else None,
                row[tab_col] if tab_col else "",
                row[batch_col],
                votes,
            )
        )
    groups = group_by_jurisdiction(session, audit, path, [p[1] for p in parsed], jurisdiction)
    summary: dict[str, Any] = {}
    digest = ""
    for name, jrow in groups.items():
        batches = {(b.tabulator, b.batch_name): b for b in batches_of(session, jrow)}
        ids = select(Batch.id).where(Batch.jurisdiction_id == jrow.id)
        session.execute(delete(BatchTally).where(BatchTally.batch_id.in_(ids)))
        values = []
        for line, jur, tab, batch_name, votes in parsed:
            if (jur or jurisdiction) != name:
                continue
            batch = batches.get((tab, batch_name))
            if batch is None:
                raise InputError(
                    f"batch {batch_name!r} is not in the ballot manifest of {name!r}.",
                    file=path,
                    line=line,
                    field=str(batch_col),
                    fix=close_hint(batch_name, [n for _, n in batches])
                    + "Use the manifest's names.",
                )
            values += [
                {"audit_id": audit.id, "batch_id": batch.id, "choice": c, "votes": v}
                for c, v in votes.items()
            ]
        if values:
            session.execute(insert(BatchTally), values)
        digest = record_file(
            session, audit, jrow, "batch_tallies", path, "batch-tallies", len(values)
        )
        summary[name] = {"rows": len(values) // max(1, len(choices)), "choices": choices}
    append_event(
        session,
        audit.id,
        "batch_tallies.loaded",
        {"file": path.name, "sha256": digest, "jurisdictions": summary},
        actor,
    )
    return summary
