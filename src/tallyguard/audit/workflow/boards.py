"""Recording one sampled card at a time, as audit boards do at a retrieval table.

:func:`record_readings` takes a whole file of readings; an audit board working
through its retrieval list records one card at a time instead, and dozens of
boards do so at once. :func:`record_card` stores what one board saw on one
sampled card of the open round (an interpretation per contest) and appends one
``readings.recorded`` event to the audit's hash-chained log, in the caller's
transaction. It is

* **idempotent**: a submission equal to what the store already holds for the
  card changes nothing and appends no event (outcome ``"unchanged"``), so a
  double click or a retried request records the card once;
* **a correction** when it differs: the submitted contests replace the stored
  ones and one event records the new values (outcome ``"corrected"``); a card
  seen for the first time is ``"recorded"``;
* **serialised per audit**: it first locks the audit's row (``SELECT ... FOR
  UPDATE`` on PostgreSQL; an SQLite transaction holds the database's write lock
  from its ``BEGIN IMMEDIATE``, see :mod:`tallyguard.store.db`), so the
  compare-and-write of the card and the event's ``seq`` see every earlier
  board's committed work, and the log never forks.

:func:`record_card_with_retry` runs it in a transaction of its own and retries
(a bounded number of times, with jittered back-off) when the database reports a
conflict that a fresh transaction resolves: a unique-constraint violation (a
file of readings recorded at the same moment without the lock), a serialisation
failure or a deadlock (a server configured for ``REPEATABLE READ`` or
``SERIALIZABLE``), or SQLite's "database is locked".

The event's payload carries ``readings`` rows in the exact form
:func:`~tallyguard.audit.workflow.rounds.record_readings` writes them
(``[jurisdiction, tabulator, batch, position, contest, interpretation,
comment]``), so :func:`~tallyguard.audit.workflow.export.check_log` replays
the log onto the table as before; instead of a file name and digest it names
the board, the card and the outcome.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session

from tallyguard.audit.workflow.inputs import RESULTS, CardKey, ReadingResult
from tallyguard.audit.workflow.retrieval import sample_of
from tallyguard.audit.workflow.state import close_hint, find_audit, require_status
from tallyguard.errors import InputError
from tallyguard.io.readings import interpretation_text
from tallyguard.store.db import FIELD as DB_FIELD
from tallyguard.store.db import Store
from tallyguard.store.events import append_event, lock_audit
from tallyguard.store.models import (
    Audit,
    Batch,
    Contest,
    Interpretation,
    Jurisdiction,
    Round,
)

Outcome = Literal["recorded", "unchanged", "corrected"]

#: Attempts :func:`record_card_with_retry` makes by default.
DEFAULT_ATTEMPTS = 5
#: First back-off after a conflict, in seconds (doubled each attempt, jittered, capped).
BACKOFF_S = 0.005
BACKOFF_CAP_S = 0.25
#: PostgreSQL SQLSTATEs a fresh transaction may resolve: serialization_failure,
#: deadlock_detected, lock_not_available, unique_violation.
_RETRY_SQLSTATES = frozenset({"40001", "40P01", "55P03", "23505"})


@dataclass(frozen=True)
class CardInterpretation:
    """What a board saw for one contest on one card.

    Attributes:
        result: ``vote`` (``choices`` lists the marked choices), ``blank``,
            ``overvote``, ``not_found`` (the card could not be retrieved; it then
            counts as not found for every contest) or ``not_on_card`` (the card's
            style lacks the contest).
        choices: the marked choices when ``result`` is ``vote``, else empty. They
            are stored in the contest's order of choices, so the same marks in
            another order are the same interpretation.
        comment: the board's note (leading and trailing spaces are dropped).
    """

    result: ReadingResult
    choices: tuple[str, ...] = ()
    comment: str = ""


@dataclass(frozen=True)
class RecordOutcome:
    """What :func:`record_card` did.

    Attributes:
        outcome: ``recorded`` (first interpretation of the card), ``corrected``
            (it replaced a different one) or ``unchanged`` (the store already held
            exactly this; nothing was written).
        card: the card.
        round: the open round the card was drawn in.
        seq: the ``seq`` of the appended ``readings.recorded`` event; ``None``
            when unchanged.
        attempts: transactions it took (1 unless :func:`record_card_with_retry`
            had to retry).
    """

    outcome: Outcome
    card: CardKey
    round: int
    seq: int | None
    attempts: int = 1


@dataclass(frozen=True)
class _Checked:
    contest_id: int
    contest: str
    result: str
    choices: tuple[str, ...]
    comment: str

    def value(self) -> tuple[str, tuple[str, ...], str]:
        return (self.result, self.choices, self.comment)


# --- validation -------------------------------------------------------------------------


def _check_board(board: str, actor: str) -> None:
    if not isinstance(board, str) or not board.strip():
        raise InputError(
            "the audit board is not named.", field="board", fix="give the board's name."
        )
    if not isinstance(actor, str) or not actor.strip():
        raise InputError("the actor is not named.", field="actor", fix="give who records it.")


def _check_card(card: CardKey) -> None:
    if not isinstance(card, CardKey):
        raise InputError(
            f"{card!r} is not a card.",
            field="card",
            fix="name the card by jurisdiction, tabulator, batch and position.",
        )
    if isinstance(card.position, bool) or not isinstance(card.position, int) or card.position < 1:
        raise InputError(
            f"ballot position {card.position!r} is not a position in a batch.",
            field="card",
            fix="copy the position (1 or more) from the retrieval list.",
        )


def _contest_rows(session: Session, audit: Audit) -> list[Contest]:
    query = select(Contest).where(Contest.audit_id == audit.id).order_by(Contest.id)
    return list(session.scalars(query))


def _check_interpretations(
    interpretations: Mapping[str, CardInterpretation], contests: Sequence[Contest]
) -> list[_Checked]:
    """The submission, checked against the audit's contests, in the contests' order."""
    if not isinstance(interpretations, Mapping) or not interpretations:
        raise InputError(
            "no contest is interpreted.",
            field="interpretations",
            fix="give an interpretation for every contest of the audit.",
        )
    by_name = {c.name: c for c in contests}
    folded = {c.name.casefold(): c for c in contests}
    found: dict[int, _Checked] = {}
    for given, item in interpretations.items():
        row = by_name.get(given) if isinstance(given, str) else None
        if row is None and isinstance(given, str):
            row = folded.get(given.strip().casefold())
        if row is None:
            raise InputError(
                f"{given!r} is not a contest of this audit.",
                field="contest",
                fix=close_hint(str(given), by_name),
            )
        if row.id in found:
            raise InputError(
                f"contest {row.name!r} is interpreted twice.",
                field="contest",
                fix="give each contest once.",
            )
        found[row.id] = _check_one(row, item)
    missing = [c.name for c in contests if c.id not in found]
    if missing and not any(c.result == "not_found" for c in found.values()):
        raise InputError(
            f"contest {missing[0]!r} has no interpretation "
            f"({len(missing)} of {len(contests)} contests are missing).",
            field="contest",
            fix="interpret every contest on the card: NOT ON CARD where the card lacks it, "
            "NOT FOUND when the card could not be retrieved.",
        )
    return [found[c.id] for c in contests if c.id in found]


def _check_one(contest: Contest, item: CardInterpretation) -> _Checked:
    if not isinstance(item, CardInterpretation):
        raise InputError(
            f"the interpretation of {contest.name!r} is {item!r}.",
            field="interpretations",
            fix="give a CardInterpretation(result, choices, comment) per contest.",
        )
    if item.result not in RESULTS:
        raise InputError(
            f"{item.result!r} is not a result a board can record for {contest.name!r}.",
            field="result",
            fix=f"use one of: {', '.join(RESULTS)}.",
        )
    if isinstance(item.choices, str) or not all(isinstance(c, str) for c in item.choices):
        raise InputError(
            f"the choices of {contest.name!r} are {item.choices!r}, not a list of names.",
            field="choices",
            fix="give the marked choices as a tuple of names.",
        )
    if not isinstance(item.comment, str):
        raise InputError(
            f"the comment on {contest.name!r} is {item.comment!r}, not text.",
            field="comment",
            fix="give the comment as text (empty for none).",
        )
    known = [str(c) for c in contest.choices]
    if item.result != "vote":
        if item.choices:
            raise InputError(
                f"{contest.name!r} is recorded as {item.result!r} but lists choices.",
                field="choices",
                fix="list choices only with result 'vote'.",
            )
        return _Checked(contest.id, contest.name, item.result, (), item.comment.strip())
    if not item.choices:
        raise InputError(
            f"{contest.name!r} is recorded as a vote for no choice.",
            field="choices",
            fix="list the marked choices, or record result 'blank'.",
        )
    lookup = {c.casefold(): c for c in known}
    marked: set[str] = set()
    for choice in item.choices:
        name = lookup.get(choice.strip().casefold())
        if name is None:
            raise InputError(
                f"{choice!r} is not a choice of {contest.name!r}.",
                field="choices",
                fix=close_hint(choice, known),
            )
        if name in marked:
            raise InputError(
                f"{name!r} is listed twice for {contest.name!r}.",
                field="choices",
                fix="list each marked choice once.",
            )
        marked.add(name)
    ordered = tuple(c for c in known if c in marked)
    return _Checked(contest.id, contest.name, "vote", ordered, item.comment.strip())


def _batch_id(session: Session, audit: Audit, card: CardKey) -> int:
    query = (
        select(Batch.id)
        .join(Jurisdiction, Jurisdiction.id == Batch.jurisdiction_id)
        .where(
            Batch.audit_id == audit.id,
            Jurisdiction.name == card.jurisdiction,
            Batch.tabulator == card.tabulator,
            Batch.batch_name == card.batch_name,
        )
    )
    found = session.scalars(query).one_or_none()
    if found is None:
        raise InputError(
            f"{_label(card)} is not a batch of the manifest.",
            field="card",
            fix="copy the jurisdiction, tabulator and batch from the retrieval list.",
        )
    return found


def _label(card: CardKey) -> str:
    batch = f"{card.tabulator} / {card.batch_name}" if card.tabulator else card.batch_name
    return f"{card.jurisdiction}, batch {batch}, position {card.position}"


# --- recording --------------------------------------------------------------------------


def record_card(
    session: Session,
    audit: Audit,
    *,
    board: str,
    card: CardKey,
    interpretations: Mapping[str, CardInterpretation],
    actor: str,
) -> RecordOutcome:
    """Record what a board saw on one sampled card of the open round.

    Runs inside the caller's transaction (:meth:`tallyguard.store.db.Store.transaction`);
    for a transaction of its own with retries, use :func:`record_card_with_retry`.

    Args:
        session: The transaction's session.
        audit: The audit (in state ``sampling``, with a round open). Its row is
            locked until the transaction ends.
        board: The audit board, stored with each interpretation.
        card: The sampled card (``position`` 1 or more).
        interpretations: Contest name -> what the board saw. Every contest of the
            audit must be present, unless the card is recorded ``not_found`` (then
            one contest suffices). Names and choices match ignoring case.
        actor: Who records it, for the event log.

    Returns:
        The outcome; see :class:`RecordOutcome`.

    Raises:
        InputError: naming the field at fault (``board``, ``card``, ``contest``,
            ``result``, ``choices``, ``comment``, ``interpretations``, ``round``,
            ``audit``): the audit is not sampling or is a batch audit, no round is
            open, the card is not in the manifest or the sample or was drawn in a
            finished round, or a contest, result or choice is unknown.
    """
    _check_board(board, actor)
    _check_card(card)
    if audit.kind == "batch":
        raise InputError(
            f"audit {audit.name!r} is a batch audit: boards count whole batches, not cards.",
            field="audit",
            fix="record a batch's hand tally with: tallyguard audit record FILE.",
        )
    # Frozen once the seed is set (checked below, under the lock): read before locking.
    checked = _check_interpretations(interpretations, _contest_rows(session, audit))
    batch_id = _batch_id(session, audit, card)
    # From here on, one board at a time per audit.
    locked = lock_audit(session, audit.id)
    assert locked is not None  # the caller holds the audit
    require_status(locked, "sampling", doing="record a card")
    # populate_existing: rows this session read before the lock may be stale by now.
    rounds = list(
        session.scalars(
            select(Round)
            .where(Round.audit_id == audit.id)
            .order_by(Round.number)
            .execution_options(populate_existing=True)
        )
    )
    if not rounds or rounds[-1].finished:
        raise InputError(
            "no round is open.",
            field="round",
            fix="start one: tallyguard audit draw --size N.",
        )
    current = rounds[-1].number
    drawn = sample_of(session, locked, tuple(r.sample_size for r in rounds)).rounds.get(card)
    if drawn is None:
        raise InputError(
            f"{_label(card)} is not in the sample.",
            field="card",
            fix="record only the cards of the retrieval list.",
        )
    if drawn != current:
        raise InputError(
            f"{_label(card)} was drawn in round {drawn}, which is finished.",
            field="card",
            fix="readings of a finished round cannot change.",
        )
    stored = {
        row.contest_id: row
        for row in session.scalars(
            select(Interpretation)
            .where(
                Interpretation.audit_id == audit.id,
                Interpretation.batch_id == batch_id,
                Interpretation.position == card.position,
            )
            .execution_options(populate_existing=True)
        )
    }
    changed = [
        c
        for c in checked
        if c.contest_id not in stored or _value(stored[c.contest_id]) != c.value()
    ]
    if not changed:
        return RecordOutcome("unchanged", card, current, None)
    outcome: Outcome = "corrected" if any(c.contest_id in stored for c in checked) else "recorded"
    for c in changed:
        row = stored.get(c.contest_id)
        if row is None:
            session.add(
                Interpretation(
                    audit_id=audit.id,
                    batch_id=batch_id,
                    position=card.position,
                    contest_id=c.contest_id,
                    result=c.result,
                    choices=list(c.choices),
                    votes=None,
                    comment=c.comment,
                    board=board,
                )
            )
        else:
            row.result, row.choices, row.votes = c.result, list(c.choices), None
            row.comment, row.board = c.comment, board
    session.flush()
    where = [card.jurisdiction, card.tabulator, card.batch_name, card.position]
    payload: dict[str, Any] = {
        "round": current,
        "board": board,
        "card": where,
        "outcome": outcome,
        "readings": [
            [*where, c.contest, interpretation_text(c.result, c.choices), c.comment]
            for c in checked
        ],
    }
    event = append_event(session, audit.id, "readings.recorded", payload, actor)
    return RecordOutcome(outcome, card, current, event.seq)


def _value(row: Interpretation) -> tuple[str, tuple[str, ...], str] | None:
    if row.votes is not None:
        return None
    return (row.result, tuple(str(c) for c in row.choices), row.comment)


def stored_card(session: Session, audit: Audit, card: CardKey) -> dict[str, CardInterpretation]:
    """What the store holds for one card: contest name -> interpretation (empty if none)."""
    query = select(Contest.id, Contest.name).where(Contest.audit_id == audit.id)
    names = dict(session.execute(query).all())
    _check_card(card)
    batch_id = _batch_id(session, audit, card)
    rows = session.scalars(
        select(Interpretation)
        .where(
            Interpretation.audit_id == audit.id,
            Interpretation.batch_id == batch_id,
            Interpretation.position == card.position,
        )
        .order_by(Interpretation.contest_id)
    )
    return {
        names[row.contest_id]: CardInterpretation(
            row.result,  # type: ignore[arg-type]
            tuple(str(c) for c in row.choices),
            row.comment,
        )
        for row in rows
    }


# --- a transaction per attempt ----------------------------------------------------------


def is_transient(error: BaseException) -> bool:
    """Would the same work succeed in a fresh transaction (a conflict, not a fault)?

    True for a unique-constraint violation, a serialisation failure, a deadlock
    or a lock timeout on PostgreSQL, and for SQLite's "database is locked" and
    unique-constraint errors.
    """
    if not isinstance(error, DBAPIError) or error.orig is None:
        return False
    state = getattr(error.orig, "sqlstate", None)
    if state is not None:
        return state in _RETRY_SQLSTATES
    text = str(error.orig).lower()
    if isinstance(error, IntegrityError):
        return text.startswith("unique constraint failed")
    if isinstance(error, OperationalError):
        return "database is locked" in text or "database table is locked" in text
    return False


def record_card_with_retry(
    store: Store,
    audit_name: str,
    *,
    board: str,
    card: CardKey,
    interpretations: Mapping[str, CardInterpretation],
    actor: str,
    attempts: int = DEFAULT_ATTEMPTS,
) -> RecordOutcome:
    """:func:`record_card` in a transaction of its own, retried on transient conflicts.

    Each attempt opens a session on ``store``'s engine, records the card and
    commits; when the database reports a conflict that a fresh transaction
    resolves (:func:`is_transient`), it rolls back, waits a short jittered,
    doubling time and tries again, at most ``attempts`` times. When it returns,
    the card is committed (or was already stored exactly so).

    Args:
        store: The open store.
        audit_name: The audit's name.
        board, card, interpretations, actor: As for :func:`record_card`.
        attempts: Transactions to try at most (1 or more).

    Returns:
        The outcome of the attempt that committed; ``attempts`` says which one.

    Raises:
        InputError: A bad submission (as :func:`record_card`, never retried), or
            the database failing, no connection free in the store's pool, or still
            conflicting after ``attempts`` tries (field ``--db``).
    """
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise InputError(
            f"{attempts!r} attempts is not a number of tries.",
            field="attempts",
            fix="give 1 or more.",
        )
    last: DBAPIError | None = None
    for attempt in range(1, attempts + 1):
        try:
            with Session(store.engine, expire_on_commit=False) as session, session.begin():
                audit = find_audit(session, audit_name)
                result = record_card(
                    session,
                    audit,
                    board=board,
                    card=card,
                    interpretations=interpretations,
                    actor=actor,
                )
        except PoolTimeoutError:
            raise InputError(
                f"every connection to the database {store.url} stayed busy, so "
                f"{_label(card)} was not recorded.",
                field=DB_FIELD,
                fix="record the card again; serve fewer requests at once than the store's "
                "connection pool holds, or give it a larger pool.",
            ) from None
        except DBAPIError as error:
            if not is_transient(error):
                raise InputError(
                    f"the database {store.url} failed while recording {_label(card)}, which "
                    f"was rolled back ({_reason(error)}).",
                    field=DB_FIELD,
                    fix="record the card again; if it fails again, check the database.",
                ) from None
            last = error
            if attempt < attempts:
                cap = min(BACKOFF_CAP_S, BACKOFF_S * 2 ** (attempt - 1))
                time.sleep(random.uniform(cap / 2, cap))  # jitter only
            continue
        return RecordOutcome(result.outcome, result.card, result.round, result.seq, attempt)
    assert last is not None
    raise InputError(
        f"{_label(card)} could not be recorded: the database reported a conflict "
        f"{attempts} times in a row ({_reason(last)}).",
        field=DB_FIELD,
        fix="record the card again in a moment.",
    )


def _reason(error: DBAPIError) -> str:
    cause: BaseException = error.orig if error.orig is not None else error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__
