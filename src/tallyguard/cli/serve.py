"""``tallyguard serve``: the web app of the audit workflow, on the same store as the CLI."""

from __future__ import annotations

import os
import secrets
from typing import Any

import typer
from rich.markup import escape

from tallyguard.cli.audit_common import DbOption
from tallyguard.cli.output import stdout
from tallyguard.store.db import redact, resolve_url


def serve(
    db: str | None = DbOption,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    create_admin: str | None = typer.Option(
        None,
        "--create-admin",
        metavar="EMAIL",
        help="Create an audit admin with this email (the password is asked for), then exit.",
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="Worker processes (more serve more audit boards at once; each opens its own "
        "database connections).",
    ),
    insecure_cookies: bool = typer.Option(
        False,
        "--insecure-cookies",
        help="Let cookies travel over plain HTTP (development only; put HTTPS in front otherwise).",
    ),
) -> None:
    """Serve the audit workflow on the web (SQLite tallyguard.db unless --db says otherwise)."""
    import uvicorn

    from tallyguard.web.admin import admin_count
    from tallyguard.web.admin import create_admin as make_admin
    from tallyguard.web.app import ENV_DB, ENV_SECRET, ENV_SECURE, create_app

    url = resolve_url(db)
    if create_admin is not None:
        password = typer.prompt(
            f"Password for {create_admin}", hide_input=True, confirmation_prompt=True
        )
        email = make_admin(url, create_admin, password)
        stdout.print(f"Created audit admin [bold]{escape(email)}[/] in {escape(redact(url))}.")
        return
    if admin_count(url) == 0:
        stdout.print(
            "No audit admin exists yet. Create one first:\n"
            f"  tallyguard serve --create-admin EMAIL{'' if db is None else ' --db ' + escape(db)}"
        )
    stdout.print(
        f"Serving {escape(redact(url))} on http://{escape(host)}:{port}/ "
        f"with {workers} worker{'s' if workers > 1 else ''} (Ctrl+C stops)."
    )
    # no access log: an audit board's join URL carries its one-time token
    options: dict[str, Any] = {
        "host": host, "port": port, "proxy_headers": True, "server_header": False,
        "access_log": False,
    }  # fmt: skip
    if workers == 1:
        uvicorn.run(create_app(url, secure_cookies=not insecure_cookies), **options)
        return
    # Workers are processes that build their own app; they share the CSRF-signing key.
    os.environ[ENV_DB] = url
    os.environ[ENV_SECURE] = "0" if insecure_cookies else "1"
    os.environ[ENV_SECRET] = secrets.token_hex(32)
    # A worker imports the app before it answers the supervisor's health check: give a
    # loaded machine time for that.
    uvicorn.run(
        "tallyguard.web.app:app_from_environment",
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=60,
        **options,
    )
