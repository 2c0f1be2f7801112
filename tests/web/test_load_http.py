"""Fifty audit boards record ballots at once through ``tallyguard serve`` (PostgreSQL).

A ballot-polling audit of a simulated election of 10,448 cards (40 units, three
jurisdictions) samples 50 × ``PER_BOARD`` cards in its first round; 50 audit boards
share them. ``tallyguard serve`` runs as its own process on loopback; each
board is a thread with its own HTTP client and server-side session, and records its
cards as a person would: it opens a card's form (which carries the CSRF token) and
posts the interpretation. Of the cards, one in twenty is

* posted twice at the same moment by the same board (a double click: two
  connections, the same form), and another one in twenty is
* corrected by its board five cards later (a second look adds a comment, so the
  correction always differs from the first reading).

Every response must be a success (200 for a form, 303 after recording) whose
redirect reports the outcome: every card ``recorded`` once, the double clicks
``unchanged`` and the corrections ``corrected``. Afterwards the store holds every
card exactly once with its last submitted interpretation, the event log verifies
and replays onto the table, and it holds one ``readings.recorded`` event per first
reading or correction, none for the second click. Every request has a timeout and
the recording a time budget, after which the boards stop and the test fails.

``make test`` runs 50 boards × 10 cards (about 1,050 requests); the issue's full
size, 50 × 100 (about 10,500 requests, a quarter of an hour on two cores), runs
with ``TALLYGUARD_LOAD_PER_BOARD=100`` (and ``TALLYGUARD_LOAD_WORKERS=2`` for
``tallyguard serve --workers 2``).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.boards import CardInterpretation
from tallyguard.audit.workflow.export import check_log
from tallyguard.audit.workflow.inputs import CardKey
from tallyguard.simulate import parse_config, run_simulation
from tallyguard.store import accounts
from tallyguard.store.db import Store
from tallyguard.store.events import load_chain, verify_log
from tallyguard.store.models import Event
from tallyguard.web.security import SESSION_COOKIE
from tests.audit.workflow.test_boards_load import Seen, stored_cards
from tests.web.conftest import CSRF, SEED
from tests.web.served import ballot_form, serving

NAME = "Load"
CARDS = 10_448
BOARDS = 50
PER_BOARD = int(os.environ.get("TALLYGUARD_LOAD_PER_BOARD", "10"))
DOUBLED = CORRECTED = BOARDS * PER_BOARD // 20
CONTESTS = ("Governor", "City Council")  # in the form's order
GOVERNOR = ("Alice Avery", "Bob Brooks", "Carmen Cruz", "Dev Desai")
COUNCIL = ("Erin Ellis", "Farid Fahmy", "Grace Gill", "Hugo Hale", "Iris Ito")
#: Seconds allowed for one HTTP request, and for all the recording.
TIMEOUT = 30.0
BUDGET = 0.25 * BOARDS * PER_BOARD
WORKERS = int(os.environ.get("TALLYGUARD_LOAD_WORKERS", "1"))  # server processes

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


@dataclass(frozen=True)
class Task:
    """One submission of a board: a card, its reading, and whether it is double-clicked."""

    card: CardKey
    ticket: str
    seen: Seen
    double: bool = False


@dataclass
class Tally:
    """What the boards saw, gathered from every thread (list appends are atomic)."""

    statuses: list[int] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    get_seconds: list[float] = field(default_factory=list)
    post_seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _set_up(store: Store, directory: Path) -> tuple[list[tuple[CardKey, str]], list[str]]:
    """The polling audit sampling 50 × ``PER_BOARD`` cards, and its boards' session tokens."""
    config = {"seed": "web-load", "units": 40, "regions": 3, "jurisdictions": 3,
              "mean_electorate": 400, "batch_size": 200, "cvr_formats": ["csv"]}  # fmt: skip
    run_simulation(parse_config(config), directory)
    lines = (directory / "manifest.csv").read_text(encoding="utf-8").splitlines()[1:]
    tokens = []
    now = datetime.now(UTC)  # the served app's clock: sessions are checked against it
    with store.transaction() as s:
        audit = service.create_audit(s, name=NAME, election="Sim", kind="polling",
                                     risk_limit=0.05, method=None, actor="setup")  # fmt: skip
        for place in sorted({line.split(",", 1)[0] for line in lines}):
            service.add_jurisdiction(s, audit, place, "setup")
        service.load_manifest(s, audit, directory / "manifest.csv", None, "setup")
        contests = directory / "contests.json"
        service.add_contest(s, audit, contests, "Governor", targeted=True, actor="setup")
        service.add_contest(s, audit, contests, "City Council", targeted=False, actor="setup")
        service.set_seed(s, audit, SEED, "setup")
        for k in range(BOARDS):
            new = accounts.create_board(s, audit, f"Board {k}", (f"A{k}", f"B{k}"), "setup", now)
            token, _ = accounts.create_session(s, now, board=new.board)
            tokens.append(token)
    with store.transaction() as s:
        audit = service.find_audit(s, NAME)
        service.start_round(s, audit, BOARDS * PER_BOARD, "setup")
        result = service.status(s, audit)
    assert result.population == CARDS
    sample = [(CardKey(d.jurisdiction, d.tabulator, d.batch_name, d.position), d.ticket)
              for d in result.sample]  # fmt: skip
    assert len({card for card, _ in sample}) == len(sample) == BOARDS * PER_BOARD
    return sample, tokens


