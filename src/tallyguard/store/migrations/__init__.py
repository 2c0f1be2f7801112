"""Alembic migrations of the store (run by :meth:`tallyguard.store.db.Store.open`)."""
