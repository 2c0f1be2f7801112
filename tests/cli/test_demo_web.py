"""The web demo: a seeded audit part-way through round 1, and a working account per role.

Everything the demo derives is seeded (the simulated election, the dice seed, the
planning simulations), so round 1's figures are exact; only the passwords, the
passphrase and the join token are random. Each printed credential is then used
against the web app itself, as a person following the printed table would.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from tallyguard.cli import demo_web
from tallyguard.cli.demo_web import run_web_demo, show_web_demo
from tallyguard.store import accounts
from tallyguard.store.db import Store
from tallyguard.store.events import load_chain, verify_log
from tallyguard.store.models import Audit
from tallyguard.web.app import create_app
from tests.web.conftest import csrf_of, login

AUDIT = "general-2026"
#: Round 1 as the demo leaves it: per county, cards drawn and recorded.
PROGRESS = {
    "J01": {"sampled": 20, "recorded": 14},
    "J02": {"sampled": 15, "recorded": 11},
    "J03": {"sampled": 49, "recorded": 25},
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The demo run once (with cheap Argon2 parameters, as in tests/web/conftest.py)."""
    out = tmp_path_factory.mktemp("demo") / "web"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            accounts,
            "PASSWORD_HASHER",
            PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
        )
        labels: list[str] = []
        web = run_web_demo(out, labels.append)
    assert len(labels) == demo_web.STEPS
    return out, web


def client_for(web: dict[str, Any]) -> TestClient:
    app = create_app(web["db"])
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://127.0.0.1:8000"
    return parts.path


def test_round_one_is_part_recorded_with_exact_figures(demo: tuple[Path, dict[str, Any]]) -> None:
    out, web = demo
    assert web["db"] == str((out / "web.db").resolve())
    assert web["serve"] == f"tallyguard serve --db {web['db']} --insecure-cookies"
    assert web["base_url"] == "http://127.0.0.1:8000"
    assert web["round"] == 1
    # 60 % of the 84 planned draws, taken in draw order, are recorded: 50 of them
    assert (web["sample_size"], web["sampled"], web["recorded"], web["waiting"]) == (84, 84, 50, 34)
    assert web["progress"] == PROGRESS
    assert web["audited"] == 50  # the recorded draws are the sample's prefix
    assert round(web["risks"]["Governor"], 4) == 0.1672  # above the 5 % limit: not yet
    assert round(web["risks"]["Measure A"], 4) == 0.0132
    assert web["board"]["waiting"] == 24 == 49 - 25  # J03's unrecorded cards
    # 1 audit, 3 counties, 1 manager, 3 manifests + 3 CVR files, 4 boards, 2 contests,
    # the seed, round 1, 3 boards joined, 50 cards recorded
    assert web["events"] == 1 + 3 + 1 + 6 + 4 + 2 + 1 + 1 + 3 + 50


def test_the_event_log_is_complete_and_verifies(demo: tuple[Path, dict[str, Any]]) -> None:
    _, web = demo
    with Store.open(web["db"]) as store, store.transaction() as session:
        audit = session.scalars(select(Audit).where(Audit.name == AUDIT)).one()
        assert verify_log(session, audit.id) == []
        chain = load_chain(session, audit.id)
    actors = {(event.type, event.actor) for event in chain}
    admin, manager = f"admin:{web['admin']['email']}", f"manager:{web['manager']['email']}"
    assert ("audit.created", admin) in actors
    assert ("account.created", admin) in actors
    assert ("seed.set", admin) in actors
    assert ("board.created", manager) in actors
    joined = sorted(e.actor for e in chain if e.type == "board.joined")
    assert joined == ["board:J01 Board 1", "board:J02 Board 1", "board:J03 Board 1"]
    recorders = {e.actor for e in chain if e.type == "readings.recorded"}
    assert recorders == set(joined)


def test_the_accounts_file_is_private_and_holds_the_credentials(
    demo: tuple[Path, dict[str, Any]],
) -> None:
    out, web = demo
    path = out / "web-accounts.txt"
    assert web["accounts_file"] == str(path.resolve())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    for secret in (
        web["admin"]["password"],
        web["manager"]["password"],
        web["board"]["passphrase"],
        web["board"]["join_url"],
        web["serve"],
    ):
        assert secret in text
    assert len(web["admin"]["password"]) >= accounts.MIN_PASSWORD


