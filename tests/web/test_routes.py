"""Every route × every role; CSRF on every state-changing route; headers on every response."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tallyguard.store.models import Event
from tallyguard.web.app import CSP
from tallyguard.web.security import CSRF_COOKIE, ROUTES, Role
from tests.web.conftest import CSRF, World, assert_only_htmx, csrf_of

#: What each route must allow, written out by hand: a change to a route's roles must
#: change this table too.
EXPECTED: dict[tuple[str, str], set[Role]] = {
    ("GET", "/"): {"public"},
    ("GET", "/login"): {"public"},
    ("POST", "/login"): {"public"},
    ("POST", "/logout"): {"admin", "manager", "board"},
    ("GET", "/board/join/{token}"): {"public"},
    ("POST", "/board/join/{token}"): {"public"},
    ("GET", "/manager"): {"manager"},
    ("GET", "/board"): {"board"},
    ("GET", "/admin"): {"admin"},
    ("POST", "/admin/audits"): {"admin"},
    ("GET", "/admin/audits/{audit}"): {"admin"},
    ("POST", "/admin/audits/{audit}/jurisdictions"): {"admin"},
    ("GET", "/audits/{audit}/jurisdictions/{jurisdiction}"): {"admin", "manager"},
    ("POST", "/audits/{audit}/jurisdictions/{jurisdiction}/boards"): {"admin", "manager"},
    ("GET", "/audits/{audit}/board"): {"board"},
    ("GET", "/audits/{audit}/jurisdictions/{jurisdiction}/retrieval.csv"): {"admin", "manager"},
    ("GET", "/audits/{audit}/board/ballots"): {"board"},
    ("GET", "/audits/{audit}/board/ballots/{ticket}"): {"board"},
    ("POST", "/audits/{audit}/board/ballots/{ticket}"): {"board"},
    ("GET", "/audits/{audit}/board/sign-off"): {"board"},
    ("POST", "/audits/{audit}/board/sign-off"): {"board"},
    ("GET", "/audits/{audit}/jurisdictions/{jurisdiction}/files"): {"admin", "manager"},
    ("POST", "/audits/{audit}/jurisdictions/{jurisdiction}/files/manifest"): {"admin", "manager"},
    ("POST", "/audits/{audit}/jurisdictions/{jurisdiction}/files/cvrs"): {"admin", "manager"},
    ("POST", "/audits/{audit}/jurisdictions/{jurisdiction}/files/batch-tallies"): {
        "admin",
        "manager",
    },
    ("GET", "/admin/audits/{audit}/rounds"): {"admin"},
    ("POST", "/admin/audits/{audit}/contests"): {"admin"},
    ("GET", "/admin/audits/{audit}/seed"): {"admin"},
    ("POST", "/admin/audits/{audit}/seed"): {"admin"},
    ("GET", "/admin/audits/{audit}/plan"): {"admin"},
    ("POST", "/admin/audits/{audit}/rounds"): {"admin"},
    ("POST", "/admin/audits/{audit}/rounds/finish"): {"admin"},
    ("POST", "/admin/audits/{audit}/hand-count"): {"admin"},
    ("POST", "/admin/audits/{audit}/hand-count/totals"): {"admin"},
    ("POST", "/admin/audits/{audit}/finish"): {"admin"},
    ("GET", "/admin/audits/{audit}/report.csv"): {"admin"},
    ("GET", "/admin/audits/{audit}/report.html"): {"admin"},
    ("GET", "/admin/audits/{audit}/bundle.zip"): {"admin"},
    ("GET", "/public"): {"public"},
    ("GET", "/public/{audit}"): {"public"},
    ("GET", "/public/{audit}/status"): {"public"},
    ("GET", "/public/{audit}/sample.csv"): {"public"},
    ("GET", "/public/{audit}/bundle.zip"): {"public"},
    ("GET", "/audits/{audit}/jurisdictions/{jurisdiction}/labels.pdf"): {"admin", "manager"},
    ("GET", "/account/password"): {"admin", "manager"},
    ("POST", "/account/password"): {"admin", "manager"},
    ("POST", "/admin/audits/{audit}/jurisdictions/{jurisdiction}/manager/reset"): {"admin"},
    ("POST", "/audits/{audit}/jurisdictions/{jurisdiction}/boards/{board_id}/reissue"): {
        "admin",
        "manager",
    },
    ("GET", "/admin/audits/{audit}/report.pdf"): {"admin"},
}


@dataclass(frozen=True)
class Visitor:
    label: str
    role: str  # anonymous | admin | manager | board
    audit: str | None = None
    jurisdiction: str | None = None


VISITORS = (
    Visitor("anonymous", "anonymous"),
    Visitor("admin", "admin"),
    Visitor("manager:A", "manager", "X", "A"),
    Visitor("manager:B", "manager", "X", "B"),
    Visitor("board:X", "board", "X", "A"),
    Visitor("board:Y", "board", "Y", "C"),
)
_names = itertools.count(1)


def _concrete(path: str) -> str:
    """The path with audit X, jurisdiction A, and a join token and board that do not exist."""
    return (
        path.replace("{audit}", "X")
        .replace("{jurisdiction}", "A")
        .replace("{token}", "no-such-token")
        .replace("{board_id}", "999")
    )


def _form() -> dict[str, str]:
    n = next(_names)
    return {
        "name": f"M{n}",
        "election": "E",
        "kind": "polling",
        "risk_limit": "0.05",
        "manager_email": f"m{n}@example.org",
        "member_1": "P",
        "member_2": "Q",
        "email": "nobody@example.org",
        "password": "x",
        "passphrase": "x",
    }


def _client(world: World, visitor: Visitor) -> TestClient:
    return world.new_client() if visitor.role == "anonymous" else world.session_for(visitor.label)


def _token(client: TestClient, visitor: Visitor) -> str:
    home = {
        "anonymous": "/login",
        "admin": "/admin",
        "manager": f"/audits/X/jurisdictions/{visitor.jurisdiction}",
        "board": f"/audits/{visitor.audit}/board",
    }[visitor.role]
    return csrf_of(client, home)


def _refused(response: httpx.Response) -> bool:
    """Whether the guard turned the request away (as opposed to the page answering)."""
    if response.status_code == 303:
        return response.headers["location"].startswith("/login?next=")
    if response.status_code == 401:
        return "Sign in first." in response.text
    return response.status_code == 403 and "Your account may not open this page." in response.text


def _allowed(path: str, roles: frozenset[Role], visitor: Visitor) -> bool:
    if "public" in roles:
        return True
    if visitor.role not in roles:
        return False
    if visitor.role == "admin":
        return True
    if "{audit}" in path and visitor.audit != "X":
        return False
    return not ("{jurisdiction}" in path and visitor.jurisdiction != "A")


def _served(routes: list[Any]) -> set[tuple[str, str]]:
    """Every (method, path) an app serves, through included routers (no prefixes are used)."""
    found: set[tuple[str, str]] = set()
    for r in routes:
        if isinstance(r, APIRoute):
            found |= {(method, r.path) for method in r.methods or ()}
        elif hasattr(r, "original_router"):  # an included router, in newer FastAPI
            found |= _served(r.original_router.routes)
    return found


def test_every_route_declares_its_roles(world: World) -> None:
    served = _served(world.client.app.routes)  # type: ignore[attr-defined]
    assert served == set(ROUTES)
    assert {key: set(roles) for key, roles in ROUTES.items()} == EXPECTED


def test_route_role_matrix(world: World) -> None:
    outcomes = []
    for (method, path), roles in sorted(ROUTES.items()):
        for visitor in VISITORS:
            client = _client(world, visitor)
            url = _concrete(path)
            if method == "GET":
                response = client.get(url)
            else:
                token = _token(client, visitor)
                response = client.post(url, data={**_form(), "csrf_token": token})
            assert response.status_code < 500, (method, path, visitor.label)
            assert response.headers["content-security-policy"] == CSP
            want = _allowed(path, roles, visitor)
            outcomes.append((method, path, visitor.label, want))
            assert _refused(response) is not want, (method, path, visitor.label, response.text)
            if not want:
                if visitor.role == "anonymous":
                    assert response.status_code == (303 if method == "GET" else 401)
                else:
                    assert response.status_code == 403
    assert len(outcomes) == len(EXPECTED) * len(VISITORS) == 294
    # Every non-public route refuses somebody, and anonymous visitors always.
    for (method, path), roles in ROUTES.items():
        if "public" not in roles:
            assert (method, path, "anonymous", False) in outcomes


def _events(world: World) -> int:
    with world.store.transaction() as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


@pytest.mark.parametrize(
    "route", sorted(key for key in ROUTES if key[0] != "GET"), ids=lambda key: key[1]
)
def test_every_post_needs_the_csrf_token(world: World, route: tuple[str, str]) -> None:
    method, path = route
    roles = ROUTES[route]
    label = "anonymous" if "public" in roles else "admin" if "admin" in roles else "board:X"
    visitor = next(v for v in VISITORS if v.label == label)
    client = _client(world, visitor)
    real = _token(client, visitor)
    other = _token(world.session_for("manager:A"), VISITORS[2])
    url = _concrete(path)
    before = _events(world)
    for sent in (None, "", "forged", other, real[:-1]):
        form = _form() if sent is None else {**_form(), "csrf_token": sent}
        response = client.request(method, url, data=form)
        assert response.status_code == 403, (path, sent)
        assert "security token is missing or out of date" in response.text
    assert _events(world) == before
    assert client.request(method, url, data={**_form(), "csrf_token": real}).status_code != 403


def test_anonymous_token_must_match_its_own_cookie(world: World) -> None:
    first, second = world.new_client(), world.new_client()
    token = csrf_of(first, "/login")
    csrf_of(second, "/login")  # second has its own cookie
    form = {"email": "a@example.org", "password": "x", "csrf_token": token}
    assert second.post("/login", data=form).status_code == 403
    assert first.post("/login", data=form).status_code == 401  # past CSRF, wrong password


def test_signed_in_forms_need_the_session_token(world: World) -> None:
    """A token bound only to the anonymous cookie (which a sibling domain could plant)
    does not pass for a signed-in visitor."""
    anonymous = world.new_client()
    token = csrf_of(anonymous, "/login")
    admin = world.session_for("admin")
    admin.cookies.set(CSRF_COOKIE, anonymous.cookies[CSRF_COOKIE])
    form = {"name": "Planted", "csrf_token": token}
    before = _events(world)
    assert admin.post("/admin/audits", data=form).status_code == 403
    assert _events(world) == before


def test_headers_on_every_kind_of_response(world: World) -> None:
    client = world.session_for("admin")
    responses = [
        client.get("/admin"),
        client.get("/static/tallyguard.css"),
        client.get("/no/such/page"),
        client.get("/admin/audits/Nope"),
        client.post("/admin", data={}),  # 405
        world.new_client().get("/admin"),  # 303
        world.new_client().get("/public/X"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 404, 404, 405, 303, 200]
    for response in responses:
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
    cache = [r.headers.get("cache-control") for r in responses]
    assert cache == ["no-store", None, "no-store", "no-store", "no-store", "no-store", "no-store"]


def test_pages_have_no_inline_script_or_style(world: World) -> None:
    client = world.session_for("admin")
    for path in ("/admin", "/admin/audits/X", "/audits/X/jurisdictions/A", "/public/X", "/login"):
        text = client.get(path).text
        assert_only_htmx(text)
        assert "<style" not in text
        assert " style=" not in text
        assert " on" + "click=" not in text
        assert CSRF.search(text) is not None  # every page has at least one form with a token
