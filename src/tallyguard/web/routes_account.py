"""Account upkeep: changing one's password, new temporary passwords, new board links.

* ``/account/password``: an admin or manager changes their password. The current
  password is checked with a login's lockout accounting; success ends every other
  session of the account and renews the current one (a fresh token and cookie).
  An account with a temporary password is sent here by the login.
* ``.../manager/reset``: the admin gives a manager a new temporary password.
* ``.../boards/{board_id}/reissue``: an admin or the jurisdiction's manager gives
  an audit board a new join link and passphrase; the old link dies.

New secrets are shown once, on the page that answers the form, as when the
account or board was created.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tallyguard.store import accounts
from tallyguard.web.render import part, render
from tallyguard.web.routes_auth import _start_session, home_of
from tallyguard.web.security import CHANGE_PASSWORD, Principal, route, signed_in, web_config
from tallyguard.web.views import audit_or_404, jurisdiction_or_404

router = APIRouter()

#: The message of an empty current-password field (no guess, so no failure is counted).
NO_CURRENT = "Type your current password."


def _user_of(session: Session, principal: Principal) -> accounts.User:
    user = session.scalars(
        select(accounts.User).where(accounts.User.email == principal.name)
    ).one_or_none()
    if user is None:  # pragma: no cover - the guard found the session of this very user
        raise HTTPException(status_code=403, detail="Your account may not open this page.")
    return user


def _password_page(
    request: Request,
    *,
    forced: bool,
    changed: bool = False,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    principal = signed_in(request)
    context = {
        "forced": forced,
        "changed": changed,
        "errors": errors or {},
        "min_length": accounts.MIN_PASSWORD,
        "home": home_of(principal.role),
        "error": "The password was not changed: see the fields below." if errors else None,
    }
    return render(request, "account_password.html", context, status_code=status_code)


@route(router, "GET", CHANGE_PASSWORD, ["admin", "manager"])
def password_page(request: Request, changed: bool = False) -> Response:
    """The change-password form (with a notice after a change or for a temporary password)."""
    config = web_config(request)
    with config.store.transaction() as session:
        forced = _user_of(session, signed_in(request)).must_change_password
    return _password_page(request, forced=forced, changed=changed and not forced)


@route(router, "POST", CHANGE_PASSWORD, ["admin", "manager"])
def change_password(
    request: Request,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    new_password_again: Annotated[str, Form()] = "",
) -> Response:
    """Change the password; end the account's other sessions and renew this one.

    A wrong current password counts toward the account's lockout, as at login.
    """
    config = web_config(request)
    principal = signed_in(request)
    token = None
    with config.store.transaction() as session:
        user = _user_of(session, principal)
        forced = user.must_change_password
        if not current_password:
            errors = {"current_password": NO_CURRENT}
        else:
            errors = accounts.change_password(
                session,
                user,
                current_password,
                new_password,
                new_password_again,
                config.now(),
                actor=principal.actor,
                keep_token=principal.session_token,
                max_failures=config.max_failures,
                lockout=config.lockout,
            )
        if not errors:
            accounts.end_session(session, principal.session_token)
            token, _ = accounts.create_session(session, config.now(), user=user)
    if token is None:
        return _password_page(request, forced=forced, errors=errors, status_code=400)
    return _start_session(request, config, token, f"{CHANGE_PASSWORD}?changed=true")


@route(
    router,
    "POST",
    "/admin/audits/{audit}/jurisdictions/{jurisdiction}/manager/reset",
    ["admin"],
)
def reset_manager(
    request: Request, audit: str, jurisdiction: str, email: Annotated[str, Form()]
) -> Response:
    """Give a jurisdiction's manager a new temporary password, shown once
    (event ``account.password_reset``)."""
    config = web_config(request)
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        place = jurisdiction_or_404(session, row, jurisdiction)
        user = session.scalars(
            select(accounts.User).where(
                accounts.User.email == accounts.normalise_email(email),
                accounts.User.role == "manager",
                accounts.User.audit_id == row.id,
                accounts.User.jurisdiction == place.name,
            )
        ).one_or_none()
        if user is None:
            raise HTTPException(
                status_code=404,
                detail=f"{place.name} of audit {row.name} has no manager {email.strip()!r}.",
            )
        password, ended = accounts.reset_manager_password(
            session, user, signed_in(request).actor, config.now()
        )
        shown = {
            "audit": row.name,
            "jurisdiction": place.name,
            "email": user.email,
            "ended": ended,
        }
    return render(request, "account_manager_reset.html", {**shown, "password": password})


@route(
    router,
    "POST",
    "/audits/{audit}/jurisdictions/{jurisdiction}/boards/{board_id}/reissue",
    ["admin", "manager"],
)
def reissue_board(request: Request, audit: str, jurisdiction: str, board_id: int) -> Response:
    """Give an audit board a new join link and passphrase, shown once; the old link dies
    and the board's sessions end (event ``board.link_reissued``)."""
    config = web_config(request)
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        place = jurisdiction_or_404(session, row, jurisdiction)
        board = session.get(accounts.AuditBoard, board_id)
        if board is None or board.audit_id != row.id or board.jurisdiction != place.name:
            raise HTTPException(
                status_code=404, detail=f"{place.name} of audit {row.name} has no such board."
            )
        made, ended = accounts.reissue_board_link(
            session, board, signed_in(request).actor, config.now()
        )
        shown = {
            "audit": row.name,
            "jurisdiction": place.name,
            "board": board.name,
            "ended": ended,
        }
    link = str(request.base_url).rstrip("/") + f"/board/join/{part(made.join_token)}"
    return render(
        request,
        "account_board_reissued.html",
        {**shown, "link": link, "passphrase": made.passphrase},
    )