def _interpretation(rng: np.random.Generator, note: str = "") -> Seen:
    governor = CardInterpretation("vote", (GOVERNOR[int(rng.integers(4))],), note)
    marks = int(rng.integers(3))  # 0 (blank), 1 or 2 of the five
    chosen = sorted(rng.choice(len(COUNCIL), size=marks, replace=False).tolist())
    council = (
        CardInterpretation("vote", tuple(COUNCIL[i] for i in chosen))
        if marks
        else CardInterpretation("blank")
    )
    return {"Governor": governor, "City Council": council}


def _plan(sample: list[tuple[CardKey, str]]) -> tuple[list[list[Task]], dict[CardKey, Seen]]:
    """Each board's submissions in order, and every card's last submitted reading."""
    rng = np.random.default_rng(20261104)
    first = {card: _interpretation(rng) for card, _ in sample}
    picked = rng.permutation(len(sample))
    doubled = {sample[i][0] for i in picked[:DOUBLED]}
    corrected = {
        sample[i][0]: _interpretation(rng, "second look")
        for i in picked[DOUBLED : DOUBLED + CORRECTED]
    }
    tasks: list[list[Task]] = []
    for k in range(BOARDS):
        mine = sample[k * PER_BOARD : (k + 1) * PER_BOARD]
        own: list[Task] = []
        for step in range(PER_BOARD + 5):
            if step < PER_BOARD:
                card, ticket = mine[step]
                own.append(Task(card, ticket, first[card], card in doubled))
            if step >= 5 and mine[step - 5][0] in corrected:
                card, ticket = mine[step - 5]
                own.append(Task(card, ticket, corrected[card]))
        tasks.append(own)
    return tasks, {card: corrected.get(card, seen) for card, seen in first.items()}


def _percentiles(seconds: list[float]) -> str:
    if not seconds:
        return "none"
    p50, p95, p99 = np.percentile(np.array(seconds) * 1000, [50, 95, 99])
    return f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms, max {max(seconds) * 1000:.0f} ms"


