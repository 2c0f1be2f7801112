"""A web app on a fresh store with a movable clock, and the people who use it.

``world`` holds two audits: X (jurisdictions A and B, a manager for each, board
"Board 1" of A) and Y (jurisdiction C, its manager, board "Board 9"), plus the admin
alice@example.org. Passwords are hashed with Argon2id at a low cost to keep the
suite fast (the algorithm and code path are the production ones).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from tallyguard.audit.workflow import service
from tallyguard.store import accounts
from tallyguard.store.db import Store
from tallyguard.web import render
from tallyguard.web.app import create_app
from tallyguard.web.security import SESSION_COOKIE

ADMIN = "alice@example.org"
ADMIN_PASSWORD = "correct horse battery staple"
START = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
SEED = "58209749445923078164"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
#: The attributes of a page's one script tag where htmx is installed: the hash is that of
#: htmx.org 2.0.11's htmx.min.js, the version package-lock.json pins.
HTMX_TAG = (
    ' src="/static/vendor/htmx.min.js" integrity='
    '"sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg" defer'
)


def assert_only_htmx(page: str) -> None:
    """No inline script: at most htmx, from this server, pinned by its hash."""
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
    assert scripts == ([(HTMX_TAG, "")] if render.HTMX.is_file() else [])


class Clock:
    """The app's clock; tests move it forward."""

    def __init__(self) -> None:
        self.moment = START

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@dataclass
class World:
    """The app, its store and the accounts of the two audits."""

    url: str
    clock: Clock
    client: TestClient
    store: Store
    managers: dict[str, str] = field(default_factory=dict)  # jurisdiction -> email
    passwords: dict[str, str] = field(default_factory=dict)  # email -> password
    boards: dict[str, accounts.NewBoard] = field(default_factory=dict)  # audit -> board

    def new_client(self) -> TestClient:
        return TestClient(self.client.app, base_url="https://testserver", follow_redirects=False)

    def session_for(self, who: str) -> TestClient:
        """A client signed in directly in the store: ``admin``, ``manager:A``, ``board:X``."""
        client = self.new_client()
        with self.store.transaction() as session:
            if who == "admin":
                user = session.query(accounts.User).filter_by(email=ADMIN).one()
                token, _ = accounts.create_session(session, self.clock(), user=user)
            elif who.startswith("manager:"):
                email = self.managers[who.split(":", 1)[1]]
                user = session.query(accounts.User).filter_by(email=email).one()
                token, _ = accounts.create_session(session, self.clock(), user=user)
            else:
                board_id = self.boards[who.split(":", 1)[1]].board.id
                board = session.get(accounts.AuditBoard, board_id)
                assert board is not None
                token, _ = accounts.create_session(session, self.clock(), board=board)
        client.cookies.set(SESSION_COOKIE, token, domain="testserver.local")
        return client


def csrf_of(client: TestClient, path: str) -> str:
    """The CSRF token in the forms of the page at ``path``."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    found = CSRF.search(page.text)
    assert found is not None, path
    return found.group(1)


def login(client: TestClient, email: str, password: str) -> httpx.Response:
    token = csrf_of(client, "/login")
    response: httpx.Response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    return response


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def write_election(directory: Path) -> tuple[Path, Path]:
    """A 100-card manifest of one jurisdiction and a one-contest contests.json."""
    manifest = directory / "manifest.csv"
    manifest.write_text("Batch Name,Number of Ballots\nB1,60\nB2,40\n", encoding="utf-8")
    contests = directory / "contests.json"
    contests.write_text(
        '{"election": "E", "contests": [{"contest_id": "c1", "name": "Mayor", '
        '"kind": "plurality", "choices": ["Ann", "Bob"], "num_winners": 1, '
        '"votes_allowed": 1, "share_to_win": null, "ballots": 100, '
        '"totals": {"Ann": 70, "Bob": 30}, "winners": ["Ann"]}]}',
        encoding="utf-8",
    )
    return manifest, contests


def build_world(url: str) -> Iterator[World]:
    clock = Clock()
    app = create_app(url, now=clock)
    store = Store.open(url)
    world = World(
        url, clock, TestClient(app, base_url="https://testserver", follow_redirects=False), store
    )
    with store.transaction() as session:
        accounts.create_admin(session, ADMIN, ADMIN_PASSWORD, clock())
        for audit_name, places in (("X", ("A", "B")), ("Y", ("C",))):
            audit = service.create_audit(session, name=audit_name, election="E", kind="polling",
                                         risk_limit=0.1, method=None, actor="setup")  # fmt: skip
            for place in places:
                service.add_jurisdiction(session, audit, place, "setup")
                email = f"{place.lower()}@example.org"
                user, password = accounts.create_manager(
                    session, audit, place, email, "setup", clock()
                )
                user.must_change_password = False  # as if chosen at the first sign-in
                world.managers[place] = email
                world.passwords[email] = password
            board_name = "Board 1" if audit_name == "X" else "Board 9"
            world.boards[audit_name] = accounts.create_board(
                session, audit, board_name, ("Ann Lee", "Bo Diaz"), "setup", clock(), places[0]
            )
    with world.client:
        yield world
    store.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The two audits on an SQLite file."""
    yield from build_world(f"sqlite:///{tmp_path / 'web.db'}")


@pytest.fixture
def any_world(db_url: str) -> Iterator[World]:
    """The two audits on SQLite and on PostgreSQL."""
    yield from build_world(db_url)


def mayor_and_council(ballots: int, mayor: dict[str, int], council: dict[str, int]) -> str:
    """contests.json of a Mayor race (vote for 1) and a Council race (vote for 2)."""
    return json.dumps({"election": "E", "contests": [
        {"contest_id": "c1", "name": "Mayor", "kind": "plurality", "choices": list(mayor),
         "num_winners": 1, "votes_allowed": 1, "share_to_win": None, "ballots": ballots,
         "totals": mayor, "winners": [max(mayor, key=mayor.__getitem__)]},
        {"contest_id": "c2", "name": "Council", "kind": "plurality", "choices": list(council),
         "num_winners": 2, "votes_allowed": 2, "share_to_win": None, "ballots": ballots,
         "totals": council, "winners": sorted(council, key=council.__getitem__)[-1:-3:-1]},
    ]})  # fmt: skip


def start_sampling(world: World, directory: Path, manifest: str, contests: str, draws: int) -> None:
    """Audit X of ``world``: the same manifest in A and B, Mayor targeted and Council
    opportunistic, the seed :data:`SEED` and a first round of ``draws``."""
    (directory / "manifest.csv").write_text(manifest, encoding="utf-8")
    (directory / "contests.json").write_text(contests, encoding="utf-8")
    with world.store.transaction() as session:
        audit = service.find_audit(session, "X")
        for place in ("A", "B"):
            service.load_manifest(session, audit, directory / "manifest.csv", place, "setup")
        for name, targeted in (("Mayor", True), ("Council", False)):
            service.add_contest(session, audit, directory / "contests.json", name,
                                targeted=targeted, actor="setup")  # fmt: skip
        service.set_seed(session, audit, SEED, "setup")
    with world.store.transaction() as session:
        service.start_round(session, service.find_audit(session, "X"), draws, "setup")
