"""An audit board's ballots, one ballot's form and its review, through the web app.

Audit X of the ``world`` fixture gets two identical manifests (jurisdictions A
and B, tabulators T1 and T2), the contests Mayor (vote for 1) and Council
(vote for 2), the public seed and a first round of 12 draws: 8 of them fall in
A, the jurisdiction of "Board 1", and 4 in B.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tallyguard.store.models import Audit, Event, Interpretation
from tallyguard.web.security import ROUTES
from tests.web.conftest import (
    World,
    assert_only_htmx,
    csrf_of,
    mayor_and_council,
    start_sampling,
)

LIST = "/audits/X/board/ballots"
#: Board 1's cards of round 1 in retrieval order: (tabulator, batch, position, ticket).
A_CARDS = [
    ("T1", "B1", 7, "0.018141643413292510"),
    ("T1", "B1", 9, "0.064770327679251443"),
    ("T1", "B1", 13, "0.126522656835343157"),
    ("T1", "B1", 29, "0.044875207569396415"),
    ("T2", "B1", 2, "0.124710338656898193"),
    ("T2", "B1", 4, "0.089338572698060342"),
    ("T2", "B1", 12, "0.076833708122554389"),
    ("T2", "B1", 18, "0.032166003067804586"),
]
#: The round's cards in jurisdiction B.
B_TICKETS = [
    "0.015898567036080579",
    "0.044565835425094216",
    "0.087805302815846257",
    "0.124056177532264306",
]
FIRST, SECOND = A_CARDS[0][3], A_CARDS[1][3]
CONTESTS = mayor_and_council(150, {"Ann": 100, "Bob": 50}, {"Cy": 120, "Di": 100, "Ed": 40})


@pytest.fixture
def sampling(world: World, tmp_path: Path) -> World:
    """The world with audit X sampling its first round of 12 draws."""
    manifest = "Tabulator,Batch Name,Number of Ballots\nT1,B1,30\nT1,B2,20\nT2,B1,25\n"
    start_sampling(world, tmp_path, manifest, CONTESTS, 12)
    return world


def _events(world: World) -> list[tuple[str, str, dict[str, object]]]:
    with world.store.transaction() as session:
        audit_id = session.scalars(select(Audit.id).where(Audit.name == "X")).one()
        rows = session.scalars(
            select(Event).where(Event.audit_id == audit_id, Event.type == "readings.recorded")
        )
        return [(e.type, e.actor, json.loads(e.payload)) for e in rows]


def _stored(world: World) -> list[tuple[int, str, list[str], str, str]]:
    with world.store.transaction() as session:
        rows = session.scalars(select(Interpretation).order_by(Interpretation.id))
        return [(r.position, r.result, list(r.choices), r.comment, r.board) for r in rows]


def _form(token: str, **fields: str | list[str]) -> dict[str, str | list[str]]:
    """A ballot form: Mayor for Ann, Council for Cy and Di, unless ``fields`` say otherwise."""
    base: dict[str, str | list[str]] = {
        "csrf_token": token,
        "c0-result": "vote",
        "c0-choice": ["Ann"],
        "c0-comment": "",
        "c1-result": "vote",
        "c1-choice": ["Cy", "Di"],
        "c1-comment": "",
    }
    return {**base, **fields}


def _tickets_listed(text: str) -> list[str]:
    return re.findall(r'href="/audits/X/board/ballots/([0-9.]+)"', text)


def test_the_board_routes_allow_boards_only() -> None:
    declared = {key: set(roles) for key, roles in ROUTES.items() if "/board/" in key[1]}
    assert declared == {
        ("GET", "/audits/{audit}/board/ballots"): {"board"},
        ("GET", "/audits/{audit}/board/ballots/{ticket}"): {"board"},
        ("POST", "/audits/{audit}/board/ballots/{ticket}"): {"board"},
        ("GET", "/audits/{audit}/board/sign-off"): {"board"},
        ("POST", "/audits/{audit}/board/sign-off"): {"board"},
        ("GET", "/board/join/{token}"): {"public"},
        ("POST", "/board/join/{token}"): {"public"},
    }


def test_a_board_sees_only_its_cards_in_retrieval_order(sampling: World) -> None:
    board = sampling.session_for("board:X")
    page = board.get(LIST)
    assert page.status_code == 200
    assert _tickets_listed(page.text) == [ticket for *_, ticket in A_CARDS]
    assert "Round 1: 0 of 8 ballots recorded." in page.text
    assert page.text.count("not yet recorded") == 8
    for ticket in B_TICKETS:
        assert ticket not in page.text
    row = "<tr><td>A</td><td>T2</td><td>B1</td><td>12</td><td></td><td><code>0.076833708122554389"
    assert row in page.text
    # A card of jurisdiction B is not this board's to open or record.
    other = board.get(f"{LIST}/{B_TICKETS[0]}")
    assert other.status_code == 403
    assert "belongs to another jurisdiction" in other.text
    posted = board.post(f"{LIST}/{B_TICKETS[0]}", data=_form(csrf_of(board, LIST)))
    assert posted.status_code == 403
    assert board.get(f"{LIST}/0.5").status_code == 404
    assert _events(sampling) == []


def test_the_form_labels_every_input(sampling: World) -> None:
    page = sampling.session_for("board:X").get(f"{LIST}/{FIRST}")
    assert page.status_code == 200
    inputs = re.findall(r'<input type="(?:checkbox|radio|text)" id="([^"]+)"', page.text)
    assert len(inputs) == 2 + 5 + 1 + 3 + 5 + 1
    for ident in inputs:
        assert f'<label for="{ident}">' in page.text
    assert "<legend>Mayor (vote for up to 1)</legend>" in page.text
    assert "<legend>Council (vote for up to 2)</legend>" in page.text
    assert 'id="c0-result-vote" name="c0-result" value="vote" checked' in page.text
    for text in (page.text, sampling.session_for("board:X").get(LIST).text):
        assert_only_htmx(text)
        assert "<style" not in text
        assert " style=" not in text


def test_a_board_records_a_card(sampling: World) -> None:
    board = sampling.session_for("board:X")
    token = csrf_of(board, f"{LIST}/{FIRST}")
    done = board.post(f"{LIST}/{FIRST}", data=_form(token, **{"c1-comment": " torn corner "}))
    assert done.status_code == 303
    assert done.headers["location"] == f"{LIST}/{SECOND}?saved={FIRST}&outcome=recorded"
    assert _stored(sampling) == [
        (7, "vote", ["Ann"], "", "Board 1"),
        (7, "vote", ["Cy", "Di"], "torn corner", "Board 1"),
    ]
    events = _events(sampling)
    assert len(events) == 1
    _, actor, payload = events[0]
    assert actor == "board:Board 1"
    assert payload["outcome"] == "recorded"
    assert payload["card"] == ["A", "T1", "B1", 7]
    assert payload["readings"] == [
        ["A", "T1", "B1", 7, "Mayor", "Ann", ""],
        ["A", "T1", "B1", 7, "Council", "Cy;Di", "torn corner"],
    ]
    following = board.get(done.headers["location"])
    assert f"Ballot {FIRST}: recorded." in following.text
    listing = board.get(LIST)
    assert "Round 1: 1 of 8 ballots recorded." in listing.text
    # The form shows what is stored.
    again = board.get(f"{LIST}/{FIRST}").text
    assert 'name="c0-choice" value="Ann" checked' in again
    assert 'name="c0-choice" value="Bob">' in again
    assert 'name="c1-comment" value="torn corner"' in again
    review = board.get("/audits/X/board/sign-off")
    assert review.status_code == 200
    assert "<td>Council</td><td>Cy;Di</td><td>torn corner</td>" in review.text
    assert "1 of 8 ballots of this board's list recorded; 1 of them by this board" in (review.text)


def test_a_double_submit_records_once(sampling: World) -> None:
    board = sampling.session_for("board:X")
    token = csrf_of(board, f"{LIST}/{FIRST}")
    first = board.post(f"{LIST}/{FIRST}", data=_form(token))
    second = board.post(f"{LIST}/{FIRST}", data=_form(token))
    assert (first.status_code, second.status_code) == (303, 303)
    assert second.headers["location"] == f"{LIST}/{SECOND}?saved={FIRST}&outcome=unchanged"
    assert (
        "already recorded exactly so; nothing changed" in board.get(second.headers["location"]).text
    )
    assert len(_events(sampling)) == 1
    assert len(_stored(sampling)) == 2
    # A correction is a second event; the last card recorded sends the board to its list.
    changed = board.post(f"{LIST}/{FIRST}", data=_form(token, **{"c0-choice": ["Bob"]}))
    assert changed.headers["location"].endswith("outcome=corrected")
    assert [e[2]["outcome"] for e in _events(sampling)] == ["recorded", "corrected"]


def test_the_last_card_leads_back_to_the_list(sampling: World) -> None:
    board = sampling.session_for("board:X")
    token = csrf_of(board, LIST)
    for *_, ticket in A_CARDS[:-1]:
        assert board.post(f"{LIST}/{ticket}", data=_form(token)).status_code == 303
    last = A_CARDS[-1][3]
    not_found: dict[str, str | list[str]] = {"c0-result": "not_found", "c0-choice": []}
    done = board.post(f"{LIST}/{last}", data=_form(token, **not_found, **{"c1-choice": []}))
    assert done.headers["location"] == f"{LIST}?saved={last}&outcome=recorded"
    assert "Round 1: 8 of 8 ballots recorded." in board.get(done.headers["location"]).text
    assert _stored(sampling)[-2:] == [
        (18, "not_found", [], "", "Board 1"),
        (18, "not_found", [], "", "Board 1"),
    ]


def test_an_invalid_choice_is_shown_next_to_its_field(sampling: World) -> None:
    board = sampling.session_for("board:X")
    token = csrf_of(board, f"{LIST}/{FIRST}")
    unknown = board.post(f"{LIST}/{FIRST}", data=_form(token, **{"c0-choice": ["Zed"]}))
    assert unknown.status_code == 400
    mayor = unknown.text.split('id="c0"', 1)[1].split('id="c1"', 1)[0]
    assert (
        '<p class="field-error" id="c0-choices-error">&#39;Zed&#39; is not a choice of '
        "&#39;Mayor&#39;." in mayor
    )
    assert 'aria-describedby="c0-choices-error"' in mayor
    assert "field-error" not in unknown.text.split('id="c1"', 1)[1]
    too_many = board.post(f"{LIST}/{FIRST}", data=_form(token, **{"c0-choice": ["Ann", "Bob"]}))
    assert too_many.status_code == 400
    assert 'id="c0-choices-error">2 choices are checked, but Mayor allows 1 vote: ' in too_many.text
    # The form keeps what was entered.
    assert 'name="c0-choice" value="Bob" checked' in too_many.text
    blank = board.post(f"{LIST}/{FIRST}", data=_form(token, **{"c1-result": "blank"}))
    assert 'id="c1-choices-error">Blank (no choice marked) is chosen' in blank.text
    assert _events(sampling) == []
    assert _stored(sampling) == []


def test_another_audits_board_is_refused(sampling: World) -> None:
    other = sampling.session_for("board:Y")
    token = csrf_of(other, "/audits/Y/board")
    for response in (
        other.get(LIST),
        other.get(f"{LIST}/{FIRST}"),
        other.post(f"{LIST}/{FIRST}", data=_form(token)),
        other.get("/audits/X/board/sign-off"),
    ):
        assert response.status_code == 403
        assert "Your account may not open this page." in response.text
    # Its own audit has no open round.
    assert "No round is open" in other.get("/audits/Y/board/ballots").text
    assert _events(sampling) == []


def test_a_post_without_the_csrf_token_is_refused(sampling: World) -> None:
    board = sampling.session_for("board:X")
    token = csrf_of(board, LIST)
    for sent in ({}, {"csrf_token": "forged"}):
        form = {**_form(token), **sent}
        if not sent:
            del form["csrf_token"]
        response = board.post(f"{LIST}/{FIRST}", data=form)
        assert response.status_code == 403
        assert "security token is missing or out of date" in response.text
    assert _events(sampling) == []
    with sampling.store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Interpretation)) == 0


def test_anonymous_visitors_are_sent_to_login(sampling: World) -> None:
    client: TestClient = sampling.new_client()
    response = client.get(LIST)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Faudits%2FX%2Fboard%2Fballots"


def test_sign_off_records_the_boards_review(sampling: World) -> None:
    board = sampling.session_for("board:X")
    token = csrf_of(board, f"{LIST}/{FIRST}")
    assert board.post(f"{LIST}/{FIRST}", data=_form(token)).status_code == 303
    page = "/audits/X/board/sign-off"
    token = csrf_of(board, page)
    wrong = board.post(page, data={"csrf_token": token, "member_1": "Ann Lee", "member_2": "Eve"})
    assert wrong.status_code == 400
    assert "Both members type their own names" in wrong.text
    typed = {"csrf_token": token, "member_1": " bo diaz", "member_2": "ANN LEE "}
    done = board.post(page, data=typed)
    assert (done.status_code, done.headers["location"]) == (303, page)
    with sampling.store.transaction() as session:
        rows = session.execute(
            select(Event.seq, Event.actor, Event.payload).where(Event.type.like("%.%"))
        ).all()
    readings = [seq for seq, _, payload in rows if '"outcome"' in payload]
    signed = [(actor, json.loads(p)) for _, actor, p in rows if '"last_readings_seq"' in p]
    assert len(signed) == 1
    actor, payload = signed[0]
    assert actor == "board:Board 1"
    assert payload == {
        "round": 1,
        "board": "Board 1",
        "jurisdiction": "A",
        "members": ["Ann Lee", "Bo Diaz"],
        "cards": [["A", "T1", "B1", 7, FIRST]],
        "last_readings_seq": max(readings),
    }
    assert "Signed off by Ann Lee and Bo Diaz" in board.get(page).text


def test_the_retrieval_list_of_a_jurisdiction(sampling: World) -> None:
    url = "/audits/X/jurisdictions/A/retrieval.csv"
    response = sampling.session_for("manager:A").get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="retrieval-round-1-A.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["ticket"] for row in rows] == [ticket for *_, ticket in A_CARDS]
    assert {row["jurisdiction"] for row in rows} == {"A"}
    assert {row["round"] for row in rows} == {"1"}
    # the other jurisdiction's manager may not read it
    assert sampling.session_for("manager:B").get(url).status_code == 403