def test_the_admin_signs_in_and_sees_the_audit(demo: tuple[Path, dict[str, Any]]) -> None:
    _, web = demo
    with client_for(web) as client:
        wrong = login(client, web["admin"]["email"], "not the password")
        assert wrong.status_code == 401
        done = login(client, web["admin"]["email"], web["admin"]["password"])
        assert (done.status_code, done.headers["location"]) == (303, "/admin")
        page = client.get(path_of(web["admin"]["url"]))
        assert page.status_code == 200
        assert f"<h1>{AUDIT}</h1>" in page.text
        rounds = client.get(path_of(web["admin"]["rounds_url"]))
        assert rounds.status_code == 200
        # the risk so far and each county's progress, as the tables show them
        assert "<td>Governor</td><td>yes</td>" in rounds.text
        assert "<td>0.1672</td><td>no</td>" in rounds.text
        for place, row in PROGRESS.items():
            assert f"<td>{place}</td><td>{row['sampled']}</td><td>{row['recorded']}</td>" in (
                rounds.text
            )


def test_the_manager_signs_in_and_sees_their_county(demo: tuple[Path, dict[str, Any]]) -> None:
    _, web = demo
    manager = web["manager"]
    with client_for(web) as client:
        done = login(client, manager["email"], manager["password"])
        assert (done.status_code, done.headers["location"]) == (303, "/manager")
        home = client.get("/manager")
        assert home.headers["location"] == path_of(manager["url"])
        page = client.get(path_of(manager["url"]))
        assert page.status_code == 200
        assert "<h1>J03</h1>" in page.text
        assert "<td>J03 Board 2</td><td>Ana Silva and Ben Okafor</td><td>not yet</td>" in page.text
        assert "<td>J03 Board 1</td><td>Gus Lindqvist and Hana Sato</td><td>yes</td>" in page.text
        # the manager's scope is their own county
        assert client.get(f"/audits/{AUDIT}/jurisdictions/J01").status_code == 403


def test_the_board_joins_and_sees_its_waiting_ballots(demo: tuple[Path, dict[str, Any]]) -> None:
    _, web = demo
    board = web["board"]
    join = path_of(board["join_url"])
    with client_for(web) as client:
        token = csrf_of(client, join)
        joined = client.post(join, data={"passphrase": board["passphrase"], "csrf_token": token})
        assert (joined.status_code, joined.headers["location"]) == (303, "/board")
        listed = client.get(f"/audits/{AUDIT}/board/ballots")
        assert listed.status_code == 200
        assert "Round 1: 25 of 49 ballots recorded." in listed.text
        waiting = re.findall(r">Enter ballot [^<]+</a>", listed.text)
        assert len(waiting) == board["waiting"] == 24
        assert len(re.findall(r">Review ballot [^<]+</a>", listed.text)) == 25
        # the link is spent
        assert client.get(join).status_code == 404


def test_the_public_page_lists_the_audit_and_its_seed(demo: tuple[Path, dict[str, Any]]) -> None:
    _, web = demo
    with client_for(web) as client:
        index = client.get("/public")
        assert index.status_code == 200
        assert f'<a href="/public/{AUDIT}">{AUDIT}</a>' in index.text
        page = client.get(path_of(web["public_url"]))
        assert page.status_code == 200
        assert f"<code>{web['seed']}</code>" in page.text
        assert web["seed"] == demo_web.DICE_SEED


def test_the_table_shows_every_credential(
    demo: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, web = demo
    show_web_demo(web)
    shown = capsys.readouterr().out
    for text in (
        web["admin"]["email"],
        web["admin"]["password"],
        web["manager"]["email"],
        web["manager"]["password"],
        web["board"]["passphrase"],
        web["board"]["join_url"],
        web["serve"],
        f"/audits/{AUDIT}/jurisdictions/J03",
        "random for each demo run",
        "web-accounts.txt",
    ):
        assert text in shown, text
    lines = shown.splitlines()
    table = lines[: next(i for i, line in enumerate(lines) if "Start the server" in line)]
    assert len(table) == 10  # title, heading, rule, and 4 roles on 7 lines
    assert max(len(line) for line in table) <= 80  # fits a terminal of 80 columns


def test_a_run_replaces_an_earlier_store(
    demo: tuple[Path, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    _, first = demo
    out = tmp_path / "web"
    out.mkdir()
    (out / "web.db").write_text("not a database", encoding="utf-8")
    (out / "web-accounts.txt").write_text("stale accounts", encoding="utf-8")
    again = run_web_demo(out, lambda _: None)
    assert again["admin"]["password"] != first["admin"]["password"]
    assert again["board"]["passphrase"] != first["board"]["passphrase"]
    same = ("sample_size", "recorded", "progress", "risks", "events")
    assert {k: again[k] for k in same} == {k: first[k] for k in same}
    text = (out / "web-accounts.txt").read_text(encoding="utf-8")
    assert "stale accounts" not in text
    assert again["admin"]["password"] in text
