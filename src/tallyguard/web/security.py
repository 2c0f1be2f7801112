"""Who is asking, and may they: sessions, roles, scopes and CSRF, in one guard.

Every route is declared with :func:`route`, which names the roles it allows
(``public``, ``admin``, ``manager``, ``board``) and records them in
:data:`ROUTES`, so a test can walk every route against every role. The guard
that :func:`route` attaches to each route

1. finds the browser's server-side session (cookie :data:`SESSION_COOKIE`,
   idle and absolute expiry checked in the database);
2. sends an anonymous visitor of a protected page to ``/login`` (303), and
   refuses an anonymous state-changing request (401);
3. refuses any POST, PUT, PATCH or DELETE whose form field :data:`CSRF_FIELD`
   does not carry the session's CSRF token, or, before login, the signed
   double-submit token of the anonymous cookie :data:`CSRF_COOKIE` (403);
4. refuses a signed-in role the route does not allow (403);
5. keeps managers and boards in their scope (403): a path's ``{audit}`` must be
   their audit and a path's ``{jurisdiction}`` a manager's own jurisdiction;
6. sends a user who still has a temporary password to :data:`CHANGE_PASSWORD`
   (303) from every protected route but that page and logging out.

A *passive* public route (what pages poll for live figures) reads no session at
all, so that a page left open does not keep its session alive past the idle limit.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from tallyguard.store import accounts
from tallyguard.store.db import Store
from tallyguard.store.models import Audit

Role = Literal["public", "admin", "manager", "board"]
#: Every role a route may name.
ROLES: tuple[Role, ...] = ("public", "admin", "manager", "board")
#: Every role of a signed-in visitor.
SIGNED_IN: tuple[Role, ...] = ("admin", "manager", "board")
#: The cookie holding the session token.
SESSION_COOKIE = "tg_session"
#: The cookie holding the anonymous visitor's CSRF secret (login and board-join forms).
CSRF_COOKIE = "tg_csrf"
#: The hidden form field every form carries.
CSRF_FIELD = "csrf_token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Where a user with a temporary password must go first.
CHANGE_PASSWORD = "/account/password"
#: The protected routes a user with a temporary password may still use.
_OPEN_WHILE_TEMPORARY = frozenset({CHANGE_PASSWORD, "/logout"})

#: (method, path) -> the roles allowed, for every route declared with :func:`route`.
ROUTES: dict[tuple[str, str], frozenset[Role]] = {}

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class WebConfig:
    """What every request needs: the store, the clock and the security settings."""

    store: Store
    secure_cookies: bool
    idle: timedelta
    absolute: timedelta
    max_failures: int
    lockout: timedelta
    now: Callable[[], datetime]
    secret: bytes  # signs the anonymous CSRF token; new at each start
    poll_seconds: int = 10  # how often open pages refresh an audit's status (with htmx)
    #: Rendered status sections and sample files by (what, audit, event count, log head);
    #: see routes_public.
    rendered: dict[tuple[str, str, int, str | None], str] = field(default_factory=dict)


@dataclass(frozen=True)
class Principal:
    """A signed-in admin, manager or audit board, as read at the start of a request."""

    role: Role
    name: str  # the user's email or the board's name
    session_token: str
    csrf: str
    audit_id: int | None = None
    audit: str | None = None
    jurisdiction: str | None = None
    must_change_password: bool = False

    @property
    def actor(self) -> str:
        """Who acted, for the event log: ``admin:alice@example.org``, ``board:Board 1``."""
        return f"{self.role}:{self.name}"


class PasswordChangeRequiredError(Exception):
    """A user with a temporary password asked for another page (a 303 to the change page)."""


class LoginRequiredError(Exception):
    """An anonymous visitor asked for a protected page (answered with a 303 to /login)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def web_config(request: Request) -> WebConfig:
    """The configuration of the app serving ``request``."""
    config = request.app.state.web
    assert isinstance(config, WebConfig)
    return config


def current(request: Request) -> Principal | None:
    """The signed-in visitor of this request (after the guard ran), or ``None``."""
    found = getattr(request.state, "principal", None)
    return found if isinstance(found, Principal) else None


def signed_in(request: Request) -> Principal:
    """The signed-in visitor of a protected route (the guard guarantees one)."""
    found = current(request)
    if found is None:  # pragma: no cover - the guard refuses anonymous visitors first
        raise HTTPException(status_code=401, detail="Sign in first.")
    return found


