"""Account upkeep: changing a password, temporary passwords, new board links.

The router is included here on the app of ``tests/web/conftest.py`` (unless the app
serves it already).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, text

from tallyguard.store import accounts
from tallyguard.store.db import Store, alembic_config, create_store_engine
from tallyguard.store.events import verify_log
from tallyguard.store.models import Audit, Event
from tallyguard.web import routes_account, security
from tallyguard.web.routes_account import NO_CURRENT
from tallyguard.web.routes_auth import LINK_GONE
from tallyguard.web.security import ROUTES, SESSION_COOKIE
from tests.web.conftest import ADMIN, ADMIN_PASSWORD, World, build_world, csrf_of, login

PAGE = "/account/password"
SECRET = re.compile(r'<code class="secret">([^<]+)</code>')
FIELD_ERROR = re.compile(r'<p class="field-error" id="([a-z_]+)-error">([^<]*)</p>')
NEW = "a much longer passphrase"
RESET_A = "/admin/audits/X/jurisdictions/A/manager/reset"
SAME = "The new password must differ from the current one."
DIFFER = "The two new passwords differ: type the same one twice."


def _wire(world: World) -> World:
    """Serve the account routes; the seeded managers have chosen their passwords already."""
    app = world.client.app
    assert isinstance(app, FastAPI)
    if not any(isinstance(r, APIRoute) and r.path == PAGE for r in app.router.routes):
        app.include_router(routes_account.router)
    _temporary(world, *world.managers.values(), temporary=False)
    return world


def _temporary(world: World, *emails: str, temporary: bool = True) -> None:
    with world.store.transaction() as session:
        for user in session.scalars(select(accounts.User).where(accounts.User.email.in_(emails))):
            user.must_change_password = temporary


@pytest.fixture
def acct(world: World) -> World:
    """The two audits on SQLite, with the account routes."""
    return _wire(world)


@pytest.fixture
def any_acct(db_url: str) -> Iterator[World]:
    """The two audits on SQLite and on PostgreSQL, with the account routes."""
    for world in build_world(db_url):
        yield _wire(world)


def _escaped(message: str) -> str:
    return message.replace("'", "&#39;")


def _field_errors(page: httpx.Response) -> dict[str, str]:
    return dict(FIELD_ERROR.findall(page.text))


def _change(client: TestClient, current: str, new: str, again: str | None = None) -> httpx.Response:
    token = csrf_of(client, PAGE)
    form = {
        "current_password": current,
        "new_password": new,
        "new_password_again": new if again is None else again,
        "csrf_token": token,
    }
    response: httpx.Response = client.post(PAGE, data=form)
    return response


def _user(world: World, email: str) -> accounts.User:
    with world.store.transaction() as session:
        return session.scalars(select(accounts.User).where(accounts.User.email == email)).one()


def _sessions(world: World, email: str) -> int:
    with world.store.transaction() as session:
        user_id = session.scalars(
            select(accounts.User.id).where(accounts.User.email == email)
        ).one()
        found = session.scalar(
            select(func.count())
            .select_from(accounts.WebSession)
            .where(accounts.WebSession.user_id == user_id)
        )
        return found or 0


def _log(world: World, audit: str) -> list[tuple[str, str, dict[str, object]]]:
    """An audit's events as (type, actor, payload), after checking that the chain verifies."""
    with world.store.transaction() as session:
        audit_id = session.scalars(select(Audit.id).where(Audit.name == audit)).one()
        assert verify_log(session, audit_id) == []
        rows = session.scalars(select(Event).where(Event.audit_id == audit_id).order_by(Event.seq))
        return [(e.type, e.actor, json.loads(e.payload)) for e in rows]


def _events(world: World) -> int:
    with world.store.transaction() as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


def _signed_out(client: TestClient, path: str) -> bool:
    response = client.get(path)
    return response.status_code == 303 and response.headers["location"].startswith("/login?next=")


# --- changing one's password ---------------------------------------------------------


