"""Accounts of the web app: users, audit boards and server-side sessions.

Revision ID: 0002_accounts
Revises: 0001
Create Date: 2025-12-07

Mirrors :mod:`tallyguard.store.accounts` exactly, constraint names included (the
naming convention ``models.NAMING``), so autogenerate finds no difference.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_accounts"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.Column("jurisdiction", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.Text(), nullable=True),
        sa.Column("created", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["audit.id"], name="fk_app_user_audit_id_audit", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_app_user"),
        sa.UniqueConstraint("email", name="uq_app_user_email"),
    )
    op.create_table(
        "audit_board",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("member_1", sa.Text(), nullable=False),
        sa.Column("member_2", sa.Text(), nullable=False),
        sa.Column("join_token_sha256", sa.Text(), nullable=False),
        sa.Column("passphrase_hash", sa.Text(), nullable=False),
        sa.Column("token_used", sa.Boolean(), nullable=False),
        sa.Column("failed_joins", sa.Integer(), nullable=False),
        sa.Column("created", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["audit.id"], name="fk_audit_board_audit_id_audit", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_board"),
        sa.UniqueConstraint("audit_id", "name", name="uq_audit_board_audit_id_name"),
        sa.UniqueConstraint("join_token_sha256", name="uq_audit_board_join_token_sha256"),
    )
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("board_id", sa.Integer(), nullable=True),
        sa.Column("csrf_token", sa.Text(), nullable=False),
        sa.Column("created", sa.Text(), nullable=False),
        sa.Column("last_seen", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name="fk_web_session_user_id_app_user", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["audit_board.id"],
            name="fk_web_session_board_id_audit_board",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_web_session"),
        sa.UniqueConstraint("token_sha256", name="uq_web_session_token_sha256"),
    )
    op.create_index("ix_web_session_user_id", "web_session", ["user_id"])
    op.create_index("ix_web_session_board_id", "web_session", ["board_id"])


def downgrade() -> None:
    for table in ("web_session", "audit_board", "app_user"):
        op.drop_table(table)
