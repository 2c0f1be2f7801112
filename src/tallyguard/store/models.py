"""The tables of an audit (SQLAlchemy 2 declarative models).

The store keeps the inputs of every audit (manifests, CVRs, batch tallies,
contests, the seed, round sizes and what audit boards recorded) and its
append-only event log. Samples and risks are *not* stored: they are re-derived
from the inputs by the pure functions of :mod:`tallyguard.audit.workflow`, the
same way an observer re-derives them from an export.

Conventions: every table carries ``audit_id``; names of things are ``String``
without a length limit that SQLite would ignore anyway (``Text``); choice lists
and totals are JSON; a tabulator that a manifest does not name is ``""`` so that
the unique constraints hold on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Deterministic constraint names, so Alembic migrations can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Audit(Base):
    """One audit: its settings, public seed and state."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    election: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)  # polling | comparison | batch
    risk_limit: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(Text)  # risk function (audit.risk.METHODS or batch)
    seed: Mapped[str | None] = mapped_column(Text, default=None)  # set once; freezes inputs
    status: Mapped[str] = mapped_column(Text, default="setup")
    # setup -> sampling -> (hand_count) -> finished


class Jurisdiction(Base):
    __tablename__ = "jurisdiction"
    __table_args__ = (UniqueConstraint("audit_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)


class InputFile(Base):
    """A file an official loaded: what it was and its SHA-256 (the content is in the rows)."""

    __tablename__ = "input_file"
    __table_args__ = (
        UniqueConstraint("audit_id", "jurisdiction_id", "role"),
        # NULLs are distinct in a unique constraint, so audit-wide files (no
        # jurisdiction) need their own partial unique index.
        Index(
            "uq_input_file_audit_id_role_audit_wide",
            "audit_id",
            "role",
            unique=True,
            sqlite_where=text("jurisdiction_id IS NULL"),
            postgresql_where=text("jurisdiction_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"))
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdiction.id", ondelete="CASCADE"), default=None
    )
    role: Mapped[str] = mapped_column(Text)  # manifest | cvrs | batch_tallies | contests
    filename: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(Integer)


class Batch(Base):
    """One manifest row: a batch of ballot cards in a container."""

    __tablename__ = "batch"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "tabulator", "batch_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)  # row order within the jurisdiction's manifest
    tabulator: Mapped[str] = mapped_column(Text, default="")
    batch_name: Mapped[str] = mapped_column(Text)
    num_ballots: Mapped[int] = mapped_column(Integer)
    container: Mapped[str | None] = mapped_column(Text, default=None)


class Cvr(Base):
    """A cast vote record, placed in its manifest batch at a 1-based position."""

    __tablename__ = "cvr"
    __table_args__ = (UniqueConstraint("batch_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    cvr_id: Mapped[str] = mapped_column(Text)
    imprinted_id: Mapped[str | None] = mapped_column(Text, default=None)
    votes: Mapped[dict[str, Any]] = mapped_column(JSON)  # contest name -> [choice, ...]


class BatchTally(Base):
    """A batch's reported votes for one choice (batch-comparison audits)."""

    __tablename__ = "batch_tally"
    __table_args__ = (UniqueConstraint("batch_id", "choice"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"))
    choice: Mapped[str] = mapped_column(Text)
    votes: Mapped[int] = mapped_column(Integer)


class Contest(Base):
    """A contest under audit, with its reported results."""

    __tablename__ = "contest"
    __table_args__ = (UniqueConstraint("audit_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"))
    contest_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[Any]] = mapped_column(JSON)
    num_winners: Mapped[int] = mapped_column(Integer)
    votes_allowed: Mapped[int] = mapped_column(Integer)
    share_to_win: Mapped[float | None] = mapped_column(Float, default=None)
    ballots: Mapped[int] = mapped_column(Integer)  # cards carrying the contest, as reported
    totals: Mapped[dict[str, Any]] = mapped_column(JSON)
    winners: Mapped[list[Any]] = mapped_column(JSON)
    targeted: Mapped[bool] = mapped_column(Boolean)


class Round(Base):
    """A round: the sample is the first ``sample_size`` draws in ticket order (cumulative)."""

    __tablename__ = "round"
    __table_args__ = (UniqueConstraint("audit_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    sample_size: Mapped[int] = mapped_column(Integer)
    finished: Mapped[bool] = mapped_column(Boolean, default=False)


class Interpretation(Base):
    """What an audit board saw on one sampled card (or counted in one batch) for one contest.

    Ballot-level audits key it by (batch, position); batch audits leave ``position``
    at 0 and store the hand tally in ``votes`` (choice -> count).
    """

    __tablename__ = "interpretation"
    __table_args__ = (UniqueConstraint("batch_id", "position", "contest_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"))
    result: Mapped[str] = mapped_column(Text)  # vote | blank | overvote | not_found | not_on_card
    choices: Mapped[list[Any]] = mapped_column(JSON)  # marked choices (result == vote)
    votes: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # batch hand tally
    comment: Mapped[str] = mapped_column(Text, default="")
    board: Mapped[str] = mapped_column(Text, default="")


class Event(Base):
    """One entry of the append-only, hash-chained event log (Crosby & Wallach 2009).

    ``hash = SHA-256(prev_hash + canonical JSON of (seq, type, actor, created, payload))``
    (:mod:`tallyguard.evidence.chain`); the first event's ``prev_hash`` is 64 zeros.
    """

    __tablename__ = "event"
    # The unique constraint's index also serves "the events of an audit in seq order".
    __table_args__ = (UniqueConstraint("audit_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    created: Mapped[str] = mapped_column(Text)  # ISO 8601 UTC
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON text
    prev_hash: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(Text)