class Board:
    """One audit board: a thread, two HTTP clients (the second for a double click)."""

    def __init__(self, base: str, token: str, tasks: list[Task], tally: Tally) -> None:
        self.tasks = tasks
        self.tally = tally
        self.clients = [
            httpx.Client(base_url=base, timeout=TIMEOUT, cookies={SESSION_COOKIE: token})
            for _ in range(2)
        ]

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def _post(self, client: httpx.Client, task: Task, form: dict[str, str | list[str]]) -> None:
        path = f"/audits/{NAME}/board/ballots/{task.ticket}"
        began = time.perf_counter()
        response = client.post(path, data=form)
        self.tally.post_seconds.append(time.perf_counter() - began)
        self.tally.statuses.append(response.status_code)
        if response.status_code != 303:
            self.tally.failures.append(f"POST {task.ticket}: {response.status_code}")
            return
        query = parse_qs(urlsplit(response.headers["location"]).query)
        if query.get("saved") != [task.ticket]:
            self.tally.failures.append(f"POST {task.ticket}: redirected to {query}")
        self.tally.outcomes.append(query.get("outcome", ["?"])[0])

    def _second_click(
        self, task: Task, form: dict[str, str | list[str]], both: threading.Barrier
    ) -> None:
        try:
            both.wait()
            self._post(self.clients[1], task, form)
        except Exception as error:  # reported by the test
            self.tally.failures.append(f"second click on {task.ticket}: {error!r}")

    def run(self, ready: threading.Barrier, deadline: float) -> None:
        try:
            ready.wait()
            for task in self.tasks:
                if time.monotonic() > deadline:
                    self.tally.failures.append("out of time")
                    return
                path = f"/audits/{NAME}/board/ballots/{task.ticket}"
                began = time.perf_counter()
                page = self.clients[0].get(path)
                self.tally.get_seconds.append(time.perf_counter() - began)
                self.tally.statuses.append(page.status_code)
                found = CSRF.search(page.text)
                if page.status_code != 200 or found is None:
                    self.tally.failures.append(f"GET {task.ticket}: {page.status_code}")
                    return
                form = ballot_form(found.group(1), CONTESTS, task.seen)
                if not task.double:
                    self._post(self.clients[0], task, form)
                    continue
                both = threading.Barrier(2, timeout=TIMEOUT)
                second = threading.Thread(target=self._second_click, args=(task, form, both))
                second.start()
                both.wait()
                self._post(self.clients[0], task, form)
                second.join(timeout=2 * TIMEOUT)
        except Exception as error:  # reported by the test
            self.tally.failures.append(f"board thread: {error!r}")


@pytest.mark.slow
def test_fifty_boards_record_five_thousand_cards_over_http(db_url: str, tmp_path: Path) -> None:
    with Store.open(db_url) as store:
        sample, tokens = _set_up(store, tmp_path / "election")
    tasks, expected = _plan(sample)
    submissions = sum(len(t) for t in tasks) + sum(t.double for own in tasks for t in own)
    assert submissions == BOARDS * PER_BOARD + DOUBLED + CORRECTED
    tally = Tally()
    with serving(db_url, tmp_path / "serve.log", workers=WORKERS) as server:
        boards = [Board(server.base, tokens[k], tasks[k], tally) for k in range(BOARDS)]
        ready = threading.Barrier(BOARDS + 1, timeout=60)
        try:
            deadline = time.monotonic() + BUDGET
            threads = [
                threading.Thread(target=b.run, args=(ready, deadline), daemon=True) for b in boards
            ]
            for thread in threads:
                thread.start()
            ready.wait()
            started = time.perf_counter()
            for thread in threads:
                thread.join(timeout=max(0.0, deadline - time.monotonic()) + 2 * TIMEOUT)
            elapsed = time.perf_counter() - started
            assert not any(thread.is_alive() for thread in threads)
        finally:
            for board in boards:
                board.close()
    print(
        f"\n{len(tally.post_seconds):,} of {submissions:,} ballot posts by {BOARDS} boards over "
        f"HTTP in {elapsed:.1f} s: {len(tally.post_seconds) / elapsed:,.1f} cards/s "
        f"({len(tally.statuses) / elapsed:,.1f} requests/s)"
        f"\n  form GET: {_percentiles(tally.get_seconds)}"
        f"\n  POST:     {_percentiles(tally.post_seconds)}"
    )
    assert not tally.failures, f"{len(tally.failures)} failures:\n" + "\n".join(tally.failures[:10])
    assert Counter(tally.statuses) == {200: BOARDS * PER_BOARD + CORRECTED, 303: submissions}
    assert Counter(tally.outcomes) == {
        "recorded": BOARDS * PER_BOARD,
        "unchanged": DOUBLED,
        "corrected": CORRECTED,
    }

    with Store.open(db_url) as store:
        assert stored_cards(store) == expected
        with store.transaction() as s:
            audit = service.find_audit(s, NAME)
            assert verify_log(s, audit.id) == []
            readings = s.scalars(
                select(func.count()).select_from(Event).where(Event.type == "readings.recorded")
            ).one()
            assert readings == BOARDS * PER_BOARD + CORRECTED
            assert check_log(service.load_inputs(s, audit), load_chain(s, audit.id)) == []
            assert service.status(s, audit).rounds[0].audited == BOARDS * PER_BOARD
