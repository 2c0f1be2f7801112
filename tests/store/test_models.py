"""The tables: every value round-trips, constraints hold on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tallyguard.store.db import Store
from tallyguard.store.models import (
    Audit,
    Batch,
    BatchTally,
    Contest,
    Cvr,
    Event,
    InputFile,
    Interpretation,
    Jurisdiction,
    Round,
)
from tests.store.conftest import TABLES, Ids, counts, populate, snapshot


def test_every_table_round_trips(store: Store) -> None:
    with store.transaction() as session:
        ids = populate(session)
        written = snapshot(session)
    assert all(written[cls.__tablename__] for cls in TABLES), "populate fills every table"
    with store.transaction() as session:
        assert snapshot(session) == written
        contest = session.get_one(Contest, ids.contest)
        assert contest.choices == ["Alice", "Bob", "Zoë"]
        assert contest.totals == {"Alice": 3, "Bob": 1, "Zoë": 1}
        assert contest.share_to_win is None
        assert contest.targeted is True
        cvrs = session.scalars(select(Cvr).order_by(Cvr.position)).all()
        assert [c.votes for c in cvrs] == [
            {"Governor": ["Alice"]},
            {"Governor": [], "Measure": ["Yes", "No"]},
        ]
        assert [c.imprinted_id for c in cvrs] == ["1-1-1", None]
        audit = session.get_one(Audit, ids.audit)
        assert (audit.risk_limit, audit.seed, audit.status) == (0.05, None, "setup")
        batches = session.scalars(select(Batch).order_by(Batch.ordinal)).all()
        assert [(b.tabulator, b.container) for b in batches] == [("T1", "Box 1"), ("", None)]
        readings = session.scalars(select(Interpretation).order_by(Interpretation.position))
        assert [(r.votes, r.comment, r.board) for r in readings] == [
            ({"Alice": 1, "Bob": 1}, "", ""),
            (None, "faint mark", "Board 1"),
        ]
        assert session.get_one(Round, 1).finished is False


def _add(session: Session, row: Any) -> None:
    session.add(row)
    session.flush()


Duplicate = Callable[[Session, Ids], Any]
DUPLICATES: dict[str, Duplicate] = {
    "audit name": lambda s, i: Audit(
        name="County audit", election="x", kind="polling", risk_limit=0.1, method="alpha"
    ),
    "jurisdiction in an audit": lambda s, i: Jurisdiction(audit_id=i.audit, name="Ağrı County"),
    "batch in a jurisdiction": lambda s, i: Batch(
        audit_id=i.audit,
        jurisdiction_id=i.jurisdiction,
        ordinal=9,
        tabulator="T1",
        batch_name="B-001",
        num_ballots=7,
    ),
    "batch without tabulator": lambda s, i: Batch(
        audit_id=i.audit,
        jurisdiction_id=i.jurisdiction,
        ordinal=9,
        batch_name="B-002",
        num_ballots=7,
    ),
    "cvr position": lambda s, i: Cvr(
        audit_id=i.audit, batch_id=i.batch, position=2, cvr_id="other", votes={}
    ),
    "batch tally choice": lambda s, i: BatchTally(
        audit_id=i.audit, batch_id=i.batch, choice="Zoë", votes=5
    ),
    "contest name": lambda s, i: Contest(
        audit_id=i.audit,
        contest_id="gov2",
        name="Governor",
        kind="plurality",
        choices=[],
        num_winners=1,
        votes_allowed=1,
        ballots=0,
        totals={},
        winners=[],
        targeted=False,
    ),
    "round number": lambda s, i: Round(audit_id=i.audit, number=1, sample_size=20),
    "reading of a card": lambda s, i: Interpretation(
        audit_id=i.audit,
        batch_id=i.batch,
        position=1,
        contest_id=i.contest,
        result="blank",
        choices=[],
    ),
    "input file of a jurisdiction": lambda s, i: InputFile(
        audit_id=i.audit,
        jurisdiction_id=i.jurisdiction,
        role="manifest",
        filename="m2.csv",
        format="arlo",
        sha256="ef" * 32,
        size=1,
        records=1,
    ),
    "audit-wide input file": lambda s, i: InputFile(
        audit_id=i.audit,
        jurisdiction_id=None,
        role="contests",
        filename="c2.json",
        format="json",
        sha256="ef" * 32,
        size=1,
        records=1,
    ),
    "event seq": lambda s, i: Event(
        audit_id=i.audit,
        seq=2,
        type="seed.set",
        actor="x",
        created="c",
        payload="{}",
        prev_hash="0" * 64,
        hash="1" * 64,
    ),
}


@pytest.mark.parametrize("what", sorted(DUPLICATES))
def test_duplicates_are_rejected_and_roll_back(store: Store, what: str) -> None:
    with store.transaction() as session:
        ids = populate(session)
        before = snapshot(session)

    def write_duplicate() -> None:
        with store.transaction() as session:
            session.add(Round(audit_id=ids.audit, number=7, sample_size=1))  # also rolled back
            _add(session, DUPLICATES[what](session, ids))

    with pytest.raises(IntegrityError):
        write_duplicate()
    with store.transaction() as session:
        assert snapshot(session) == before


def test_the_same_batch_name_is_fine_elsewhere(store: Store) -> None:
    with store.transaction() as session:
        ids = populate(session)
        second = Jurisdiction(audit_id=ids.audit, name="Second County")
        _add(session, second)
        for jurisdiction, tabulator in ((second.id, "T1"), (ids.jurisdiction, "T2")):
            _add(
                session,
                Batch(
                    audit_id=ids.audit,
                    jurisdiction_id=jurisdiction,
                    ordinal=5,
                    tabulator=tabulator,
                    batch_name="B-001",
                    num_ballots=1,
                ),
            )
        other = populate(session, name="Another audit")  # same names, another audit
    with store.transaction() as session:
        names = session.scalars(select(Batch.batch_name).where(Batch.audit_id == ids.audit))
        assert sorted(names) == ["B-001", "B-001", "B-001", "B-002"]
        assert counts(session)["audit"] == 2
        assert other.audit != ids.audit


@pytest.mark.parametrize(
    "row",
    [
        lambda i: Batch(
            audit_id=i.audit, jurisdiction_id=10_000, ordinal=0, batch_name="X", num_ballots=1
        ),
        lambda i: Cvr(audit_id=i.audit, batch_id=10_000, position=1, cvr_id="x", votes={}),
        lambda i: Event(
            audit_id=10_000,
            seq=1,
            type="seed.set",
            actor="x",
            created="c",
            payload="{}",
            prev_hash="0" * 64,
            hash="1" * 64,
        ),
    ],
    ids=["batch", "cvr", "event"],
)
def test_foreign_keys_are_enforced(store: Store, row: Callable[[Ids], Any]) -> None:
    with store.transaction() as session:
        ids = populate(session)
    with pytest.raises(IntegrityError), store.transaction() as session:
        _add(session, row(ids))


NOT_NULL: dict[str, Callable[[Ids], Any]] = {
    "audit.name": lambda i: Audit(
        name=None, election="x", kind="polling", risk_limit=0.1, method="alpha"
    ),
    "batch.batch_name": lambda i: Batch(
        audit_id=i.audit,
        jurisdiction_id=i.jurisdiction,
        ordinal=3,
        batch_name=None,
        num_ballots=1,
    ),
    "cvr.cvr_id": lambda i: Cvr(
        audit_id=i.audit, batch_id=i.batch, position=9, cvr_id=None, votes={}
    ),
    "contest.targeted": lambda i: Contest(
        audit_id=i.audit,
        contest_id="m",
        name="Measure",
        kind="plurality",
        choices=[],
        num_winners=1,
        votes_allowed=1,
        ballots=0,
        totals={},
        winners=[],
        targeted=None,
    ),
    "event.hash": lambda i: Event(
        audit_id=i.audit,
        seq=99,
        type="seed.set",
        actor="x",
        created="c",
        payload="{}",
        prev_hash="0" * 64,
        hash=None,
    ),
}


@pytest.mark.parametrize("column", sorted(NOT_NULL))
def test_required_columns_are_not_null(store: Store, column: str) -> None:
    with store.transaction() as session:
        ids = populate(session)
    with pytest.raises(IntegrityError) as caught, store.transaction() as session:
        _add(session, NOT_NULL[column](ids))
    message = str(caught.value.orig).lower()
    assert "null" in message
    assert column.split(".")[1] in message


def test_deleting_an_audit_deletes_everything_of_it(store: Store) -> None:
    with store.transaction() as session:
        keep = populate(session, name="Kept")
        kept = snapshot(session)
        gone = populate(session, name="Deleted")
    with store.transaction() as session:
        session.execute(delete(Audit).where(Audit.id == gone.audit))
    with store.transaction() as session:
        assert snapshot(session) == kept
        assert session.get(Audit, keep.audit) is not None