def test_a_manager_changes_the_temporary_password(any_acct: World) -> None:
    world = any_acct
    email = world.managers["A"]
    temporary = world.passwords[email]
    _temporary(world, email)
    # Two other browsers of the same manager, signed in before the change.
    others = [world.session_for("manager:A"), world.session_for("manager:A")]
    manager = world.new_client()
    signed = login(manager, email, temporary)
    assert (signed.status_code, signed.headers["location"]) == (303, PAGE)
    page = manager.get(PAGE)
    assert page.status_code == 200
    assert "You signed in with a temporary password." in page.text
    old_token = manager.cookies[SESSION_COOKIE]
    assert _sessions(world, email) == 3

    done = _change(manager, temporary, NEW)
    assert (done.status_code, done.headers["location"]) == (303, f"{PAGE}?changed=true")
    new_token = manager.cookies[SESSION_COOKIE]
    assert new_token != old_token
    # The current browser goes on with a fresh session; the others and the old token are out.
    assert _sessions(world, email) == 1
    notice = manager.get(done.headers["location"])
    assert "Your password was changed." in notice.text
    assert "temporary password" not in notice.text
    assert manager.get("/audits/X/jurisdictions/A").status_code == 200
    for other in others:
        assert _signed_out(other, "/audits/X/jurisdictions/A")
    replay = world.new_client()
    replay.cookies.set(SESSION_COOKIE, old_token)
    assert _signed_out(replay, "/audits/X/jurisdictions/A")

    user = _user(world, email)
    assert user.must_change_password is False
    assert accounts.PASSWORD_HASHER.verify(user.password_hash, NEW)
    assert login(world.new_client(), email, temporary).status_code == 401
    again = login(world.new_client(), email, NEW)
    assert (again.status_code, again.headers["location"]) == (303, "/manager")
    assert _log(world, "X")[-1] == (
        "account.password_changed",
        f"manager:{email}",
        {"email": email, "other_sessions_ended": 2},
    )
    payloads = " ".join(json.dumps(p) for _, _, p in _log(world, "X"))
    assert temporary not in payloads
    assert NEW not in payloads
    assert "argon2" not in payloads


def test_an_admin_changes_the_password_and_no_audit_log_grows(acct: World) -> None:
    world = acct
    other = world.session_for("admin")
    login(world.client, ADMIN, ADMIN_PASSWORD)
    before = _events(world)
    done = _change(world.client, ADMIN_PASSWORD, NEW)
    assert done.status_code == 303
    assert _events(world) == before == 10  # admins belong to no audit's log
    assert _signed_out(other, "/admin")
    assert world.client.get("/admin").status_code == 200
    assert login(world.new_client(), ADMIN, ADMIN_PASSWORD).status_code == 401
    assert login(world.new_client(), ADMIN, NEW).headers["location"] == "/admin"
    page = world.client.get(f"{PAGE}?changed=true")
    assert '<a href="/admin">Continue to your start page</a>' in page.text


def test_wrong_current_passwords_lock_the_account(any_acct: World) -> None:
    world = any_acct
    email = world.managers["B"]
    client = world.session_for("manager:B")
    for attempt in range(1, 6):
        refused = _change(client, "not the password", NEW)
        assert refused.status_code == 400
        assert _field_errors(refused) == {"current_password": accounts.WRONG_CURRENT}
        user = _user(world, email)
        if attempt < 5:
            assert (user.failed_logins, user.locked_until) == (attempt, None)
    assert (user.failed_logins, user.locked_until) == (0, "2026-11-04T09:15:00+00:00")
    # Locked: the right current password is refused too, and so is a login.
    right = world.passwords[email]
    assert _field_errors(_change(client, right, NEW)) == {
        "current_password": accounts.WRONG_CURRENT
    }
    assert login(world.new_client(), email, right).status_code == 401
    world.clock.advance(minutes=15, seconds=1)
    assert _change(client, right, NEW).status_code == 303
    assert login(world.new_client(), email, NEW).status_code == 303


def test_login_failures_and_change_failures_count_together(acct: World) -> None:
    world = acct
    client = world.session_for("admin")
    for _ in range(3):
        login(world.new_client(), ADMIN, "guess")
    for _ in range(2):
        _change(client, "guess", NEW)
    assert _user(world, ADMIN).locked_until == "2026-11-04T09:15:00+00:00"


