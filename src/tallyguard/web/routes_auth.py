"""Signing in and out: admins and managers by password, audit boards by one-time link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from tallyguard.store import accounts
from tallyguard.web.render import part, render
from tallyguard.web.security import (
    CHANGE_PASSWORD,
    CSRF_COOKIE,
    SESSION_COOKIE,
    SIGNED_IN,
    WebConfig,
    current,
    route,
    signed_in,
    web_config,
)

router = APIRouter()

#: The one message of every failed login: unknown email, wrong password, locked account.
LOGIN_FAILED = (
    "The email or password is not right, or the account is locked after too many attempts "
    "(it unlocks by itself after a while)."
)
JOIN_FAILED = "The passphrase is not right. The link stops working after a few wrong tries."
LINK_GONE = "This join link is not valid: it was used already, or it never existed."


def home_of(role: str) -> str:
    """Where a role lands after signing in."""
    return {"admin": "/admin", "manager": "/manager", "board": "/board"}.get(role, "/login")


def _safe_next(target: str | None, fallback: str) -> str:
    """A local path to go to after login (never another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


def _start_session(request: Request, config: WebConfig, token: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        with config.store.transaction() as session:
            accounts.end_session(session, old)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(config.absolute.total_seconds()),
        httponly=True,
        secure=config.secure_cookies,
        samesite="strict",
        path="/",
    )
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@route(router, "GET", "/", ["public"])
def index(request: Request) -> Response:
    """Send each visitor to their start page."""
    principal = current(request)
    return RedirectResponse(home_of(principal.role if principal else "public"), status_code=303)


@route(router, "GET", "/login", ["public"])
def login_page(request: Request, next: str | None = None) -> Response:
    """The sign-in form of admins and managers."""
    return render(request, "login.html", {"next": _safe_next(next, "")})


@route(router, "POST", "/login", ["public"])
def login(
    request: Request,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the password; on success start a new session (a fresh token, never the old one).

    An account with a temporary password goes to the change-password page first.
    """
    config = web_config(request)
    with config.store.transaction() as session:
        user = accounts.authenticate(
            session,
            email,
            password,
            config.now(),
            max_failures=config.max_failures,
            lockout=config.lockout,
        )
        if user is not None:
            token, _ = accounts.create_session(session, config.now(), user=user)
            target = _safe_next(next, home_of(user.role))
            if user.must_change_password:
                target = CHANGE_PASSWORD
    if user is None:
        return render(
            request,
            "login.html",
            {"error": LOGIN_FAILED, "next": _safe_next(next, ""), "email": email},
            status_code=401,
        )
    return _start_session(request, config, token, target)


@route(router, "POST", "/logout", SIGNED_IN)
def logout(request: Request) -> Response:
    """End the session: its row is deleted, so the cookie is worthless from now on."""
    config = web_config(request)
    with config.store.transaction() as session:
        accounts.end_session(session, signed_in(request).session_token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@route(router, "GET", "/board/join/{token}", ["public"])
def join_page(request: Request, token: str) -> Response:
    """The passphrase form behind a board's join link."""
    config = web_config(request)
    with config.store.transaction() as session:
        board = accounts.board_for_token(session, token)
        name = None if board is None else board.name
    if name is None:
        raise HTTPException(status_code=404, detail=LINK_GONE)
    return render(request, "board_join.html", {"board": name, "token": token})


@route(router, "POST", "/board/join/{token}", ["public"])
def join(request: Request, token: str, passphrase: Annotated[str, Form()]) -> Response:
    """Spend the join link with the right passphrase and start the board's session."""
    config = web_config(request)
    session_token = None
    with config.store.transaction() as session:
        found = accounts.board_for_token(session, token)
        name = None if found is None else found.name
        if found is not None:
            board = accounts.join_board(session, token, passphrase, config.now())
            if board is not None:
                session_token, _ = accounts.create_session(session, config.now(), board=board)
    if name is None:
        raise HTTPException(status_code=404, detail=LINK_GONE)
    if session_token is None:
        return render(
            request,
            "board_join.html",
            {"board": name, "token": token, "error": JOIN_FAILED},
            status_code=403,
        )
    return _start_session(request, config, session_token, "/board")


@route(router, "GET", "/manager", ["manager"])
def manager_home(request: Request) -> Response:
    """A manager's start page: their jurisdiction of their audit."""
    principal = signed_in(request)
    assert principal.audit is not None
    assert principal.jurisdiction is not None
    target = f"/audits/{part(principal.audit)}/jurisdictions/{part(principal.jurisdiction)}"
    return RedirectResponse(target, status_code=303)


@route(router, "GET", "/board", ["board"])
def board_home(request: Request) -> Response:
    """A board's start page: its page in its audit."""
    principal = signed_in(request)
    assert principal.audit is not None
    return RedirectResponse(f"/audits/{part(principal.audit)}/board", status_code=303)
