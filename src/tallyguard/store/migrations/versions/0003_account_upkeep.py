"""Account upkeep: a user's password may be temporary (``must_change_password``).

Revision ID: 0003_account_upkeep
Revises: 0002_accounts
Create Date: 2026-12-07

Existing accounts get ``false`` (the server default, kept so that rows written
by older code still get a value); :func:`tallyguard.store.accounts.create_manager`
and :func:`~tallyguard.store.accounts.reset_manager_password` set it, and
:func:`~tallyguard.store.accounts.change_password` clears it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_account_upkeep"
down_revision: str | None = "0002_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "app_user",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later, PostgreSQL): a batch
    # copy would drop app_user, and with foreign keys on, that cascades to web_session.
    op.drop_column("app_user", "must_change_password")
