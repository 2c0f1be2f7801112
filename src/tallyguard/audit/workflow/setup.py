"""Setting an audit up: settings, jurisdictions, contests, and the seed that freezes it all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tallyguard.audit.measure import check_risk_limit
from tallyguard.audit.risk import COMPARISON_METHODS, POLLING_METHODS
from tallyguard.audit.sampling import validate_dice_seed
from tallyguard.audit.workflow.files import frozen_digests
from tallyguard.audit.workflow.inputs import (
    KINDS,
    AuditInputs,
)
from tallyguard.audit.workflow.state import (
    audit_names,
    close_hint,
    load_inputs,
    require_setup,
)
from tallyguard.errors import InputError
from tallyguard.evidence.canonical import sha256_file
from tallyguard.io.contests import ReportedContest, read_contests
from tallyguard.store.events import append_event
from tallyguard.store.models import (
    Audit,
    Contest,
    InputFile,
    Jurisdiction,
)

# --- setup ----------------------------------------------------------------------------


def create_audit(
    session: Session,
    *,
    name: str,
    election: str,
    kind: str,
    risk_limit: float,
    method: str | None,
    actor: str,
) -> Audit:
    if kind not in KINDS:
        raise InputError(
            f"unknown audit kind {kind!r}.", field="--kind", fix=f"use one of {', '.join(KINDS)}."
        )
    check_risk_limit(risk_limit)
    allowed = {"polling": POLLING_METHODS, "comparison": COMPARISON_METHODS, "batch": ("alpha",)}
    method = method or "alpha"
    if method not in allowed[kind]:
        raise InputError(
            f"method {method!r} does not apply to {kind} audits.",
            field="--method",
            fix=f"choose one of {', '.join(allowed[kind])}.",
        )
    if not name.strip():
        raise InputError("the audit needs a name.", field="--name", fix="pass --name NAME.")
    if name in audit_names(session):
        raise InputError(
            f"an audit named {name!r} already exists in this database.",
            field="--name",
            fix="choose another name, or use --db for another database.",
        )
    audit = Audit(
        name=name, election=election, kind=kind, risk_limit=risk_limit, method=method, seed=None
    )
    audit.status = "setup"
    session.add(audit)
    session.flush()
    append_event(
        session,
        audit.id,
        "audit.created",
        {
            "name": name,
            "election": election,
            "kind": kind,
            "risk_limit": risk_limit,
            "method": method,
        },
        actor,
    )
    return audit


def add_jurisdiction(session: Session, audit: Audit, name: str, actor: str) -> Jurisdiction:
    require_setup(audit, "jurisdictions")
    name = name.strip()
    if not name:
        raise InputError("a jurisdiction needs a name.", field="NAME", fix="pass its name.")
    exists = session.scalars(
        select(Jurisdiction).where(Jurisdiction.audit_id == audit.id, Jurisdiction.name == name)
    ).one_or_none()
    if exists is not None:
        raise InputError(
            f"jurisdiction {name!r} is already part of the audit.",
            field="NAME",
            fix="each jurisdiction is added once.",
        )
    row = Jurisdiction(audit_id=audit.id, name=name)
    session.add(row)
    session.flush()
    append_event(session, audit.id, "jurisdiction.added", {"jurisdiction": name}, actor)
    return row


def add_contest(
    session: Session, audit: Audit, path: Path, name: str, *, targeted: bool, actor: str
) -> ReportedContest:
    """Add a contest (targeted: it drives the sample size; else opportunistic)."""
    require_setup(audit, "contests")
    election = read_contests(path)
    names = [c.contest.name for c in election.contests]
    chosen = next((c for c in election.contests if c.contest.name == name), None)
    if chosen is None:
        raise InputError(
            f"there is no contest {name!r} in the file.",
            file=path,
            field="--name",
            fix=f"{close_hint(name, names)}",
        )
    existing = session.scalars(
        select(Contest).where(Contest.audit_id == audit.id, Contest.name == name)
    ).one_or_none()
    if existing is not None:
        session.delete(existing)
        session.flush()
    c = chosen.contest
    session.add(
        Contest(
            audit_id=audit.id,
            contest_id=c.contest_id,
            name=c.name,
            kind=c.kind.value,
            choices=list(c.choices),
            num_winners=c.num_winners,
            votes_allowed=c.votes_allowed,
            share_to_win=c.share_to_win,
            ballots=chosen.ballots,
            totals=dict(chosen.totals),
            winners=list(chosen.winners),
            targeted=targeted,
        )
    )
    append_event(
        session,
        audit.id,
        "contest.added",
        {
            "contest": chosen.to_json(),
            "targeted": targeted,
            "file": path.name,
            "sha256": sha256_file(path),
        },
        actor,
    )
    return chosen


def _check_ready(session: Session, audit: Audit, inputs: AuditInputs) -> None:
    """Everything a sample needs is there: manifests, CVRs or tallies, a targeted contest."""
    jurisdictions = session.scalars(
        select(Jurisdiction).where(Jurisdiction.audit_id == audit.id).order_by(Jurisdiction.name)
    ).all()
    if not jurisdictions:
        raise InputError(
            "the audit has no jurisdiction.",
            field="jurisdictions",
            fix="add them: tallyguard audit add-jurisdiction NAME.",
        )
    roles = {"manifest"} | {"comparison": {"cvrs"}, "batch": {"batch_tallies"}}.get(
        audit.kind, set()
    )
    for row in jurisdictions:
        have = set(
            session.scalars(select(InputFile.role).where(InputFile.jurisdiction_id == row.id))
        )
        missing = [r for r in ("manifest", "cvrs", "batch_tallies") if r in roles - have]
        if missing:
            raise InputError(
                f"jurisdiction {row.name!r} has no {missing[0].replace('_', ' ')} yet.",
                field=missing[0],
                fix=f"load it: tallyguard audit {missing[0].replace('_', '-')} FILE "
                f"--jurisdiction {row.name!r}.",
            )
    if not any(c.targeted for c in inputs.contests):
        raise InputError(
            "the audit has no targeted contest.",
            field="contests",
            fix="add one: tallyguard audit contest --contests FILE --name NAME --targeted.",
        )
    cards = sum(b.num_ballots for b in inputs.batches)
    for c in inputs.contests:
        if c.reported.ballots > cards:
            raise InputError(
                f"contest {c.reported.contest.name!r} reports {c.reported.ballots:,} ballot cards "
                f"but the manifests list only {cards:,}.",
                field="ballots",
                fix="load every jurisdiction's manifest, or correct the contest's ballots.",
            )


def set_seed(session: Session, audit: Audit, seed: str, actor: str) -> dict[str, Any]:
    """Set the public seed (20+ dice digits); it freezes every input of the audit."""
    require_setup(audit, "the seed")
    validate_dice_seed(seed)
    inputs = load_inputs(session, audit)
    _check_ready(session, audit, inputs)
    audit.seed = seed
    audit.status = "sampling"
    digests = frozen_digests(inputs)
    files = [
        {"role": f.role, "file": f.filename, "sha256": f.sha256}
        for f in session.scalars(
            select(InputFile).where(InputFile.audit_id == audit.id).order_by(InputFile.id)
        )
    ]
    payload = {"seed": seed, "inputs": digests, "files": files}
    append_event(session, audit.id, "seed.set", payload, actor)
    return payload
