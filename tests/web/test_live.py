"""The status section that open pages poll: what it holds, and that polling is passive.

A page with the audit's status (admin, rounds, public) re-reads the section from
``/public/{audit}/status`` every ``poll_seconds`` while the audit runs (with htmx).
The route reads no session, so a page left open does not keep its session alive;
it renders the section again only when the audit's event log has grown.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from tallyguard.audit.workflow import service
from tallyguard.store.models import Audit
from tallyguard.web import routes_public
from tallyguard.web.app import ENV_DB, ENV_SECRET, ENV_SECURE, app_from_environment
from tallyguard.web.security import route
from tallyguard.web.views import audit_view
from tests.web.conftest import CSRF, World

STATUS = "/public/X/status"


def test_the_section_alone_and_its_polling_attributes(world: World) -> None:
    response = world.new_client().get(STATUS)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    text = response.text
    assert text.startswith('<section id="status" aria-labelledby="status-heading" ')
    assert "<html" not in text
    assert "<form" not in text
    opening = text.split(">", 1)[0]
    assert re.findall(r'hx-[a-z]+="[^"]*"', opening) == [
        f'hx-get="{STATUS}"',
        'hx-trigger="every 10s"',
        'hx-swap="outerHTML"',
    ]
    assert "<dt>State</dt><dd>setup</dd>" in text
    assert "<dt>Risk limit</dt><dd>10.00%</dd>" in text
    assert world.new_client().get("/public/Nowhere/status").status_code == 404


def test_a_finished_audit_is_not_polled(world: World) -> None:
    with world.store.transaction() as session:
        audit = session.query(Audit).filter_by(name="X").one()
        audit.status = "finished"
    text = world.new_client().get(STATUS).text
    assert "<dt>State</dt><dd>finished</dd>" in text
    assert "hx-get" not in text
    assert "hx-trigger" not in text


def test_polling_does_not_keep_a_session_alive(world: World) -> None:
    polled, browsing = world.session_for("admin"), world.session_for("admin")
    world.clock.advance(minutes=29)
    assert polled.get(STATUS).status_code == 200  # the page polls; the session is not read
    assert browsing.get("/public/X").status_code == 200  # a page the admin opens: it is
    world.clock.advance(minutes=2)
    assert browsing.get("/admin").status_code == 200
    expired = polled.get("/admin")
    assert expired.status_code == 303
    assert expired.headers["location"] == "/login?next=%2Fadmin"


def test_the_section_is_rendered_again_only_after_a_new_event(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    views: list[str] = []

    def counted(session: object, audit: Audit) -> object:
        views.append(audit.name)
        return audit_view(session, audit)  # type: ignore[arg-type]

    monkeypatch.setattr(routes_public, "audit_view", counted)
    client = world.new_client()
    first = client.get(STATUS).text
    assert client.get(STATUS).text == first
    assert views == ["X"]
    with world.store.transaction() as session:
        audit = session.query(Audit).filter_by(name="X").one()
        service.add_jurisdiction(session, audit, "D", "setup")
    assert client.get(STATUS).text == first  # the status section does not list jurisdictions
    assert client.get("/public/Y/status").status_code == 200
    assert views == ["X", "X", "Y"]


@pytest.mark.parametrize(
    ("method", "roles"), [("POST", ["public"]), ("GET", ["admin"]), ("GET", ["board"])]
)
def test_only_a_public_get_can_be_passive(method: str, roles: list[str]) -> None:
    with pytest.raises(ValueError, match="only a public GET can be passive"):
        route(APIRouter(), method, f"/passive-{method}-{roles[0]}", roles, passive=True)  # type: ignore[arg-type]


def test_worker_processes_share_the_key_of_anonymous_forms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``tallyguard serve --workers N``: a login form from one worker posts to another."""
    url = f"sqlite:///{tmp_path / 'web.db'}"
    monkeypatch.setenv(ENV_DB, url)
    monkeypatch.setenv(ENV_SECURE, "1")
    monkeypatch.setenv(ENV_SECRET, "ab" * 32)
    first, second = (
        TestClient(app_from_environment(), base_url="https://testserver", follow_redirects=False)
        for _ in range(2)
    )
    page = first.get("/login")
    token = CSRF.search(page.text)
    assert token is not None
    second.cookies.update(first.cookies)
    answer = second.post(
        "/login", data={"email": "nobody@example.org", "password": "x" * 12, "csrf_token": token[1]}
    )
    assert answer.status_code == 401  # past the CSRF check: the password is what is wrong
    monkeypatch.setenv(ENV_SECRET, "cd" * 32)
    third = TestClient(app_from_environment(), base_url="https://testserver")
    third.cookies.update(first.cookies)
    refused = third.post(
        "/login", data={"email": "nobody@example.org", "password": "x" * 12, "csrf_token": token[1]}
    )
    assert refused.status_code == 403
