"""Opening the store: which database, its schema, and one transaction per command.

A store is a SQLite file by default (``tallyguard.db`` in the current folder)
or a PostgreSQL database for a team (``postgresql://user@host/db``). The
database is named by ``--db``, else by ``$TALLYGUARD_DB``, else the default
(:func:`resolve_url`). :meth:`Store.open` brings its schema to the newest
Alembic revision shipped in ``tallyguard/store/migrations`` before anything
else runs, so a user never runs migrations by hand.

Every command runs in exactly one transaction (:meth:`Store.transaction`): it
commits when the command succeeds and rolls back on any exception, so nothing
half-written is ever left behind, even if the process is killed (SQLite's
rollback journal with ``synchronous=FULL``, PostgreSQL's WAL).

SQLite transactions start with ``BEGIN IMMEDIATE``: a command takes the write
lock when it starts, so two commands on the same file run one after the other
(the second waits up to :data:`BUSY_TIMEOUT_MS`) instead of failing half-way
when both try to write. On PostgreSQL, writers to the same audit serialise on
the audit row (:func:`tallyguard.store.events.append_event`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session, sessionmaker

from tallyguard.errors import InputError
from tallyguard.store import accounts as _accounts  # noqa: F401  (its tables join Base.metadata)

#: The SQLite file used when neither ``--db`` nor ``$TALLYGUARD_DB`` names a database.
DEFAULT_DB = "tallyguard.db"
#: The environment variable naming the database when ``--db`` is not given.
ENV_VAR = "TALLYGUARD_DB"
#: The command-line option errors about the database point at.
FIELD = "--db"
#: How long a SQLite command waits for another one to finish, in milliseconds.
BUSY_TIMEOUT_MS = 30_000
#: Seconds to wait for a PostgreSQL server to answer before giving up.
CONNECT_TIMEOUT_S = 10
#: The Alembic scripts, shipped inside the package.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Key of the PostgreSQL advisory lock held while the schema is upgraded.
_MIGRATION_LOCK = 0x7A11_6A4D
_BACKENDS = ("sqlite", "postgresql")
_POSTGRES_SCHEMES = ("postgresql", "postgres")
_SQLITE_FIX = (
    "check that the file's folder exists and is writable and that the file is a "
    f"tallyguard database, or name another file with --db (or ${ENV_VAR})"
)
_SERVER_FIX = (
    "check that the database server is running and that the URL's host, port, user, "
    f"password and database name are right (--db or ${ENV_VAR})"
)


def _to_url(value: str) -> str:
    text_value = value.strip()
    if "://" not in text_value:
        path = Path(text_value).expanduser()
        return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)
    scheme, rest = text_value.split("://", 1)
    if scheme.lower() in _POSTGRES_SCHEMES:
        return f"postgresql+psycopg://{rest}"
    return text_value


def resolve_url(db: str | None) -> str:
    """Return the SQLAlchemy URL of the database a command should use.

    Args:
        db: The ``--db`` value: a SQLAlchemy URL or a plain file path (an SQLite
            file). ``None`` falls back to ``$TALLYGUARD_DB``, then to
            ``tallyguard.db`` in the current directory.

    Returns:
        A URL; ``postgresql://`` (and ``postgres://``) URLs are mapped to the
        psycopg 3 driver, ``postgresql+psycopg://``.

    Raises:
        InputError: ``db`` is given but empty.
    """
    if db is not None:
        if not db.strip():
            raise InputError(
                "the database is empty",
                field=FIELD,
                fix="give a SQLite file path or a postgresql:// URL",
            )
        return _to_url(db)
    from_env = os.environ.get(ENV_VAR, "").strip()
    return _to_url(from_env or DEFAULT_DB)


def redact(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``, for messages.

    Args:
        url: A database URL, possibly malformed.

    Returns:
        The URL without its password.
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _reason(error: BaseException) -> str:
    """The first line of the database driver's own message, without SQL or links."""
    cause: BaseException = error
    if isinstance(error, DBAPIError) and error.orig is not None:
        cause = error.orig
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def _fix(url: URL) -> str:
    return _SQLITE_FIX if url.get_backend_name() == "sqlite" else _SERVER_FIX


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own
    # transaction handling would defer it to the first write).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_store_engine(url: str) -> Engine:
    """Create the engine of a store: SQLite pragmas and locking, PostgreSQL timeouts.

    Args:
        url: A URL as :func:`resolve_url` returns it (plain paths and
            ``postgresql://`` are accepted too).

    Returns:
        An engine; no connection is made yet.

    Raises:
        InputError: The URL is malformed or names a database tallyguard does not support.
    """
    text_url = _to_url(url)
    shown = redact(text_url)
    try:
        parsed = make_url(text_url)
    except ArgumentError:
        raise InputError(
            f"{shown!r} is not a database URL",
            field=FIELD,
            fix="give a SQLite file path or a URL like postgresql://user@host/database",
        ) from None
    if parsed.get_backend_name() not in _BACKENDS:
        raise InputError(
            f"{shown}: tallyguard stores audits in SQLite or PostgreSQL only",
            field=FIELD,
            fix="give a SQLite file path or a URL like postgresql://user@host/database",
        )
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        if "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
        if "application_name" not in parsed.query:
            connect_args["application_name"] = "tallyguard"
    try:
        engine = create_engine(parsed, connect_args=connect_args)
    except (NoSuchModuleError, ImportError) as error:
        raise InputError(
            f"{shown}: the database driver is not installed ({_reason(error)})",
            field=FIELD,
            fix="use a SQLite file or a postgresql:// URL (psycopg 3 is installed with tallyguard)",
        ) from None
    except (ArgumentError, TypeError, ValueError) as error:
        raise InputError(
            f"{shown}: invalid database URL ({_reason(error)})",
            field=FIELD,
            fix="check the URL's query options",
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """Return an Alembic configuration built in code (no ``alembic.ini`` needed).

    Developers create a new revision with
    ``command.revision(alembic_config("sqlite:///dev.db"), autogenerate=True, message=...)``.

    Args:
        url: The database, for when no ``connection`` is given.
        connection: An open connection the migrations run on (inside its transaction).

    Returns:
        A config whose ``script_location`` is ``tallyguard/store/migrations``.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", _to_url(url).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this version of tallyguard ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "tallyguard ships at least one migration"
    return head


def _upgrade(engine: Engine, shown: str) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    known = {revision.revision for revision in script.walk_revisions()}
    heads = set(script.get_heads())
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two commands opening a fresh database at once: one migrates, the other waits.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        current = set(MigrationContext.configure(connection).get_current_heads())
        unknown = sorted(current - known)
        if unknown:
            raise InputError(
                f"{shown}: the database's schema (revision {', '.join(unknown)}) is newer than "
                f"this version of tallyguard knows (newest: {', '.join(sorted(heads))})",
                field=FIELD,
                fix="upgrade tallyguard to the version that wrote this database, "
                "or use another database",
            )
        if current != heads:
            command.upgrade(alembic_config(connection=connection), "head")


class Store:
    """An open tallyguard database; use :meth:`open`, then one :meth:`transaction` per command."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL with its password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to a database and bring its schema to the newest revision.

        Args:
            url: A SQLAlchemy URL (``sqlite:///file.db``, ``postgresql://...``)
                or a plain SQLite file path.

        Returns:
            The open store.

        Raises:
            InputError: The database cannot be reached or opened, is not a
                tallyguard database, or has a schema newer than this code. The
                message names the URL (without its password), ``--db`` and a fix.
        """
        engine = create_store_engine(url)
        shown = engine.url.render_as_string(hide_password=True)
        try:
            _upgrade(engine, shown)
        except InputError:
            engine.dispose()
            raise
        except (SQLAlchemyError, OSError) as error:
            engine.dispose()
            raise InputError(
                f"cannot open the database {shown} ({_reason(error)})",
                field=FIELD,
                fix=_fix(engine.url),
            ) from None
        return cls(engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session whose work commits on success and rolls back on any exception.

        Raises:
            InputError: The database went away or stayed locked by another
                command (the transaction is rolled back).
        """
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as error:
            raise InputError(
                f"the database {self.url} failed during the command, which was rolled back "
                f"({_reason(error)})",
                field=FIELD,
                fix="run the command again; if it fails again, " + _fix(self.engine.url),
            ) from None

    def close(self) -> None:
        """Close every connection of the store."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
