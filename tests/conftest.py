"""Shared test configuration."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Default: deterministic, so CI never flakes; `make fuzz` explores many more cases.
settings.register_profile(
    "default", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("fuzz", max_examples=2_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def shared_data() -> Path:
    """The read-only real-data folder beside the checkout (skips when absent)."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"real election data not available: {data} is absent")
    return data


#: The PostgreSQL server the ``db_url`` fixture uses (a database it may create schemas in).
POSTGRES_URL = os.environ.get(
    "TALLYGUARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: an SQLite file, or a fresh PostgreSQL schema.

    Each PostgreSQL test gets its own schema (``search_path`` set in the URL),
    dropped afterwards, so parallel workers never see each other's tables. When
    the server is unreachable the test is skipped, except under ``CI=true``,
    where it fails: CI must always run against PostgreSQL.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    import psycopg
    from psycopg import sql

    from tallyguard.store.db import redact

    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0]
        message = (
            f"PostgreSQL at {redact(POSTGRES_URL)} is unreachable ({reason}); "
            "start it or set TALLYGUARD_TEST_POSTGRES"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    schema = f"tg_test_{uuid.uuid4().hex[:16]}"
    with admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            joiner = "&" if "?" in POSTGRES_URL else "?"
            yield f"{POSTGRES_URL}{joiner}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
