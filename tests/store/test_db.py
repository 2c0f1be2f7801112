"""Opening the store: which database, schema migrations, transactions and clear errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from tallyguard.errors import InputError
from tallyguard.store import db as store_db
from tallyguard.store.db import (
    DEFAULT_DB,
    ENV_VAR,
    MIGRATIONS,
    Store,
    alembic_config,
    head_revision,
    redact,
    resolve_url,
)
from tallyguard.store.models import Audit, Base
from tests.store.conftest import counts, populate, snapshot

# --- resolve_url and redact -------------------------------------------------------


def test_default_is_tallyguard_db_in_the_current_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert DEFAULT_DB == "tallyguard.db"
    assert resolve_url(None) == "sqlite:///tallyguard.db"
    monkeypatch.setenv(ENV_VAR, "  ")  # blank counts as unset
    assert resolve_url(None) == "sqlite:///tallyguard.db"
    monkeypatch.chdir(tmp_path)
    with Store.open(resolve_url(None)):
        pass
    assert (tmp_path / "tallyguard.db").is_file()


def test_explicit_value_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "postgresql://team@db.example/audits")
    assert resolve_url(None) == "postgresql+psycopg://team@db.example/audits"
    assert resolve_url("mine.db") == "sqlite:///mine.db"


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("audit.db", "sqlite:///audit.db"),
        ("data/audit.db", "sqlite:///data/audit.db"),
        ("/srv/audits/audit.db", "sqlite:////srv/audits/audit.db"),
        ("sqlite:///audit.db", "sqlite:///audit.db"),
        ("postgresql://u:pw@host:5433/db", "postgresql+psycopg://u:pw@host:5433/db"),
        ("postgres://u@host/db?sslmode=require", "postgresql+psycopg://u@host/db?sslmode=require"),
        ("postgresql+psycopg://u@host/db", "postgresql+psycopg://u@host/db"),
    ],
)
def test_resolve_url(given: str, url: str) -> None:
    assert resolve_url(given) == url


def test_a_home_path_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_url("~/a.db") == f"sqlite:///{tmp_path}/a.db"


def test_odd_characters_in_a_file_name_stay_in_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "my audits" / "50% sure?#1.db"
    path.parent.mkdir()
    with Store.open(resolve_url(str(path))):
        pass
    assert path.is_file()


def test_an_empty_db_option_is_an_input_error() -> None:
    with pytest.raises(InputError, match="field '--db': the database is empty"):
        resolve_url(" ")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://ann:s3cret@host/db", "postgresql+psycopg://ann:***@host/db"),
        ("postgresql://ann@host/db", "postgresql://ann@host/db"),
        ("sqlite:///a.db", "sqlite:///a.db"),
        ("nonsense://ann:s3cret@", "nonsense://ann:***@"),
    ],
)
def test_redact_hides_passwords(url: str, shown: str) -> None:
    assert redact(url) == shown


# --- opening: schema --------------------------------------------------------------


def test_open_brings_the_schema_to_head_and_models_match_it(db_url: str) -> None:
    with Store.open(db_url) as store, store.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_heads() == (head_revision(),)
        assert compare_metadata(context, Base.metadata) == []
        inspector = inspect(connection)
        for table in Base.metadata.sorted_tables:
            want_uq = {
                c.name for c in table.constraints if c.__class__.__name__ == "UniqueConstraint"
            }
            got_uq = {c["name"] for c in inspector.get_unique_constraints(table.name)}
            assert got_uq == want_uq, table.name
            want_fk = {c.name for c in table.foreign_key_constraints}
            got_fk = {c["name"] for c in inspector.get_foreign_keys(table.name)}
            assert got_fk == want_fk, table.name
            assert {i.name for i in table.indexes} <= {
                i["name"] for i in inspector.get_indexes(table.name)
            }
            assert inspector.get_pk_constraint(table.name)["name"] == f"pk_{table.name}"


def test_reopening_keeps_the_data(db_url: str) -> None:
    with Store.open(db_url) as store, store.transaction() as session:
        populate(session)
        before = snapshot(session)
    with Store.open(db_url) as store, store.transaction() as session:
        assert snapshot(session) == before


def test_migrations_downgrade_and_upgrade_again(db_url: str) -> None:
    with Store.open(db_url) as store:
        with store.engine.begin() as connection:
            command.downgrade(alembic_config(connection=connection), "base")
        with store.engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    with Store.open(db_url) as store, store.transaction() as session:
        assert counts(session)["audit"] == 0


def test_the_migrations_ship_inside_the_package() -> None:
    assert MIGRATIONS.parent == Path(store_db.__file__).resolve().parent
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert (MIGRATIONS / "versions" / "0001_initial.py").is_file()


def test_a_schema_newer_than_the_code_is_refused(db_url: str) -> None:
    with Store.open(db_url) as store, store.transaction() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(InputError) as caught:
        Store.open(db_url)
    message = str(caught.value)
    assert "field '--db'" in message
    assert "revision 9999_future) is newer than this version of tallyguard" in message
    assert f"(newest: {head_revision()})" in message
    assert "Fix: upgrade tallyguard" in message


# --- opening: errors --------------------------------------------------------------


def _assert_clean(error: InputError) -> None:
    text_ = str(error)
    assert error.field == "--db"
    assert error.fix
    assert "Traceback" not in text_
    assert "sqlalche.me" not in text_
    assert "\n" not in text_
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def test_an_unreachable_server_is_an_input_error() -> None:
    with pytest.raises(InputError) as caught:
        Store.open("postgresql://ann:s3cret@127.0.0.1:1/audits")
    _assert_clean(caught.value)
    message = str(caught.value)
    assert message.startswith(
        "field '--db': cannot open the database postgresql+psycopg://ann:***@127.0.0.1:1/audits ("
    )
    assert "s3cret" not in message
    assert "Fix: check that the database server is running" in message


def test_a_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "no such folder" / "audit.db"
    with pytest.raises(InputError, match="unable to open database file") as caught:
        Store.open(str(path))
    _assert_clean(caught.value)
    assert str(path) in str(caught.value)
    assert "folder exists" in str(caught.value)


def test_a_file_that_is_not_a_database_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(InputError, match="file is not a database") as caught:
        Store.open(str(path))
    _assert_clean(caught.value)


def test_a_foreign_sqlite_database_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE audit (something TEXT)")
    with pytest.raises(InputError, match="table audit already exists") as caught:
        Store.open(str(path))
    _assert_clean(caught.value)
    with sqlite3.connect(path) as connection:  # and it was left alone
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert names == {"audit"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://ann@host/db", "SQLite or PostgreSQL only"),
        ("oracle+nosuch://ann@host/db", "SQLite or PostgreSQL only"),
        ("postgresql+psycopg2://ann@host/db", "driver is not installed"),
        ("://", "is not a database URL"),
    ],
)
def test_unsupported_urls_are_input_errors(url: str, expected: str) -> None:
    with pytest.raises(InputError, match=expected) as caught:
        Store.open(url)
    _assert_clean(caught.value)


# --- transactions -----------------------------------------------------------------


def test_a_transaction_commits(store: Store) -> None:
    with store.transaction() as session:
        ids = populate(session)
    with store.transaction() as session:
        assert session.get(Audit, ids.audit) is not None


def test_an_exception_rolls_everything_back(store: Store) -> None:
    with store.transaction() as session:
        populate(session, name="kept")
        before = snapshot(session)

    def failing_command() -> None:
        with store.transaction() as session:
            populate(session, name="rolled back")
            session.flush()
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        failing_command()
    with store.transaction() as session:
        assert snapshot(session) == before


def test_objects_stay_readable_after_commit(store: Store) -> None:
    with store.transaction() as session:
        audit = Audit(name="A", election="E", kind="polling", risk_limit=0.1, method="alpha")
        session.add(audit)
    assert (audit.name, audit.status) == ("A", "setup")


def test_sqlite_pragmas(tmp_path: Path) -> None:
    with Store.open(str(tmp_path / "a.db")) as store, store.transaction() as session:
        assert session.scalar(text("PRAGMA foreign_keys")) == 1
        assert session.scalar(text("PRAGMA synchronous")) == 2  # FULL
        assert session.scalar(text("PRAGMA busy_timeout")) == store_db.BUSY_TIMEOUT_MS


def test_a_locked_sqlite_database_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "a.db")
    with Store.open(path) as holder:
        monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 50)
        with Store.open(path) as waiter, holder.transaction() as held:
            held.execute(select(1))  # BEGIN IMMEDIATE: holds the write lock

            def second_command() -> None:
                with waiter.transaction() as session:
                    session.execute(select(1))

            with pytest.raises(InputError, match="database is locked") as caught:
                second_command()
    _assert_clean(caught.value)
    assert "was rolled back" in str(caught.value)
    assert "Fix: run the command again" in str(caught.value)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_lost_postgresql_connection_is_an_input_error(db_url: str) -> None:

    def command_whose_connection_dies(store: Store) -> None:
        with store.transaction() as session:
            session.add(Audit(name="A", election="E", kind="polling", risk_limit=0.1, method="x"))
            session.flush()
            session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    with Store.open(db_url) as store:
        with pytest.raises(InputError, match="failed during the command") as caught:
            command_whose_connection_dies(store)
        _assert_clean(caught.value)
        with store.transaction() as session:  # the store recovers, and nothing was written
            assert counts(session)["audit"] == 0
