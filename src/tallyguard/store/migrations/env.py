"""Alembic environment of the store, run by ``alembic.command`` from code.

:meth:`tallyguard.store.db.Store.open` passes an open connection in
``config.attributes["connection"]`` and the migrations run inside its
transaction. Without one (a developer calling ``command.revision(...,
autogenerate=True)`` on :func:`tallyguard.store.db.alembic_config`), the URL
comes from the ``sqlalchemy.url`` option, else from ``--db``'s usual defaults.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tallyguard.store.db import create_store_engine, resolve_url
from tallyguard.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )


def run_offline() -> None:
    """Write the SQL of the migrations instead of running them (``--sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or resolve_url(None),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run the migrations on the given connection, or on a new one."""
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_store_engine(config.get_main_option("sqlalchemy.url") or resolve_url(None))
    try:
        with engine.begin() as new_connection:
            _configure(new_connection)
            context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
