"""Persistent state (SQLAlchemy): SQLite by default, PostgreSQL for teams."""
