"""``tallyguard serve`` killed with SIGKILL while an audit board records ballots.

A polling audit of one jurisdiction (300 cards) samples 60 cards in its first
round. Its board joins through its one-time link and passphrase, then records
cards one by one over HTTP, each with its own interpretation, noting every card
whose POST got its 303 (the acknowledgement). After 30 acknowledgements the next
card is posted and the server process is killed with SIGKILL three quarters of a
typical POST's time later, while that request is in flight: before or after its
commit, so the card may be stored without its acknowledgement. The server is
started again on the same store; then

* every acknowledged card is stored with exactly the submitted interpretations;
* the card in flight is stored whole (both contests) or not at all, and
  submitting it again reports ``unchanged`` or ``recorded`` accordingly;
* the event log verifies and holds one ``readings.recorded`` event per card;
* the board goes on recording with the session it had before the kill.
"""

from __future__ import annotations

import json
import signal
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.boards import CardInterpretation
from tallyguard.audit.workflow.export import check_log
from tallyguard.audit.workflow.inputs import CardKey
from tallyguard.store import accounts
from tallyguard.store.db import Store
from tallyguard.store.events import load_chain, verify_log
from tallyguard.store.models import Event
from tallyguard.web.security import SESSION_COOKIE
from tests.audit.workflow.test_boards_load import Seen, stored_cards
from tests.web.conftest import CSRF, SEED
from tests.web.served import ServedApp, ballot_form

NAME = "Night"
CONTESTS = ("Mayor", "Council")
DRAWS = 60
ACKNOWLEDGED = 30
AFTER_RESTART = 5
#: When the kill comes, as a share of the median time a POST took before it.
KILL_AT = 0.75
#: Seconds allowed for one HTTP request.
TIMEOUT = 20.0
ELECTION = {
    "election": "E",
    "contests": [
        {"contest_id": "c1", "name": "Mayor", "kind": "plurality", "choices": ["Ann", "Bob"],
         "num_winners": 1, "votes_allowed": 1, "share_to_win": None, "ballots": 300,
         "totals": {"Ann": 200, "Bob": 100}, "winners": ["Ann"]},
        {"contest_id": "c2", "name": "Council", "kind": "plurality",
         "choices": ["Cy", "Di", "Ed"], "num_winners": 2, "votes_allowed": 2,
         "share_to_win": None, "ballots": 300, "totals": {"Cy": 240, "Di": 200, "Ed": 80},
         "winners": ["Cy", "Di"]},
    ],
}  # fmt: skip


def _set_up(store: Store, directory: Path) -> tuple[list[tuple[CardKey, str]], accounts.NewBoard]:
    """The audit sampling its first round, and its board; the board's cards and tickets."""
    manifest = directory / "manifest.csv"
    manifest.write_text(
        "Tabulator,Batch Name,Number of Ballots\nT1,B1,120\nT1,B2,100\nT2,B1,80\n", "utf-8"
    )
    contests = directory / "contests.json"
    contests.write_text(json.dumps(ELECTION), encoding="utf-8")
    with store.transaction() as s:
        audit = service.create_audit(s, name=NAME, election="E", kind="polling",
                                     risk_limit=0.1, method=None, actor="setup")  # fmt: skip
        service.add_jurisdiction(s, audit, "A", "setup")
        service.load_manifest(s, audit, manifest, "A", "setup")
        for contest, targeted in (("Mayor", True), ("Council", False)):
            service.add_contest(s, audit, contests, contest, targeted=targeted, actor="setup")
        service.set_seed(s, audit, SEED, "setup")
        board = accounts.create_board(s, audit, "Board 1", ("Ann Lee", "Bo Diaz"), "setup",
                                      datetime.now(UTC), "A")  # fmt: skip
    with store.transaction() as s:
        audit = service.find_audit(s, NAME)
        service.start_round(s, audit, DRAWS, "setup")
        sample = service.status(s, audit).sample
    cards = [(CardKey(d.jurisdiction, d.tabulator, d.batch_name, d.position), d.ticket)
             for d in sample]  # fmt: skip
    assert len({card for card, _ in cards}) == len(cards) == DRAWS
    return cards, board


def _seen(i: int) -> Seen:
    """The interpretation the board enters for its i-th card (each card a different one)."""
    mayor = (
        CardInterpretation("blank", (), f"card {i}")
        if i % 7 == 3
        else CardInterpretation("vote", (("Ann", "Bob")[i % 2],), f"card {i}")
    )
    council = (
        CardInterpretation("vote", ("Cy", "Di")),
        CardInterpretation("vote", ("Ed",)),
        CardInterpretation("blank"),
    )[i % 3]
    return {"Mayor": mayor, "Council": council}


def _path(ticket: str) -> str:
    return f"/audits/{NAME}/board/ballots/{ticket}"


def _token(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code, page.text[:300])
    found = CSRF.search(page.text)
    assert found is not None, path
    return found.group(1)


def _outcome(response: httpx.Response, ticket: str) -> str:
    """The outcome the 303 after recording ``ticket`` reports."""
    assert response.status_code == 303, (response.status_code, response.text[:500])
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["saved"] == [ticket]
    return query["outcome"][0]