@pytest.mark.parametrize(
    ("new", "again", "errors"),
    [
        (
            "short",
            "short",
            {"new_password": "The new password has 5 characters; at least 12 are needed."},
        ),
        (
            "eleven char",
            "eleven char",
            {"new_password": "The new password has 11 characters; at least 12 are needed."},
        ),
        (ADMIN_PASSWORD, ADMIN_PASSWORD, {"new_password": SAME}),
        (NEW, NEW + "!", {"new_password_again": DIFFER}),
        (
            "short",
            "other",
            {
                "new_password": "The new password has 5 characters; at least 12 are needed.",
                "new_password_again": DIFFER,
            },
        ),
    ],
    ids=["5-chars", "11-chars", "same-as-current", "typed-differently", "short-and-different"],
)
def test_bad_new_passwords_get_field_errors(
    acct: World, new: str, again: str, errors: dict[str, str]
) -> None:
    world = acct
    client = world.session_for("admin")
    before = _user(world, ADMIN).password_hash
    refused = _change(client, ADMIN_PASSWORD, new, again)
    assert refused.status_code == 400
    assert _field_errors(refused) == errors
    assert "The password was not changed: see the fields below." in refused.text
    for name in errors:
        assert f'name="{name}"' in refused.text
        assert f'aria-describedby="{name}-error"' in refused.text
    user = _user(world, ADMIN)
    assert (user.password_hash, user.failed_logins) == (before, 0)
    assert client.get("/admin").status_code == 200  # the session lives on


def test_an_empty_current_password_counts_no_failure(acct: World) -> None:
    world = acct
    client = world.session_for("admin")
    refused = _change(client, "", NEW)
    assert _field_errors(refused) == {"current_password": NO_CURRENT}
    assert _user(world, ADMIN).failed_logins == 0


def test_exactly_twelve_characters_is_enough(acct: World) -> None:
    client = acct.session_for("admin")
    assert _change(client, ADMIN_PASSWORD, "twelve chars").status_code == 303


# --- forced change of a temporary password ----------------------------------------------


def test_a_new_manager_must_change_the_password_at_first_sign_in(acct: World) -> None:
    world = acct
    admin = world.session_for("admin")
    token = csrf_of(admin, "/admin/audits/X")
    page = admin.post(
        "/admin/audits/X/jurisdictions",
        data={"name": "D", "manager_email": "dee@example.org", "csrf_token": token},
    )
    assert page.status_code == 200
    temporary = SECRET.findall(page.text)[0]
    assert _user(world, "dee@example.org").must_change_password is True
    assert _user(world, ADMIN).must_change_password is False
    manager = world.new_client()
    # A deep link does not skip the change.
    token = csrf_of(manager, "/login")
    signed = manager.post(
        "/login",
        data={
            "email": "dee@example.org",
            "password": temporary,
            "next": "/audits/X/jurisdictions/D",
            "csrf_token": token,
        },
    )
    assert (signed.status_code, signed.headers["location"]) == (303, PAGE)
    assert _change(manager, temporary, NEW).status_code == 303
    assert _user(world, "dee@example.org").must_change_password is False
    later = world.new_client()
    token = csrf_of(later, "/login")
    form = {"email": "dee@example.org", "password": NEW, "next": "/audits/X/jurisdictions/D"}
    signed = later.post("/login", data={**form, "csrf_token": token})
    assert signed.headers["location"] == "/audits/X/jurisdictions/D"
    assert _log(world, "X")[-2:] == [
        (
            "account.created",
            f"admin:{ADMIN}",
            {"email": "dee@example.org", "jurisdiction": "D", "role": "manager"},
        ),
        (
            "account.password_changed",
            "manager:dee@example.org",
            {"email": "dee@example.org", "other_sessions_ended": 0},
        ),
    ]


