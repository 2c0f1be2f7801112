"""What several pages show: an audit found by name, its status and its published digests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.result import AuditResult
from tallyguard.errors import InputError
from tallyguard.store.accounts import AuditBoard, User
from tallyguard.store.models import Audit, Event, InputFile, Jurisdiction


def audit_or_404(session: Session, name: str) -> Audit:
    """The audit called ``name``, or a 404 page."""
    audit = session.scalars(select(Audit).where(Audit.name == name)).one_or_none()
    if audit is None:
        raise HTTPException(status_code=404, detail=f"There is no audit named {name!r}.")
    return audit


def jurisdiction_or_404(session: Session, audit: Audit, name: str) -> Jurisdiction:
    """The jurisdiction ``name`` of ``audit``, or a 404 page."""
    row = session.scalars(
        select(Jurisdiction).where(Jurisdiction.audit_id == audit.id, Jurisdiction.name == name)
    ).one_or_none()
    if row is None:
        raise HTTPException(
            status_code=404, detail=f"Audit {audit.name!r} has no jurisdiction {name!r}."
        )
    return row


@dataclass(frozen=True)
class AuditView:
    """An audit as its pages show it (plain values, read inside one transaction)."""

    name: str
    election: str
    kind: str
    method: str
    risk_limit: float
    seed: str | None
    status: str
    result: AuditResult | None
    problem: str | None  # why there is no result
    events: int
    head_hash: str | None
    frozen: dict[str, str] = field(default_factory=dict)  # canonical input -> SHA-256
    files: list[dict[str, Any]] = field(default_factory=list)  # role, file, sha256


def log_head(session: Session, audit: Audit) -> tuple[int, str | None]:
    """How many events the audit's log holds, and the hash of the last one."""
    count = session.scalar(select(func.count()).where(Event.audit_id == audit.id)) or 0
    head = session.scalars(
        select(Event.hash).where(Event.audit_id == audit.id).order_by(Event.seq.desc()).limit(1)
    ).first()
    return count, head


def audit_view(session: Session, audit: Audit) -> AuditView:
    """The settings, status, event-log head and input digests of an audit."""
    try:
        result: AuditResult | None = service.status(session, audit)
        problem = None
    except InputError as error:
        result, problem = None, str(error)
    count, head = log_head(session, audit)
    seeded = session.scalars(
        select(Event.payload).where(Event.audit_id == audit.id, Event.type == "seed.set").limit(1)
    ).first()
    frozen: dict[str, str] = {}
    files: list[dict[str, Any]]
    if seeded is not None:
        payload = json.loads(seeded)
        frozen = {str(k): str(v) for k, v in payload.get("inputs", {}).items()}
        files = list(payload.get("files", []))
    else:
        files = [
            {"role": f.role, "file": f.filename, "sha256": f.sha256}
            for f in session.scalars(
                select(InputFile).where(InputFile.audit_id == audit.id).order_by(InputFile.id)
            )
        ]
    return AuditView(
        name=audit.name,
        election=audit.election,
        kind=audit.kind,
        method=audit.method,
        risk_limit=audit.risk_limit,
        seed=audit.seed,
        status=audit.status,
        result=result,
        problem=problem,
        events=count,
        head_hash=head,
        frozen=frozen,
        files=files,
    )


def jurisdictions_of(session: Session, audit: Audit) -> list[dict[str, Any]]:
    """Each jurisdiction of an audit with its managers' emails and loaded files."""
    managers: dict[str, list[str]] = {}
    for user in session.scalars(
        select(User).where(User.audit_id == audit.id, User.role == "manager").order_by(User.email)
    ):
        managers.setdefault(user.jurisdiction or "", []).append(user.email)
    rows = []
    for row in session.scalars(
        select(Jurisdiction).where(Jurisdiction.audit_id == audit.id).order_by(Jurisdiction.name)
    ):
        files = [
            {"role": f.role, "file": f.filename, "sha256": f.sha256, "records": f.records}
            for f in session.scalars(
                select(InputFile).where(InputFile.jurisdiction_id == row.id).order_by(InputFile.id)
            )
        ]
        rows.append({"name": row.name, "managers": managers.get(row.name, []), "files": files})
    return rows


def boards_of(session: Session, audit: Audit, jurisdiction: str | None) -> list[dict[str, Any]]:
    """The audit boards of an audit (of one jurisdiction, if given)."""
    query = select(AuditBoard).where(AuditBoard.audit_id == audit.id)
    if jurisdiction is not None:
        query = query.where(AuditBoard.jurisdiction == jurisdiction)
    return [
        {
            "id": b.id,
            "name": b.name,
            "members": (b.member_1, b.member_2),
            "jurisdiction": b.jurisdiction,
            "joined": b.token_used,
        }
        for b in session.scalars(query.order_by(AuditBoard.name))
    ]