def _record(client: httpx.Client, ticket: str, seen: Seen, took: list[float] | None = None) -> str:
    """Record one card as a board member would: open its form, then post it.

    The seconds the POST took are appended to ``took``, when given.
    """
    form = ballot_form(_token(client, _path(ticket)), CONTESTS, seen)
    began = time.perf_counter()
    response = client.post(_path(ticket), data=form)
    if took is not None:
        took.append(time.perf_counter() - began)
    return _outcome(response, ticket)


def _join(client: httpx.Client, board: accounts.NewBoard) -> str:
    """Join through the board's link and passphrase; the session token set."""
    link = f"/board/join/{board.join_token}"
    token = _token(client, link)
    joined = client.post(link, data={"passphrase": board.passphrase, "csrf_token": token})
    assert joined.status_code == 303, (joined.status_code, joined.text[:300])
    return str(client.cookies[SESSION_COOKIE])


def _check_store(db_url: str) -> dict[CardKey, Seen]:
    """The stored cards, once the log verifies and holds one reading event per card."""
    with Store.open(db_url) as store:
        stored = stored_cards(store)
        with store.transaction() as s:
            audit = service.find_audit(s, NAME)
            assert verify_log(s, audit.id) == []
            assert check_log(service.load_inputs(s, audit), load_chain(s, audit.id)) == []
            readings = s.scalars(
                select(func.count()).select_from(Event).where(Event.type == "readings.recorded")
            ).one()
            assert service.status(s, audit).rounds[0].audited == len(stored)
    assert readings == len(stored)
    return stored


@pytest.mark.slow
def test_acknowledged_ballots_survive_a_killed_server(db_url: str, tmp_path: Path) -> None:
    with Store.open(db_url) as store:
        cards, board = _set_up(store, tmp_path)
    server = ServedApp(db_url, tmp_path / "serve.log")
    in_flight: list[httpx.Response | BaseException] = []
    try:
        started = time.perf_counter()
        server.start()
        with httpx.Client(base_url=server.base, timeout=TIMEOUT) as client:
            session_token = _join(client, board)
            acked: list[int] = []
            posts: list[float] = []
            for i, (_, ticket) in enumerate(cards[:ACKNOWLEDGED]):
                assert _record(client, ticket, _seen(i), posts) == "recorded"
                acked.append(i)
            # The next card: its form is open, the POST goes out and the server dies
            # three quarters into the time a POST took so far: mostly after its commit.
            last = ACKNOWLEDGED
            form = ballot_form(_token(client, _path(cards[last][1])), CONTESTS, _seen(last))

            def post() -> None:
                try:
                    in_flight.append(client.post(_path(cards[last][1]), data=form))
                except BaseException as error:  # the connection dies with the server
                    in_flight.append(error)

            sender = threading.Thread(target=post, daemon=True)
            sender.start()
            time.sleep(statistics.median(posts) * KILL_AT)
            assert server.kill() == -signal.SIGKILL
            sender.join(timeout=TIMEOUT)
            assert not sender.is_alive()
        killed = time.perf_counter()

        server.start()
        assert len(in_flight) == 1
        answered = isinstance(in_flight[0], httpx.Response)
        if answered:  # acknowledged before the kill
            assert isinstance(in_flight[0], httpx.Response)
            assert _outcome(in_flight[0], cards[last][1]) == "recorded"
            acked.append(last)
        else:
            assert isinstance(in_flight[0], httpx.TransportError), in_flight[0]
        stored = _check_store(db_url)
        want = {cards[i][0]: _seen(i) for i in acked}
        assert {card: stored.get(card) for card in want} == want
        flight_stored = cards[last][0] in stored
        assert set(stored) == set(want) | ({cards[last][0]} if flight_stored else set())
        if flight_stored:
            assert stored[cards[last][0]] == _seen(last)

        # The same session goes on after the restart, on the new server.
        with httpx.Client(
            base_url=server.base, timeout=TIMEOUT, cookies={SESSION_COOKIE: session_token}
        ) as again:
            listing = again.get(f"/audits/{NAME}/board/ballots")
            assert listing.status_code == 200
            recorded = len(stored)
            assert f"Round 1: {recorded} of {DRAWS} ballots recorded." in listing.text
            if not answered:
                outcome = _record(again, cards[last][1], _seen(last))
                assert outcome == ("unchanged" if flight_stored else "recorded")
            following = range(last + 1, last + 1 + AFTER_RESTART)
            for i in following:
                assert _record(again, cards[i][1], _seen(i)) == "recorded"
        finished = time.perf_counter()
    finally:
        server.stop()
    everything = [*range(last + 1), *following]
    final = _check_store(db_url)
    assert final == {cards[i][0]: _seen(i) for i in everything}
    in_flight_was = (
        "acknowledged" if answered else ("stored" if flight_stored else "lost, not stored")
    )
    print(
        f"\n{len(acked)} acknowledged before SIGKILL ({killed - started:.1f} s, POST median "
        f"{statistics.median(posts) * 1000:.0f} ms); card in flight "
        f"{in_flight_was}; restart and {AFTER_RESTART} more cards in {finished - killed:.1f} s"
    )