@pytest.mark.skipif(
    not hasattr(security, "PasswordChangeRequiredError"),
    reason="the route guard does not check temporary passwords yet",
)
def test_a_temporary_password_opens_only_the_change_page(acct: World) -> None:
    world = acct
    email = world.managers["A"]
    _temporary(world, email)
    manager = world.new_client()
    assert login(manager, email, world.passwords[email]).headers["location"] == PAGE
    for path in ("/manager", "/audits/X/jurisdictions/A", "/audits/X/jurisdictions/A/files"):
        away = manager.get(path)
        assert (away.status_code, away.headers["location"]) == (303, PAGE), path
    token = csrf_of(manager, PAGE)
    before = _events(world)
    form = {"name": "Board 2", "member_1": "P", "member_2": "Q", "csrf_token": token}
    away = manager.post("/audits/X/jurisdictions/A/boards", data=form)
    assert (away.status_code, away.headers["location"]) == (303, PAGE)
    assert _events(world) == before
    assert manager.get("/public/X").status_code == 200  # public pages stay public
    # Another jurisdiction's page stays forbidden rather than redirected.
    assert manager.get("/audits/X/jurisdictions/B").status_code == 403
    leaving = world.session_for("manager:A")
    out = leaving.post("/logout", data={"csrf_token": csrf_of(leaving, PAGE)})
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert _change(manager, world.passwords[email], NEW).status_code == 303
    assert manager.get("/audits/X/jurisdictions/A").status_code == 200


def test_the_migration_keeps_existing_accounts_and_downgrades(db_url: str) -> None:
    engine = create_store_engine(db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection=connection), "0002_accounts")
            connection.execute(
                text(
                    "INSERT INTO app_user (email, role, password_hash, failed_logins, created) "
                    "VALUES ('old@example.org', 'admin', 'x', 0, '2026-01-01T00:00:00+00:00')"
                )
            )
        with Store.open(db_url) as store, store.transaction() as session:
            old = session.scalars(select(accounts.User)).one()
            assert (old.email, old.must_change_password) == ("old@example.org", False)
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection=connection), "0002_accounts")
        with engine.connect() as connection:
            columns = [c["name"] for c in inspect(connection).get_columns("app_user")]
            assert "must_change_password" not in columns
            assert len(columns) == 9
            users = connection.execute(text("SELECT email FROM app_user")).scalars().all()
            assert users == ["old@example.org"]
    finally:
        engine.dispose()


# --- a manager's new temporary password ------------------------------------------------------


def test_the_admin_resets_a_managers_password(any_acct: World) -> None:
    world = any_acct
    email = world.managers["A"]
    old = world.passwords[email]
    sessions = [world.session_for("manager:A"), world.session_for("manager:A")]
    for _ in range(5):
        login(world.new_client(), email, "guess")
    assert _user(world, email).locked_until == "2026-11-04T09:15:00+00:00"

    admin = world.session_for("admin")
    token = csrf_of(admin, "/admin/audits/X")
    page = admin.post(RESET_A, data={"email": email.upper(), "csrf_token": token})
    assert page.status_code == 200
    (password,) = SECRET.findall(page.text)
    assert len(password) == 16
    assert password != old
    assert "(2 in all)" in page.text
    user = _user(world, email)
    assert (user.must_change_password, user.failed_logins, user.locked_until) == (True, 0, None)
    for client in sessions:
        assert _signed_out(client, "/audits/X/jurisdictions/A")
    assert login(world.new_client(), email, old).status_code == 401
    manager = world.new_client()
    signed = login(manager, email, password)
    assert (signed.status_code, signed.headers["location"]) == (303, PAGE)
    assert _change(manager, password, NEW).status_code == 303
    log = _log(world, "X")
    assert log[-2:] == [
        (
            "account.password_reset",
            f"admin:{ADMIN}",
            {"email": email, "jurisdiction": "A", "sessions_ended": 2},
        ),
        (
            "account.password_changed",
            f"manager:{email}",
            {"email": email, "other_sessions_ended": 0},
        ),
    ]
    assert password not in json.dumps(log)


def test_a_reset_names_a_manager_of_that_jurisdiction(acct: World) -> None:
    world = acct
    admin = world.session_for("admin")
    token = csrf_of(admin, "/admin/audits/X")
    before = _events(world)
    for path, email in (
        (RESET_A, "nobody@example.org"),
        (RESET_A, world.managers["B"]),  # B's manager, on A's path
        ("/admin/audits/Y/jurisdictions/A/manager/reset", world.managers["A"]),
        ("/admin/audits/X/jurisdictions/C/manager/reset", world.managers["C"]),
        (RESET_A, ADMIN),
    ):
        response = admin.post(path, data={"email": email, "csrf_token": token})
        assert response.status_code == 404, (path, email)
    assert _events(world) == before
    passwords = {e: _user(world, e).password_hash for e in world.managers.values()}
    assert all(accounts.PASSWORD_HASHER.verify(passwords[e], world.passwords[e]) for e in passwords)


