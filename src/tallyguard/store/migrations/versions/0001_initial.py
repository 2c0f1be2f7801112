"""The initial schema: audits, their inputs, readings and hash-chained event log.

Revision ID: 0001
Revises:
Create Date: 2025-11-25

Mirrors :mod:`tallyguard.store.models` exactly, constraint names included (the
naming convention ``models.NAMING``), so autogenerate finds no difference.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def _audit_id() -> sa.Column[int]:
    return sa.Column("audit_id", sa.Integer(), nullable=False)


def _audit_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["audit_id"], ["audit.id"], name=f"fk_{table}_audit_id_audit", ondelete="CASCADE"
    )


def _batch_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["batch_id"], ["batch.id"], name=f"fk_{table}_batch_id_batch", ondelete="CASCADE"
    )


def _jurisdiction_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["jurisdiction_id"],
        ["jurisdiction.id"],
        name=f"fk_{table}_jurisdiction_id_jurisdiction",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "audit",
        _id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("election", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("risk_limit", sa.Float(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("seed", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
        sa.UniqueConstraint("name", name="uq_audit_name"),
    )
    op.create_table(
        "jurisdiction",
        _id(),
        _audit_id(),
        sa.Column("name", sa.Text(), nullable=False),
        _audit_fk("jurisdiction"),
        sa.PrimaryKeyConstraint("id", name="pk_jurisdiction"),
        sa.UniqueConstraint("audit_id", "name", name="uq_jurisdiction_audit_id_name"),
    )
    op.create_table(
        "input_file",
        _id(),
        _audit_id(),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        _audit_fk("input_file"),
        _jurisdiction_fk("input_file"),
        sa.PrimaryKeyConstraint("id", name="pk_input_file"),
        sa.UniqueConstraint(
            "audit_id",
            "jurisdiction_id",
            "role",
            name="uq_input_file_audit_id_jurisdiction_id_role",
        ),
    )
    op.create_index(
        "uq_input_file_audit_id_role_audit_wide",
        "input_file",
        ["audit_id", "role"],
        unique=True,
        sqlite_where=sa.text("jurisdiction_id IS NULL"),
        postgresql_where=sa.text("jurisdiction_id IS NULL"),
    )
    op.create_table(
        "batch",
        _id(),
        _audit_id(),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("tabulator", sa.Text(), nullable=False),
        sa.Column("batch_name", sa.Text(), nullable=False),
        sa.Column("num_ballots", sa.Integer(), nullable=False),
        sa.Column("container", sa.Text(), nullable=True),
        _audit_fk("batch"),
        _jurisdiction_fk("batch"),
        sa.PrimaryKeyConstraint("id", name="pk_batch"),
        sa.UniqueConstraint(
            "jurisdiction_id",
            "tabulator",
            "batch_name",
            name="uq_batch_jurisdiction_id_tabulator_batch_name",
        ),
    )
    op.create_index("ix_batch_audit_id", "batch", ["audit_id"])
    op.create_table(
        "cvr",
        _id(),
        _audit_id(),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("cvr_id", sa.Text(), nullable=False),
        sa.Column("imprinted_id", sa.Text(), nullable=True),
        sa.Column("votes", sa.JSON(), nullable=False),
        _audit_fk("cvr"),
        _batch_fk("cvr"),
        sa.PrimaryKeyConstraint("id", name="pk_cvr"),
        sa.UniqueConstraint("batch_id", "position", name="uq_cvr_batch_id_position"),
    )
    op.create_index("ix_cvr_audit_id", "cvr", ["audit_id"])
    op.create_table(
        "batch_tally",
        _id(),
        _audit_id(),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.Text(), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        _audit_fk("batch_tally"),
        _batch_fk("batch_tally"),
        sa.PrimaryKeyConstraint("id", name="pk_batch_tally"),
        sa.UniqueConstraint("batch_id", "choice", name="uq_batch_tally_batch_id_choice"),
    )
    op.create_index("ix_batch_tally_audit_id", "batch_tally", ["audit_id"])
    op.create_table(
        "contest",
        _id(),
        _audit_id(),
        sa.Column("contest_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("num_winners", sa.Integer(), nullable=False),
        sa.Column("votes_allowed", sa.Integer(), nullable=False),
        sa.Column("share_to_win", sa.Float(), nullable=True),
        sa.Column("ballots", sa.Integer(), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.Column("winners", sa.JSON(), nullable=False),
        sa.Column("targeted", sa.Boolean(), nullable=False),
        _audit_fk("contest"),
        sa.PrimaryKeyConstraint("id", name="pk_contest"),
        sa.UniqueConstraint("audit_id", "name", name="uq_contest_audit_id_name"),
    )
    op.create_table(
        "round",
        _id(),
        _audit_id(),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        _audit_fk("round"),
        sa.PrimaryKeyConstraint("id", name="pk_round"),
        sa.UniqueConstraint("audit_id", "number", name="uq_round_audit_id_number"),
    )
    op.create_table(
        "interpretation",
        _id(),
        _audit_id(),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("contest_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("votes", sa.JSON(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("board", sa.Text(), nullable=False),
        _audit_fk("interpretation"),
        _batch_fk("interpretation"),
        sa.ForeignKeyConstraint(
            ["contest_id"],
            ["contest.id"],
            name="fk_interpretation_contest_id_contest",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_interpretation"),
        sa.UniqueConstraint(
            "batch_id",
            "position",
            "contest_id",
            name="uq_interpretation_batch_id_position_contest_id",
        ),
    )
    op.create_index("ix_interpretation_audit_id", "interpretation", ["audit_id"])
    op.create_table(
        "event",
        _id(),
        _audit_id(),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("created", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        _audit_fk("event"),
        sa.PrimaryKeyConstraint("id", name="pk_event"),
        sa.UniqueConstraint("audit_id", "seq", name="uq_event_audit_id_seq"),
    )


def downgrade() -> None:
    for table in (
        "event",
        "interpretation",
        "round",
        "contest",
        "batch_tally",
        "cvr",
        "batch",
        "input_file",
        "jurisdiction",
        "audit",
    ):
        op.drop_table(table)
