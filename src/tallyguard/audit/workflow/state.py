"""Finding an audit and its parts in the store, and reading its inputs for the engine."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tallyguard.audit.workflow.engine import evaluate
from tallyguard.audit.workflow.inputs import (
    AuditContest,
    AuditInputs,
    CardKey,
    Reading,
)
from tallyguard.audit.workflow.result import AuditResult
from tallyguard.audit.workflow.stored import StoredCvrs
from tallyguard.errors import InputError
from tallyguard.io.contests import ReportedContest
from tallyguard.io.vendors._common import closest
from tallyguard.model import Contest as ContestModel
from tallyguard.model import ContestKind, ManifestBatch
from tallyguard.store.models import (
    Audit,
    Batch,
    BatchTally,
    Contest,
    Event,
    Interpretation,
    Jurisdiction,
    Round,
)


def close_hint(value: str, options: Iterable[str]) -> str:
    """The start of a fix: the closest known name, else the list of known names."""
    options = [str(option) for option in options]
    found = closest(value, options)
    if found is not None:
        return f"did you mean {found!r}? "
    return f"known: {', '.join(options)}. " if options else ""


def audit_names(session: Session) -> list[str]:
    return list(session.scalars(select(Audit.name).order_by(Audit.name)))


def find_audit(session: Session, name: str | None) -> Audit:
    """The audit called ``name``; with ``None``, the only audit of the store."""
    names = audit_names(session)
    if name is None:
        if len(names) == 1:
            name = names[0]
        else:
            raise InputError(
                "no audit named." if names else "this database holds no audit yet.",
                field="--audit",
                fix=f"pass --audit NAME ({', '.join(names)})."
                if names
                else "create one with: tallyguard audit init.",
            )
    audit = session.scalars(select(Audit).where(Audit.name == name)).one_or_none()
    if audit is None:
        raise InputError(
            f"there is no audit {name!r} in this database.",
            field="--audit",
            fix=f"{close_hint(name, names)}Check --db / TALLYGUARD_DB.",
        )
    return audit


def get_jurisdiction(session: Session, audit: Audit, name: str) -> Jurisdiction:
    found = session.scalars(
        select(Jurisdiction).where(Jurisdiction.audit_id == audit.id, Jurisdiction.name == name)
    ).one_or_none()
    if found is None:
        known = session.scalars(
            select(Jurisdiction.name).where(Jurisdiction.audit_id == audit.id)
        ).all()
        raise InputError(
            f"jurisdiction {name!r} is not part of audit {audit.name!r}.",
            field="--jurisdiction",
            fix=f"{close_hint(name, known)}Add it with: tallyguard audit add-jurisdiction.",
        )
    return found


def require_setup(audit: Audit, what: str) -> None:
    if audit.seed is not None:
        raise InputError(
            f"the seed of audit {audit.name!r} is set, so {what} can no longer change "
            "(the sample must not depend on data loaded after the seed was known).",
            field="seed",
            fix="start a new audit if the data really were wrong, and say why in its record.",
        )


def require_status(audit: Audit, *allowed: str, doing: str) -> None:
    if audit.status not in allowed:
        hints = {
            "setup": "set the seed first: tallyguard audit seed.",
            "sampling": "the audit is sampling rounds.",
            "hand_count": "a full hand count is under way.",
            "finished": "the audit is finished.",
        }
        raise InputError(
            f"cannot {doing}: audit {audit.name!r} is in state {audit.status!r}.",
            field="audit",
            fix=hints.get(audit.status, ""),
        )


# --- the inputs as the engine sees them -----------------------------------------------


def reported_contest(row: Contest) -> ReportedContest:
    contest = ContestModel(
        contest_id=row.contest_id,
        name=row.name,
        kind=ContestKind(row.kind),
        choices=tuple(row.choices),
        num_winners=row.num_winners,
        votes_allowed=row.votes_allowed,
        share_to_win=row.share_to_win,
    )
    totals = {str(k): int(v) for k, v in row.totals.items()}
    return ReportedContest(contest, row.ballots, totals, tuple(row.winners))


def read_manifest(
    session: Session, audit: Audit
) -> tuple[list[Any], dict[int, str], tuple[ManifestBatch, ...]]:
    """The audit's batch rows in the sampler's order (jurisdiction name, then ordinal),
    the jurisdiction names by id, and the manifest those rows make."""
    jurisdictions = {
        j.id: j.name
        for j in session.scalars(select(Jurisdiction).where(Jurisdiction.audit_id == audit.id))
    }
    # Rows, not ORM objects: a state's manifest has thousands of batches.
    rows = list(
        session.execute(
            select(
                Batch.id,
                Batch.jurisdiction_id,
                Batch.ordinal,
                Batch.tabulator,
                Batch.batch_name,
                Batch.num_ballots,
                Batch.container,
            ).where(Batch.audit_id == audit.id)
        )
    )
    rows.sort(key=lambda b: (jurisdictions[b.jurisdiction_id], b.ordinal))
    batches = tuple(
        ManifestBatch(
            jurisdiction=jurisdictions[b.jurisdiction_id],
            batch_name=b.batch_name,
            num_ballots=b.num_ballots,
            container=b.container,
            tabulator=b.tabulator or None,
        )
        for b in rows
    )
    return rows, jurisdictions, batches


def load_inputs(session: Session, audit: Audit) -> AuditInputs:
    """Everything the audit rests on, read from the store.

    The CVRs of a comparison audit are a read-only mapping that reads the store
    when a card is looked up (:class:`~tallyguard.audit.workflow.stored.StoredCvrs`),
    not a dict of every card: the engine needs the sampled cards only.
    """
    batch_rows, jurisdictions, batches = read_manifest(session, audit)
    keys = {
        b.id: CardKey(jurisdictions[b.jurisdiction_id], b.tabulator, b.batch_name, 0)
        for b in batch_rows
    }
    contest_rows = list(
        session.scalars(select(Contest).where(Contest.audit_id == audit.id).order_by(Contest.id))
    )
    contests = tuple(AuditContest(reported_contest(row), row.targeted) for row in contest_rows)
    names = {row.id: row.name for row in contest_rows}

    def card(batch_id: int, position: int) -> CardKey:
        base = keys[batch_id]
        return CardKey(base.jurisdiction, base.tabulator, base.batch_name, position)

    tallies: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
    if audit.kind == "batch":
        query = select(BatchTally.batch_id, BatchTally.choice, BatchTally.votes).where(
            BatchTally.audit_id == audit.id
        )
        for batch_id, choice, votes in session.execute(query):
            tallies[keys[batch_id].batch][choice] = votes
    readings: dict[CardKey, dict[str, Reading]] = defaultdict(dict)
    for row in session.scalars(select(Interpretation).where(Interpretation.audit_id == audit.id)):
        readings[card(row.batch_id, row.position)][names[row.contest_id]] = Reading(
            row.result,  # type: ignore[arg-type]
            tuple(row.choices),
            votes=None if row.votes is None else {str(k): int(v) for k, v in row.votes.items()},
            comment=row.comment,
        )
    rounds = tuple(
        session.scalars(
            select(Round.sample_size).where(Round.audit_id == audit.id).order_by(Round.number)
        )
    )
    counted = session.scalars(
        select(Event.payload)
        .where(Event.audit_id == audit.id, Event.type == "hand_count.recorded")
        .order_by(Event.seq.desc())
        .limit(1)
    ).one_or_none()
    hand_count = json.loads(counted)["contests"] if counted is not None else {}
    cvrs: Mapping[CardKey, Mapping[str, tuple[str, ...]]] = {}
    imprinted: Mapping[CardKey, str] = {}
    if audit.kind == "comparison":
        # Read lazily: a command needs the CVRs of the sampled cards only (the audited
        # ones, which have readings, together); the seed and the export render them all.
        stored = StoredCvrs(session, audit.id, keys, hints=readings)
        cvrs, imprinted = stored, stored.imprinted_ids
    return AuditInputs(
        name=audit.name,
        election=audit.election,
        kind=audit.kind,  # type: ignore[arg-type]
        risk_limit=audit.risk_limit,
        method=audit.method,
        seed=audit.seed,
        batches=batches,
        contests=contests,
        cvrs=cvrs,
        imprinted_ids=imprinted,
        batch_tallies=dict(tallies),
        rounds=rounds,
        readings=dict(readings),
        hand_count=hand_count,
    )


def rounds_of(session: Session, audit: Audit) -> list[Round]:
    return list(
        session.scalars(select(Round).where(Round.audit_id == audit.id).order_by(Round.number))
    )


def status(session: Session, audit: Audit) -> AuditResult:
    return evaluate(load_inputs(session, audit))