# --- a board's new join link ------------------------------------------------------------------


def test_a_manager_reissues_a_boards_link(any_acct: World) -> None:
    world = any_acct
    made = world.boards["X"]
    old_path = f"/board/join/{made.join_token}"
    device = world.new_client()
    token = csrf_of(device, old_path)
    joined = device.post(old_path, data={"passphrase": made.passphrase, "csrf_token": token})
    assert joined.headers["location"] == "/board"
    assert device.get("/audits/X/board").status_code == 200

    manager = world.session_for("manager:A")
    token = csrf_of(manager, "/audits/X/jurisdictions/A")
    path = f"/audits/X/jurisdictions/A/boards/{made.board.id}/reissue"
    page = manager.post(path, data={"csrf_token": token})
    assert page.status_code == 200
    link, passphrase = SECRET.findall(page.text)
    assert link.startswith("https://testserver/board/join/")
    assert re.fullmatch(r"([2-9a-hjkmnp-z]{4}-){3}[2-9a-hjkmnp-z]{4}", passphrase)
    assert passphrase != made.passphrase
    assert "(1 in all)" in page.text
    # The old link and the board's session are dead.
    assert _signed_out(device, "/audits/X/board")
    stranger = world.new_client()
    assert stranger.get(old_path).status_code == 404
    token = csrf_of(stranger, "/login")
    refused = stranger.post(old_path, data={"passphrase": made.passphrase, "csrf_token": token})
    assert refused.status_code == 404
    assert _escaped(LINK_GONE) in refused.text
    # The new link works once.
    new_path = link.removeprefix("https://testserver")
    new_device = world.new_client()
    token = csrf_of(new_device, new_path)
    wrong = new_device.post(new_path, data={"passphrase": made.passphrase, "csrf_token": token})
    assert wrong.status_code == 403
    ok = new_device.post(new_path, data={"passphrase": passphrase, "csrf_token": token})
    assert (ok.status_code, ok.headers["location"]) == (303, "/board")
    assert new_device.get("/audits/X/board").status_code == 200
    assert world.new_client().get(new_path).status_code == 404
    assert _log(world, "X")[-3:] == [
        ("board.joined", "board:Board 1", {"board": "Board 1"}),
        (
            "board.link_reissued",
            "manager:a@example.org",
            {"board": "Board 1", "jurisdiction": "A", "sessions_ended": 1},
        ),
        ("board.joined", "board:Board 1", {"board": "Board 1"}),
    ]
    assert passphrase not in json.dumps(_log(world, "X"))


def test_the_admin_reissues_any_board_and_managers_only_their_own(acct: World) -> None:
    world = acct
    board_x, board_y = world.boards["X"].board.id, world.boards["Y"].board.id
    admin = world.session_for("admin")
    token = csrf_of(admin, "/admin")
    done = admin.post(
        f"/audits/Y/jurisdictions/C/boards/{board_y}/reissue", data={"csrf_token": token}
    )
    assert done.status_code == 200
    assert "(0 in all)" in done.text
    assert _log(world, "Y")[-1] == (
        "board.link_reissued",
        f"admin:{ADMIN}",
        {"board": "Board 9", "jurisdiction": "C", "sessions_ended": 0},
    )
    before = _events(world)
    manager_a = world.session_for("manager:A")
    token_a = csrf_of(manager_a, "/audits/X/jurisdictions/A")
    # A board of another audit, or of another jurisdiction, through A's path: no such board.
    for path in (
        f"/audits/X/jurisdictions/A/boards/{board_y}/reissue",
        "/audits/X/jurisdictions/A/boards/999/reissue",
    ):
        assert manager_a.post(path, data={"csrf_token": token_a}).status_code == 404
    assert (
        admin.post(
            f"/audits/X/jurisdictions/B/boards/{board_x}/reissue", data={"csrf_token": token}
        ).status_code
        == 404
    )
    # Another jurisdiction's manager and another audit's manager are refused by the guard.
    for who, home in (
        ("manager:B", "/audits/X/jurisdictions/B"),
        ("manager:C", "/audits/Y/jurisdictions/C"),
    ):
        client = world.session_for(who)
        own = csrf_of(client, home)
        refused = client.post(
            f"/audits/X/jurisdictions/A/boards/{board_x}/reissue", data={"csrf_token": own}
        )
        assert refused.status_code == 403
    assert _events(world) == before
    not_a_number = manager_a.post(
        "/audits/X/jurisdictions/A/boards/first/reissue", data={"csrf_token": token_a}
    )
    assert not_a_number.status_code == 400


