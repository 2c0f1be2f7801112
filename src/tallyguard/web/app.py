"""The web app of the audit workflow: :func:`create_app`.

Pages are server-rendered Jinja2 templates with plain HTML forms that work
without JavaScript. Every response carries a strict Content-Security-Policy
(no inline script or style, nothing from other origins), ``nosniff``, no
referrer, and ``Cache-Control: no-store`` except for the static stylesheet.
Errors show a plain message page, never a stack trace.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tallyguard.store import accounts
from tallyguard.store.db import Store
from tallyguard.web import (
    routes_account,
    routes_admin,
    routes_audit,
    routes_auth,
    routes_board,
    routes_files,
    routes_print,
    routes_public,
    routes_rounds,
)
from tallyguard.web.render import STATIC, part, render
from tallyguard.web.security import (
    CHANGE_PASSWORD,
    LoginRequiredError,
    PasswordChangeRequiredError,
    WebConfig,
)

#: The Content-Security-Policy of every response.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
#: Headers set on every response.
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

_log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _headers(path: str) -> dict[str, str]:
    """The security headers of a response to ``path``: pages are never cached."""
    if path.startswith("/static/"):
        return SECURITY_HEADERS
    return {**SECURITY_HEADERS, "Cache-Control": "no-store", "Pragma": "no-cache"}


def _secure(response: Response, path: str) -> Response:
    response.headers.update(_headers(path))
    return response


class SecurityHeaders:
    """Sets :func:`_headers` on every response (plain ASGI: no task per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope["path"])

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_secured)


def _plain_error(status_code: int, message: str) -> HTMLResponse:
    """An error page that needs nothing (no template, no database)."""
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/static/tallyguard.css"><title>Error</title></head>'
        f"<body><main><h1>Error {status_code}</h1><p>{message}</p>"
        '<p><a href="/">Start page</a></p></main></body></html>'
    )
    return HTMLResponse(body, status_code=status_code)


def create_app(
    db_url: str,
    *,
    secure_cookies: bool = True,
    idle_minutes: int = 30,
    absolute_hours: int = 12,
    now: Callable[[], datetime] | None = None,
    lockout_failures: int = accounts.MAX_FAILURES,
    lockout_minutes: int = 15,
    poll_seconds: int = 10,
    secret: bytes | None = None,
) -> FastAPI:
    """Create the web app over the store at ``db_url`` (its schema migrated on open).

    Args:
        db_url: A SQLAlchemy URL or SQLite file path (see
            :func:`tallyguard.store.db.resolve_url`).
        secure_cookies: Mark cookies ``Secure`` (HTTPS only). Turn off only for
            plain-HTTP development on loopback.
        idle_minutes: A session unused this long ends.
        absolute_hours: A session this old ends, used or not.
        now: The clock (aware UTC datetimes); tests move it.
        lockout_failures: Wrong passwords in a row that lock an account.
        lockout_minutes: How long a locked account stays locked.
        poll_seconds: How often an open page refreshes its audit's status (with htmx).
        secret: The key that signs anonymous visitors' CSRF tokens; new at each start
            unless given (worker processes of one server must share it).

    Raises:
        InputError: The store cannot be opened.
    """
    store = Store.open(db_url)
    config = WebConfig(
        store=store,
        secure_cookies=secure_cookies,
        idle=timedelta(minutes=idle_minutes),
        absolute=timedelta(hours=absolute_hours),
        max_failures=lockout_failures,
        lockout=timedelta(minutes=lockout_minutes),
        now=now or _utc_now,
        secret=secret or secrets.token_bytes(32),
        poll_seconds=poll_seconds,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        title="tallyguard",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
        lifespan=lifespan,
    )
    app.state.web = config
    routers = (
        routes_auth, routes_admin, routes_audit, routes_files, routes_rounds, routes_board,
        routes_print, routes_public, routes_account,
    )  # fmt: skip
    for module in routers:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    app.add_middleware(SecurityHeaders)

    @app.exception_handler(LoginRequiredError)
    async def login_required(request: Request, error: LoginRequiredError) -> Response:
        return RedirectResponse(f"/login?next={part(error.path)}", status_code=303)

    @app.exception_handler(PasswordChangeRequiredError)
    async def password_change_required(
        request: Request, error: PasswordChangeRequiredError
    ) -> Response:
        return RedirectResponse(CHANGE_PASSWORD, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        messages = {
            401: "Sign in first.",
            403: "Your account may not do this.",
            404: "There is no such page.",
            405: "This page does not accept that kind of request.",
        }
        detail = error.detail if isinstance(error.detail, str) else ""
        message = detail or messages.get(error.status_code, "The request failed.")
        if error.status_code == 404 and detail == "Not Found":
            message = messages[404]
        return render(
            request,
            "error.html",
            {"status": error.status_code, "message": message},
            status_code=error.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_form(request: Request, error: RequestValidationError) -> Response:
        fields = sorted({str(item["loc"][-1]) for item in error.errors() if item.get("loc")})
        message = "The form is incomplete" + (f": fill in {', '.join(fields)}." if fields else ".")
        return render(request, "error.html", {"status": 400, "message": message}, status_code=400)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> Response:
        _log.exception("internal error on %s %s", request.method, request.url.path)
        message = "Something went wrong on the server; nothing was changed. Try again."
        return _secure(_plain_error(500, message), request.url.path)

    return app


#: The environment through which ``tallyguard serve --workers N`` configures its workers.
ENV_DB, ENV_SECURE, ENV_SECRET = (
    "TALLYGUARD_WEB_DB",
    "TALLYGUARD_WEB_SECURE",
    "TALLYGUARD_WEB_SECRET",
)


def app_from_environment() -> FastAPI:
    """The app of one worker process of ``tallyguard serve --workers N`` (an app factory)."""
    return create_app(
        os.environ[ENV_DB],
        secure_cookies=os.environ.get(ENV_SECURE, "1") == "1",
        secret=bytes.fromhex(os.environ[ENV_SECRET]),
    )
