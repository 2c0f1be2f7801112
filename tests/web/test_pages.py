"""The first screens: actions go through the service and the log, errors read plainly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy import inspect, select

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.files import frozen_digests
from tallyguard.errors import InputError
from tallyguard.store import accounts
from tallyguard.store.db import Store, head_revision
from tallyguard.store.events import verify_log
from tallyguard.store.models import Audit, Base, Event
from tallyguard.web.admin import admin_count, create_admin
from tests.web.conftest import ADMIN, SEED, World, csrf_of, login, write_election

SECRET = re.compile(r'<code class="secret">([^<]+)</code>')


def _log(world: World, audit: str) -> list[tuple[str, str, dict[str, object]]]:
    with world.store.transaction() as session:
        audit_id = session.scalars(select(Audit.id).where(Audit.name == audit)).one()
        assert verify_log(session, audit_id) == []
        rows = session.scalars(select(Event).where(Event.audit_id == audit_id).order_by(Event.seq))
        return [(e.type, e.actor, json.loads(e.payload)) for e in rows]


def test_admin_actions_write_events_with_the_actor(any_world: World) -> None:
    world = any_world
    admin = world.session_for("admin")
    token = csrf_of(admin, "/admin")
    form = {"name": "Fall 2026", "election": "General", "kind": "comparison"}
    created = admin.post("/admin/audits", data={**form, "risk_limit": "0.03", "csrf_token": token})
    assert (created.status_code, created.headers["location"]) == (303, "/admin/audits/Fall%202026")
    page = admin.post(
        "/admin/audits/Fall%202026/jurisdictions",
        data={"name": "Butte", "manager_email": "Bea@Example.org", "csrf_token": token},
    )
    assert page.status_code == 200
    password = SECRET.search(page.text)
    assert password is not None
    assert len(password.group(1)) == 16
    manager = world.new_client()
    signed = login(manager, "bea@example.org", password.group(1))
    assert signed.headers["location"] == "/account/password"  # a temporary password
    changed = manager.post(
        "/account/password",
        data={"current_password": password.group(1), "new_password": "bea's own password",
              "new_password_again": "bea's own password",
              "csrf_token": csrf_of(manager, "/account/password")},
    )  # fmt: skip
    assert changed.status_code == 303
    board_page = manager.post(
        "/audits/Fall%202026/jurisdictions/Butte/boards",
        data={"name": "Board 1", "member_1": "Ann", "member_2": "Bo",
              "csrf_token": csrf_of(manager, "/audits/Fall%202026/jurisdictions/Butte")},
    )  # fmt: skip
    assert board_page.status_code == 200
    link, passphrase = SECRET.findall(board_page.text)
    assert link.startswith("https://testserver/board/join/")
    assert re.fullmatch(r"([2-9a-hjkmnp-z]{4}-){3}[2-9a-hjkmnp-z]{4}", passphrase)
    board = world.new_client()
    path = link.removeprefix("https://testserver")
    joined = board.post(path, data={"passphrase": passphrase, "csrf_token": csrf_of(board, path)})
    assert joined.status_code == 303
    actor = f"admin:{ADMIN}"
    assert _log(world, "Fall 2026") == [
        ("audit.created", actor, {"name": "Fall 2026", "election": "General",
                                  "kind": "comparison", "risk_limit": 0.03, "method": "alpha"}),
        ("jurisdiction.added", actor, {"jurisdiction": "Butte"}),
        ("account.created", actor, {"email": "bea@example.org", "role": "manager",
                                    "jurisdiction": "Butte"}),
        ("account.password_changed", "manager:bea@example.org",
         {"email": "bea@example.org", "other_sessions_ended": 0}),
        ("board.created", "manager:bea@example.org", {"board": "Board 1", "members": ["Ann", "Bo"],
                                                      "jurisdiction": "Butte"}),
        ("board.joined", "board:Board 1", {"board": "Board 1"}),
    ]  # fmt: skip
    with world.store.transaction() as session:
        stored = session.scalars(select(accounts.AuditBoard)).all()
        mine = next(b for b in stored if b.name == "Board 1" and b.jurisdiction == "Butte")
        assert mine.passphrase_hash.startswith("$argon2id$")
        assert passphrase not in mine.passphrase_hash
        assert mine.join_token_sha256 == accounts.sha256_text(path.rsplit("/", 1)[1])


def test_service_errors_are_shown_without_a_traceback(world: World) -> None:
    admin = world.session_for("admin")
    token = csrf_of(admin, "/admin")
    form = {"name": "X", "election": "E", "kind": "polling", "risk_limit": "0.05"}
    duplicate = admin.post("/admin/audits", data={**form, "csrf_token": token})
    assert duplicate.status_code == 400
    assert "an audit named &#39;X&#39; already exists in this database." in duplicate.text
    assert "Traceback" not in duplicate.text
    kind = admin.post("/admin/audits", data={**form, "name": "Z", "kind": "vibes",
                                             "csrf_token": token})  # fmt: skip
    assert kind.status_code == 400
    assert "unknown audit kind &#39;vibes&#39;" in kind.text
    again = admin.post(
        "/admin/audits/X/jurisdictions",
        data={"name": "A", "manager_email": "new@example.org", "csrf_token": token},
    )
    assert again.status_code == 400
    assert "jurisdiction &#39;A&#39; is already part of the audit." in again.text
    taken = admin.post(
        "/admin/audits/X/jurisdictions",
        data={"name": "D", "manager_email": "a@example.org", "csrf_token": token},
    )
    assert "an account for a@example.org exists already." in taken.text
    # Both failures rolled back: no jurisdiction D, no second event.
    assert [t for t, _, _ in _log(world, "X")].count("jurisdiction.added") == 2
    missing = admin.post("/admin/audits", data={"name": "Q", "csrf_token": token})
    assert missing.status_code == 400
    assert "fill in election, kind, risk_limit." in missing.text


def test_unknown_audits_and_jurisdictions_are_404(world: World) -> None:
    admin = world.session_for("admin")
    assert admin.get("/admin/audits/Nope").status_code == 404
    assert admin.get("/audits/X/jurisdictions/Nope").status_code == 404
    public = world.new_client().get("/public/Nope")
    assert public.status_code == 404
    assert "There is no audit named &#39;Nope&#39;." in public.text


def test_public_pages_show_the_seed_and_frozen_digests(world: World, tmp_path: Path) -> None:
    manifest, contests = write_election(tmp_path)
    with world.store.transaction() as session:
        audit = service.find_audit(session, "Y")
        service.load_manifest(session, audit, manifest, "C", "setup")
        service.add_contest(session, audit, contests, "Mayor", targeted=True, actor="setup")
        service.set_seed(session, audit, SEED, "setup")
        digests = frozen_digests(service.load_inputs(session, audit))
        head = session.scalars(
            select(Event.hash).where(Event.audit_id == audit.id).order_by(Event.seq.desc())
        ).first()
    observer = world.new_client()
    index = observer.get("/public")
    assert index.status_code == 200
    assert '<a href="/public/Y">Y</a> (E, sampling)' in index.text
    page = observer.get("/public/Y")
    assert page.status_code == 200
    assert f"<code>{SEED}</code>" in page.text
    assert sorted(digests) == ["contests.json", "manifest.csv"]
    for name, digest in digests.items():
        assert f"<tr><td>{name}</td><td><code>{digest}</code></td></tr>" in page.text
    assert f'<code class="hash">{head}</code>' in page.text
    assert "<td>Mayor</td><td>yes</td><td>Ann</td><td>0</td><td>1.0000</td><td>no</td>" in (
        page.text
    )
    unseeded = observer.get("/public/X")
    assert "not set yet" in unseeded.text
    assert "not frozen yet" in unseeded.text


def test_migration_matches_the_account_models(db_url: str) -> None:
    with Store.open(db_url) as store, store.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_heads() == ("0003_account_upkeep",) == (head_revision(),)
        assert compare_metadata(context, Base.metadata) == []
        inspector = inspect(connection)
        for name in ("app_user", "audit_board", "web_session"):
            table = Base.metadata.tables[name]
            want = {c.name for c in table.constraints if c.__class__.__name__ == "UniqueConstraint"}
            assert {c["name"] for c in inspector.get_unique_constraints(name)} == want
            assert {c["name"] for c in inspector.get_foreign_keys(name)} == {
                c.name for c in table.foreign_key_constraints
            }


def test_create_admin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert admin_count(url) == 0
    assert create_admin(url, " Root@Example.org ", "twelve chars") == "root@example.org"
    assert admin_count(url) == 1
    with pytest.raises(InputError, match="at least 12 are needed"):
        create_admin(url, "other@example.org", "short")
    with pytest.raises(InputError, match="exists already"):
        create_admin(url, "root@example.org", "another long one")
    with pytest.raises(InputError, match="is not an email address"):
        create_admin(url, "root", "another long one")
    with Store.open(url) as store, store.transaction() as session:
        user = session.scalars(select(accounts.User)).one()
        assert (user.role, user.audit_id, user.jurisdiction) == ("admin", None, None)
        assert user.password_hash.startswith("$argon2id$v=19$m=1024,t=1,p=")