def sign(config: WebConfig, value: str) -> str:
    """The CSRF token of an anonymous form: HMAC-SHA-256 of the cookie's secret."""
    return hmac.new(config.secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def load_principal(config: WebConfig, token: str) -> Principal | None:
    """The live session of a cookie token as a :class:`Principal` (``last_seen`` updated)."""
    with config.store.transaction() as session:
        row = accounts.find_session(
            session, token, config.now(), idle=config.idle, absolute=config.absolute
        )
        if row is None:
            return None
        if row.user_id is not None:
            user = session.get(accounts.User, row.user_id)
            if user is None:  # pragma: no cover - cascades delete the session with its user
                return None
            audit = None if user.audit_id is None else session.get(Audit, user.audit_id)
            role: Role = "admin" if user.role == "admin" else "manager"
            return Principal(
                role=role,
                name=user.email,
                session_token=token,
                csrf=row.csrf_token,
                audit_id=user.audit_id,
                audit=None if audit is None else audit.name,
                jurisdiction=user.jurisdiction,
                must_change_password=user.must_change_password,
            )
        board = session.get(accounts.AuditBoard, row.board_id)
        if board is None:  # pragma: no cover - cascades delete the session with its board
            return None
        audit_name = session.scalars(select(Audit.name).where(Audit.id == board.audit_id)).one()
        return Principal(
            role="board",
            name=board.name,
            session_token=token,
            csrf=row.csrf_token,
            audit_id=board.audit_id,
            audit=audit_name,
            jurisdiction=board.jurisdiction,
        )


def _csrf_ok(config: WebConfig, request: Request, principal: Principal | None, sent: str) -> bool:
    """A signed-in visitor's forms carry the session's token, and only it counts (a
    cookie-bound token is weaker: a sibling domain could plant the cookie); anonymous
    forms carry the signature of the ``tg_csrf`` cookie."""
    if principal is not None:
        want = principal.csrf
    else:
        cookie = request.cookies.get(CSRF_COOKIE)
        if not cookie:
            return False
        want = sign(config, cookie)
    return hmac.compare_digest(sent.encode(), want.encode())


def in_scope(principal: Principal, params: dict[str, Any]) -> bool:
    """Whether a manager or board may see the audit and jurisdiction a path names."""
    if principal.role == "admin":
        return True
    if "audit" in params and params["audit"] != principal.audit:
        return False
    if "jurisdiction" in params:
        return principal.jurisdiction is not None and params["jurisdiction"] == (
            principal.jurisdiction
        )
    return True


class Guard:
    """The dependency :func:`route` puts on every route (see the module docstring)."""

    def __init__(self, roles: frozenset[Role], *, passive: bool = False) -> None:
        self.roles = roles
        self.passive = passive

    async def __call__(self, request: Request) -> None:
        config = web_config(request)
        token = None if self.passive else request.cookies.get(SESSION_COOKIE)
        principal = await run_in_threadpool(load_principal, config, token) if token else None
        request.state.principal = principal
        unsafe = request.method in _UNSAFE
        public = "public" in self.roles
        if principal is None and not public:
            if unsafe:
                raise HTTPException(status_code=401, detail="Sign in first.")
            raise LoginRequiredError(request.url.path)
        if unsafe:
            form = await request.form()
            sent = form.get(CSRF_FIELD)
            if not isinstance(sent, str) or not _csrf_ok(config, request, principal, sent):
                raise HTTPException(
                    status_code=403,
                    detail="The form's security token is missing or out of date. "
                    "Go back, reload the page and try again.",
                )
        if public or principal is None:
            return
        if principal.role not in self.roles or not in_scope(principal, request.path_params):
            raise HTTPException(status_code=403, detail="Your account may not open this page.")
        if principal.must_change_password and request.url.path not in _OPEN_WHILE_TEMPORARY:
            raise PasswordChangeRequiredError


def route(
    router: APIRouter, method: str, path: str, roles: Iterable[Role], *, passive: bool = False
) -> Callable[[F], F]:
    """Declare a route with the roles it allows, and put the guard in front of it.

    A ``passive`` route must be a public GET: it ignores the session cookie.

    Raises:
        ValueError: The route is declared twice, names no role or an unknown one,
            mixes ``public`` with other roles, or is passive but not a public GET.
    """
    allowed = frozenset(roles)
    unknown = allowed - set(ROLES)
    if not allowed or unknown or ("public" in allowed and len(allowed) > 1):
        raise ValueError(f"{method} {path}: roles must be 'public' alone or signed-in roles")
    if passive and (method != "GET" or allowed != {"public"}):
        raise ValueError(f"{method} {path}: only a public GET can be passive")
    key = (method, path)
    if key in ROUTES:
        raise ValueError(f"{method} {path} is declared twice")
    ROUTES[key] = allowed

    def register(endpoint: F) -> F:
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            dependencies=[Depends(Guard(allowed, passive=passive))],
            response_class=HTMLResponse,
            name=endpoint.__name__,
        )
        return endpoint

    return register
