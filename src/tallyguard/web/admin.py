"""Creating the first audit admin from the command line (``tallyguard serve --create-admin``)."""

from __future__ import annotations

from datetime import UTC, datetime

from tallyguard.store import accounts
from tallyguard.store.db import Store


def create_admin(db_url: str, email: str, password: str) -> str:
    """Create an audit admin in the store at ``db_url``; returns the stored (normalised) email.

    Raises:
        InputError: The store cannot be opened, the email is malformed or taken,
            or the password is shorter than :data:`tallyguard.store.accounts.MIN_PASSWORD`.
    """
    with Store.open(db_url) as store, store.transaction() as session:
        user = accounts.create_admin(session, email, password, datetime.now(UTC))
        return user.email


def admin_count(db_url: str) -> int:
    """How many admin accounts the store at ``db_url`` holds."""
    with Store.open(db_url) as store, store.transaction() as session:
        return accounts.admin_count(session)