# --- the guard: CSRF, roles, anonymous visitors --------------------------------------------------


def _posts(world: World) -> list[tuple[str, dict[str, str]]]:
    board = world.boards["X"].board.id
    return [
        (
            PAGE,
            {"current_password": ADMIN_PASSWORD, "new_password": NEW, "new_password_again": NEW},
        ),
        (RESET_A, {"email": world.managers["A"]}),
        (f"/audits/X/jurisdictions/A/boards/{board}/reissue", {}),
    ]


def test_every_post_needs_the_csrf_token(acct: World) -> None:
    world = acct
    admin = world.session_for("admin")
    real = csrf_of(admin, "/admin")
    other = csrf_of(world.session_for("manager:A"), "/audits/X/jurisdictions/A")
    hashes = {e: _user(world, e).password_hash for e in (ADMIN, world.managers["A"])}
    before = _events(world)
    for path, form in _posts(world):
        for sent in (None, "", "forged", other, real[:-1]):
            data = form if sent is None else {**form, "csrf_token": sent}
            response = admin.post(path, data=data)
            assert response.status_code == 403, (path, sent)
            assert "security token is missing or out of date" in response.text
    assert _events(world) == before
    assert {e: _user(world, e).password_hash for e in hashes} == hashes
    assert world.new_client().get(f"/board/join/{world.boards['X'].join_token}").status_code == 200


def test_roles_and_anonymous_visitors(acct: World) -> None:
    world = acct
    anonymous = world.new_client()
    away = anonymous.get(PAGE)
    assert (away.status_code, away.headers["location"]) == (
        303,
        "/login?next=%2Faccount%2Fpassword",
    )
    token = csrf_of(anonymous, "/login")
    for path, form in _posts(world):
        assert anonymous.post(path, data={**form, "csrf_token": token}).status_code == 401
    board = world.session_for("board:X")
    assert board.get(PAGE).status_code == 403
    board_token = csrf_of(board, "/audits/X/board")
    for path, form in _posts(world):
        refused = board.post(path, data={**form, "csrf_token": board_token})
        assert refused.status_code == 403, path
        assert "Your account may not open this page." in refused.text
    manager = world.session_for("manager:A")
    manager_token = csrf_of(manager, PAGE)
    hashes = {world.managers["A"]: _user(world, world.managers["A"]).password_hash}
    refused = manager.post(
        RESET_A, data={"email": world.managers["A"], "csrf_token": manager_token}
    )
    assert refused.status_code == 403
    assert _user(world, world.managers["A"]).password_hash == hashes[world.managers["A"]]


def test_the_routes_declare_their_roles() -> None:
    mine = {key: set(roles) for key, roles in ROUTES.items() if key[1].startswith("/account")}
    mine |= {key: set(ROUTES[key]) for key in ROUTES if key[1].endswith(("/reset", "/reissue"))}
    assert mine == {
        ("GET", "/account/password"): {"admin", "manager"},
        ("POST", "/account/password"): {"admin", "manager"},
        ("POST", "/admin/audits/{audit}/jurisdictions/{jurisdiction}/manager/reset"): {"admin"},
        ("POST", "/audits/{audit}/jurisdictions/{jurisdiction}/boards/{board_id}/reissue"): {
            "admin",
            "manager",
        },
    }


def test_the_password_page_needs_no_script(acct: World) -> None:
    page = acct.session_for("manager:A").get(PAGE)
    assert page.status_code == 200
    assert "<script" not in page.text.split("</head>", 1)[1]
    assert " style=" not in page.text
    assert page.text.count('type="password"') == 3
    assert 'minlength="12"' in page.text
