"""A store per test (SQLite file or PostgreSQL schema) and an audit with one row of everything."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tallyguard.store import accounts
from tallyguard.store.db import Store
from tallyguard.store.events import append_event
from tallyguard.store.models import (
    Audit,
    Base,
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

CREATED = "2024-11-05T20:00:00+00:00"
TABLES = [mapper.class_ for mapper in Base.registry.mappers]


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store.open(db_url) as opened:
        yield opened


@dataclass(frozen=True)
class Ids:
    audit: int
    jurisdiction: int
    batch: int
    contest: int


def populate(session: Session, name: str = "County audit") -> Ids:
    """One row in every table, with awkward values (non-ASCII, JSON, None, floats)."""
    audit = Audit(
        name=name, election="General 2024", kind="comparison", risk_limit=0.05, method="alpha"
    )
    session.add(audit)
    session.flush()
    append_event(session, audit.id, "audit.created", {"name": name, "risk_limit": 0.05}, "ann")
    county = Jurisdiction(audit_id=audit.id, name="Ağrı County")
    session.add(county)
    session.flush()
    append_event(session, audit.id, "jurisdiction.added", {"jurisdiction": county.name}, "ann")
    session.add_all(
        [
            InputFile(audit_id=audit.id, jurisdiction_id=county.id, role="manifest",
                      filename="manifest.csv", format="arlo", sha256="ab" * 32, size=120,
                      records=2),
            InputFile(audit_id=audit.id, jurisdiction_id=None, role="contests",
                      filename="contests.json", format="json", sha256="cd" * 32, size=80,
                      records=1),
        ]
    )  # fmt: skip
    batch = Batch(audit_id=audit.id, jurisdiction_id=county.id, ordinal=0, tabulator="T1",
                  batch_name="B-001", num_ballots=3, container="Box 1")  # fmt: skip
    other = Batch(audit_id=audit.id, jurisdiction_id=county.id, ordinal=1, batch_name="B-002",
                  num_ballots=2)  # fmt: skip
    contest = Contest(audit_id=audit.id, contest_id="gov", name="Governor", kind="plurality",
                      choices=["Alice", "Bob", "Zoë"], num_winners=1, votes_allowed=1,
                      share_to_win=None, ballots=5, totals={"Alice": 3, "Bob": 1, "Zoë": 1},
                      winners=["Alice"], targeted=True)  # fmt: skip
    session.add_all([batch, other, contest])
    session.flush()
    session.add_all(
        [
            Cvr(audit_id=audit.id, batch_id=batch.id, position=1, cvr_id="1-1-1",
                imprinted_id="1-1-1", votes={"Governor": ["Alice"]}),
            Cvr(audit_id=audit.id, batch_id=batch.id, position=2, cvr_id="1-1-2",
                votes={"Governor": [], "Measure": ["Yes", "No"]}),
            BatchTally(audit_id=audit.id, batch_id=batch.id, choice="Alice", votes=2),
            BatchTally(audit_id=audit.id, batch_id=batch.id, choice="Zoë", votes=1),
            Round(audit_id=audit.id, number=1, sample_size=12),
            Interpretation(audit_id=audit.id, batch_id=batch.id, position=1,
                           contest_id=contest.id, result="vote", choices=["Alice"],
                           comment="faint mark", board="Board 1"),
            Interpretation(audit_id=audit.id, batch_id=other.id, position=0,
                           contest_id=contest.id, result="vote", choices=[],
                           votes={"Alice": 1, "Bob": 1}),
        ]
    )  # fmt: skip
    append_event(session, audit.id, "seed.set", {"seed": "01234567890123456789"}, "bob")
    argon = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"
    when = "2024-11-05T20:00:00+00:00"
    manager = accounts.User(email=f"zoë.{audit.id}@example.org", role="manager",
                            audit_id=audit.id, jurisdiction=county.name, password_hash=argon,
                            failed_logins=2, locked_until="2024-11-05T20:15:00+00:00",
                            created=when)  # fmt: skip
    board = accounts.AuditBoard(audit_id=audit.id, jurisdiction=county.name, name="Board 1",
                                member_1="Ann", member_2="Ağrı Bob",
                                join_token_sha256=f"{audit.id:064x}", passphrase_hash=argon,
                                token_used=False, failed_joins=0, created=when)  # fmt: skip
    session.add_all([manager, board])
    session.flush()
    session.add(accounts.WebSession(token_sha256=f"{board.id:064x}", user_id=None,
                                    board_id=board.id, csrf_token="c" * 43, created=when,
                                    last_seen="2024-11-05T20:10:00+00:00"))  # fmt: skip
    session.flush()
    return Ids(audit.id, county.id, batch.id, contest.id)


def row_values(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def snapshot(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, by table, in id order."""
    return {
        cls.__tablename__: [
            row_values(row) for row in session.scalars(select(cls).order_by(cls.id))
        ]
        for cls in TABLES
    }


def counts(session: Session) -> dict[str, int]:
    return {
        cls.__tablename__: session.scalar(select(func.count()).select_from(cls)) or 0
        for cls in TABLES
    }


def event_count(session: Session, audit_id: int) -> int:
    return session.scalar(select(func.count()).where(Event.audit_id == audit_id)) or 0
