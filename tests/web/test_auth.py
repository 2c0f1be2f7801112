"""Signing in: passwords, lockout, session expiry, logout, cookies, board join links."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tallyguard.store import accounts
from tallyguard.store.models import Event
from tallyguard.web.routes_auth import JOIN_FAILED, LINK_GONE, LOGIN_FAILED
from tallyguard.web.security import CSRF_COOKIE, SESSION_COOKIE
from tests.web.conftest import ADMIN, ADMIN_PASSWORD, World, csrf_of, login

ERROR = re.compile(r'<p class="error" role="alert">([^<]*)</p>')


def _error(text: str) -> str:
    found = ERROR.search(text)
    assert found is not None
    return found.group(1)


def _sessions(world: World) -> int:
    with world.store.transaction() as session:
        return session.scalar(select(func.count()).select_from(accounts.WebSession)) or 0


def test_login_succeeds_and_lands_on_the_role_page(any_world: World) -> None:
    response = login(any_world.client, ADMIN, ADMIN_PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin"
    assert any_world.client.get("/admin").status_code == 200
    manager = any_world.new_client()
    email = any_world.managers["B"]
    assert login(manager, email.upper(), any_world.passwords[email]).headers["location"] == (
        "/manager"
    )
    assert manager.get("/manager").headers["location"] == "/audits/X/jurisdictions/B"


def test_unknown_email_and_wrong_password_read_the_same(world: World) -> None:
    wrong = login(world.client, ADMIN, "not the password")
    unknown = login(world.new_client(), "nobody@example.org", ADMIN_PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert _error(wrong.text) == _error(unknown.text)
    assert "locked after too many attempts" in _error(wrong.text)
    assert LOGIN_FAILED.startswith("The email or password is not right")
    assert SESSION_COOKIE not in world.client.cookies
    assert _sessions(world) == 0


def test_five_failures_lock_the_account_for_fifteen_minutes(any_world: World) -> None:
    world = any_world
    for _ in range(5):
        assert login(world.client, ADMIN, "guess").status_code == 401
    with world.store.transaction() as session:
        user = session.scalars(select(accounts.User).where(accounts.User.email == ADMIN)).one()
        assert user.locked_until == "2026-11-04T09:15:00+00:00"
    # Locked: the right password is refused with the same words as a wrong one.
    refused = login(world.client, ADMIN, ADMIN_PASSWORD)
    assert refused.status_code == 401
    assert _error(refused.text) == LOGIN_FAILED.replace("'", "&#39;")
    world.clock.advance(minutes=14, seconds=59)
    assert login(world.client, ADMIN, ADMIN_PASSWORD).status_code == 401
    world.clock.advance(seconds=2)
    assert login(world.client, ADMIN, ADMIN_PASSWORD).status_code == 303
    with world.store.transaction() as session:
        user = session.scalars(select(accounts.User).where(accounts.User.email == ADMIN)).one()
        assert (user.failed_logins, user.locked_until) == (0, None)


def test_four_failures_then_success_resets_the_count(world: World) -> None:
    for _ in range(4):
        login(world.client, ADMIN, "guess")
    assert login(world.client, ADMIN, ADMIN_PASSWORD).status_code == 303
    for _ in range(4):
        login(world.new_client(), ADMIN, "guess")
    assert login(world.new_client(), ADMIN, ADMIN_PASSWORD).status_code == 303


def test_idle_expiry(world: World) -> None:
    login(world.client, ADMIN, ADMIN_PASSWORD)
    world.clock.advance(minutes=29)
    assert world.client.get("/admin").status_code == 200  # last seen moves to 09:29
    world.clock.advance(minutes=29)
    assert world.client.get("/admin").status_code == 200  # 58 min after login, 29 idle
    world.clock.advance(minutes=30, seconds=1)
    gone = world.client.get("/admin")
    assert gone.status_code == 303
    assert gone.headers["location"] == "/login?next=%2Fadmin"
    assert _sessions(world) == 0  # the expired row is deleted


def test_absolute_expiry_even_when_active(world: World) -> None:
    login(world.client, ADMIN, ADMIN_PASSWORD)
    for _ in range(36):  # 12 hours in 20-minute steps, never idle
        world.clock.advance(minutes=20)
        assert world.client.get("/admin").status_code == 200
    world.clock.advance(seconds=1)
    assert world.client.get("/admin").status_code == 303


def test_logout_deletes_the_session_row(world: World) -> None:
    login(world.client, ADMIN, ADMIN_PASSWORD)
    token = world.client.cookies[SESSION_COOKIE]
    assert _sessions(world) == 1
    out = world.client.post("/logout", data={"csrf_token": csrf_of(world.client, "/admin")})
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert _sessions(world) == 0
    replay = world.new_client()
    replay.cookies.set(SESSION_COOKIE, token)
    assert replay.get("/admin").status_code == 303


def test_session_token_is_stored_as_its_hash_and_renewed_at_login(world: World) -> None:
    login(world.client, ADMIN, ADMIN_PASSWORD)
    first = world.client.cookies[SESSION_COOKIE]
    login(world.client, ADMIN, ADMIN_PASSWORD)
    second = world.client.cookies[SESSION_COOKIE]
    assert first != second
    with world.store.transaction() as session:
        stored = list(session.scalars(select(accounts.WebSession.token_sha256)))
    assert stored == [accounts.sha256_text(second)]  # the old session ended, no clear token


def test_cookie_flags(world: World) -> None:
    page = world.client.get("/login")
    csrf_cookie = page.headers["set-cookie"].lower()
    assert csrf_cookie.startswith(f"{CSRF_COOKIE}=")
    for flag in ("httponly", "secure", "samesite=strict", "path=/"):
        assert flag in csrf_cookie
    response = login(world.client, ADMIN, ADMIN_PASSWORD)
    cookies = [c.lower() for c in response.headers.get_list("set-cookie")]
    session_cookie = next(c for c in cookies if c.startswith(f"{SESSION_COOKIE}="))
    parts = {p.strip() for p in session_cookie.split(";")}
    assert {"httponly", "secure", "samesite=strict", "path=/", "max-age=43200"} <= parts


def test_join_link_works_once(world: World) -> None:
    made = world.boards["X"]
    path = f"/board/join/{made.join_token}"
    board = world.new_client()
    token = csrf_of(board, path)
    wrong = board.post(path, data={"passphrase": "aaaa-bbbb-cccc-dddd", "csrf_token": token})
    assert wrong.status_code == 403
    assert _error(wrong.text) == JOIN_FAILED
    joined = board.post(path, data={"passphrase": made.passphrase.upper(), "csrf_token": token})
    assert (joined.status_code, joined.headers["location"]) == (303, "/board")
    page = board.get("/audits/X/board")
    assert page.status_code == 200
    assert "Ann Lee and Bo Diaz" in page.text
    again = world.new_client()
    assert again.get(path).status_code == 404
    token = csrf_of(again, "/login")
    second = again.post(path, data={"passphrase": made.passphrase, "csrf_token": token})
    assert second.status_code == 404
    assert LINK_GONE.replace("'", "&#39;") in second.text
    with world.store.transaction() as session:
        joins = list(session.scalars(select(Event).where(Event.type == "board.joined")))
    assert [(e.actor, e.payload, e.created) for e in joins] == [
        ("board:Board 1", '{"board":"Board 1"}', "2026-11-04T09:00:00+00:00")
    ]


def test_five_wrong_passphrases_disable_the_link(world: World) -> None:
    made = world.boards["Y"]
    path = f"/board/join/{made.join_token}"
    board = world.new_client()
    token = csrf_of(board, path)
    for _ in range(5):
        assert board.post(path, data={"passphrase": "nope", "csrf_token": token}).status_code == 403
    right = board.post(path, data={"passphrase": made.passphrase, "csrf_token": token})
    assert right.status_code == 404
    assert SESSION_COOKIE not in board.cookies
