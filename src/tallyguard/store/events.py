"""The append-only, hash-chained event log of an audit, in the store.

Every command that changes an audit appends one or more events in the same
transaction as the change itself (:func:`append_event`), so the log and the
state never disagree. Each event is chained to the one before it
(:mod:`tallyguard.evidence.chain`, after Crosby & Wallach 2009), so an edit,
deletion or reordering of rows afterwards shows up in :func:`verify_log` and in
``tallyguard verify`` on an export.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tallyguard.evidence.canonical import canonical_json, parse_strict
from tallyguard.evidence.chain import GENESIS, ChainRecord, event_hash, verify_chain
from tallyguard.store.models import Audit, Event

#: Every event type an audit's log may hold, in the order a typical audit meets them.
#:
#: ``audit.created`` (settings), ``jurisdiction.added``, ``manifest.loaded``,
#: ``cvrs.loaded``, ``batch_tallies.loaded`` and ``contest.added`` (inputs and
#: their SHA-256), ``seed.set`` (the public seed; freezes the inputs),
#: ``round.started`` (sample size), ``readings.recorded`` (what audit boards
#: saw), ``round.finished``, ``hand_count.started`` and ``hand_count.recorded``
#: (escalation to a full hand count and its result), ``audit.finished``.
EVENT_TYPES: tuple[str, ...] = (
    "audit.created",
    "jurisdiction.added",
    "manifest.loaded",
    "cvrs.loaded",
    "batch_tallies.loaded",
    "contest.added",
    "seed.set",
    "round.started",
    "readings.recorded",
    "round.finished",
    "hand_count.started",
    "hand_count.recorded",
    "audit.finished",
    "account.created",
    "board.created",
    "board.joined",
    "board.signed_off",
    "account.password_changed",
    "account.password_reset",
    "board.link_reissued",
)


def utc_now() -> str:
    """The current time in UTC, ISO 8601 to the second: ``2024-11-05T20:00:00+00:00``."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def lock_audit(session: Session, audit_id: int) -> Audit | None:
    """Lock an audit's row for the rest of the transaction and read it afresh.

    A command that reads the audit's tables and then appends an event takes this lock
    first: on PostgreSQL a later ``FOR UPDATE`` behind the key-share locks its own
    inserts took would deadlock against a concurrent command doing the same (SQLite
    already holds the database's write lock, see :mod:`tallyguard.store.db`).
    """
    return session.execute(
        select(Audit)
        .where(Audit.id == audit_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def append_event(
    session: Session,
    audit_id: int,
    type: str,
    payload: Mapping[str, Any],
    actor: str,
    created: str | None = None,
) -> Event:
    """Append one event to an audit's log, chained to the last one.

    Takes the audit row's lock first (``SELECT ... FOR UPDATE``; SQLite already
    holds the database's write lock, see :mod:`tallyguard.store.db`), so two
    commands appending to the same audit at once get consecutive ``seq``
    numbers instead of a fork of the chain.

    Args:
        session: The command's session; the event commits or rolls back with it.
        audit_id: The audit's id.
        type: One of :data:`EVENT_TYPES`.
        payload: A JSON object (stored as canonical JSON text).
        actor: Who did it.
        created: ISO 8601 timestamp; default now, in UTC, to the second.

    Returns:
        The new (flushed) event row.

    Raises:
        ValueError: Unknown ``type``, no such audit, or a payload that is not
            a JSON object.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}; known: {', '.join(EVENT_TYPES)}")
    if not isinstance(payload, Mapping):
        raise ValueError("an event payload must be a JSON object (a mapping)")
    payload_text = canonical_json(dict(payload)).decode("utf-8")
    if lock_audit(session, audit_id) is None:
        raise ValueError(f"no audit with id {audit_id}")
    last = session.execute(
        select(Event.seq, Event.hash)
        .where(Event.audit_id == audit_id)
        .order_by(Event.seq.desc())
        .limit(1)
    ).one_or_none()
    seq, prev_hash = (1, GENESIS) if last is None else (last.seq + 1, last.hash)
    when = created if created is not None else utc_now()
    row = Event(
        audit_id=audit_id,
        seq=seq,
        type=type,
        actor=actor,
        created=when,
        payload=payload_text,
        prev_hash=prev_hash,
        hash=event_hash(prev_hash, seq, type, actor, when, payload_text),
    )
    session.add(row)
    session.flush()
    return row


def _record(row: Event) -> ChainRecord:
    try:
        payload = parse_strict(row.payload.encode("utf-8"))
    except ValueError as error:
        payload = {"<unreadable payload>": f"{error}: {row.payload[:200]}"}
    if not isinstance(payload, dict):
        payload = {"<payload is not an object>": payload}
    return ChainRecord(
        seq=row.seq,
        type=row.type,
        actor=row.actor,
        created=row.created,
        payload=payload,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def load_chain(session: Session, audit_id: int) -> list[ChainRecord]:
    """Return an audit's events in ``seq`` order, as exported and verified.

    A payload that is not valid JSON (only possible if a row was edited by
    hand) is kept as a placeholder object, so the chain still loads and
    :func:`~tallyguard.evidence.chain.verify_chain` reports that event.

    Args:
        session: An open session.
        audit_id: The audit's id.

    Returns:
        The events, first to last.
    """
    rows = session.scalars(select(Event).where(Event.audit_id == audit_id).order_by(Event.seq))
    return [_record(row) for row in rows]


def verify_log(session: Session, audit_id: int) -> list[str]:
    """Check an audit's event log in the database; empty when intact.

    Args:
        session: An open session.
        audit_id: The audit's id.

    Returns:
        One human-readable problem per broken link or edited event, each naming its ``seq``.
    """
    return verify_chain(load_chain(session, audit_id))
