"""Many audit boards recording cards at once, and a recorder killed mid-way (PostgreSQL).

A ballot-polling audit of a simulated election of 10,549 cards (40 units,
three jurisdictions) samples 5,000 of them in its first round. Then

* **load**: 50 boards, each a thread with its own connection, record 100 cards
  each through :func:`record_card_with_retry`; 250 cards are submitted twice at
  about the same moment (a double click: the next board sends the same
  interpretation) and 250 are corrected by their own board a few cards later.
  Afterwards every card holds exactly its last submission, the log verifies and
  replays onto the table, and it holds one event per recorded or corrected card;
* **durability**: a separate process records cards one by one and prints each
  card once its transaction has committed; it is killed with SIGKILL after 30
  acknowledgements, and every acknowledged card is in the store.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.boards import (
    CardInterpretation,
    RecordOutcome,
    record_card_with_retry,
)
from tallyguard.audit.workflow.export import check_log
from tallyguard.audit.workflow.inputs import CardKey
from tallyguard.simulate import parse_config, run_simulation
from tallyguard.store.db import Store
from tallyguard.store.events import load_chain, verify_log
from tallyguard.store.models import Batch, Contest, Event, Interpretation, Jurisdiction

from .conftest import SEED

NAME = "Load"
CARDS = 10_549
BOARDS = 50
PER_BOARD = 100
DOUBLED = 250
CORRECTED = 250
GOVERNOR = ("Alice Avery", "Bob Brooks", "Carmen Cruz", "Dev Desai")
COUNCIL = ("Erin Ellis", "Farid Fahmy", "Grace Gill", "Hugo Hale", "Iris Ito")
Seen = dict[str, CardInterpretation]

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


@pytest.fixture(scope="module")
def big_election(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("boards") / "election"
    config = {"seed": "boards-load", "units": 40, "regions": 3, "jurisdictions": 3,
              "mean_electorate": 400, "batch_size": 200, "cvr_formats": ["csv"]}  # fmt: skip
    run_simulation(parse_config(config), directory)
    return directory


def _set_up(store: Store, directory: Path, draws: int) -> list[CardKey]:
    """A polling audit of the election, Governor targeted; its first round's sample."""
    lines = (directory / "manifest.csv").read_text(encoding="utf-8").splitlines()[1:]
    with store.transaction() as s:
        audit = service.create_audit(s, name=NAME, election="Sim", kind="polling",
                                     risk_limit=0.05, method=None, actor="t")  # fmt: skip
        for name in sorted({line.split(",", 1)[0] for line in lines}):
            service.add_jurisdiction(s, audit, name, "t")
        service.load_manifest(s, audit, directory / "manifest.csv", None, "t")
        contests = directory / "contests.json"
        service.add_contest(s, audit, contests, "Governor", targeted=True, actor="t")
        service.add_contest(s, audit, contests, "City Council", targeted=False, actor="t")
        service.set_seed(s, audit, SEED, "t")
    with store.transaction() as s:
        audit = service.find_audit(s, NAME)
        service.start_round(s, audit, draws, "t")
        result = service.status(s, audit)
    assert result.population == CARDS
    return [CardKey(d.jurisdiction, d.tabulator, d.batch_name, d.position) for d in result.sample]


def _interpretation(rng: np.random.Generator, note: str = "") -> Seen:
    governor = CardInterpretation("vote", (GOVERNOR[int(rng.integers(4))],), note)
    marks = int(rng.integers(3))  # 0 (blank), 1 or 2 of the five
    chosen = tuple(sorted(rng.choice(len(COUNCIL), size=marks, replace=False).tolist()))
    council = (
        CardInterpretation("vote", tuple(COUNCIL[i] for i in chosen))
        if marks
        else CardInterpretation("blank")
    )
    return {"Governor": governor, "City Council": council}


def stored_cards(store: Store) -> dict[CardKey, Seen]:
    """Every recorded card's interpretations, as stored (one row per card and contest)."""
    query = (
        select(Jurisdiction.name, Batch.tabulator, Batch.batch_name, Interpretation.position,
               Contest.name, Interpretation.result, Interpretation.choices,
               Interpretation.comment)
        .join(Batch, Batch.id == Interpretation.batch_id)
        .join(Jurisdiction, Jurisdiction.id == Batch.jurisdiction_id)
        .join(Contest, Contest.id == Interpretation.contest_id)
    )  # fmt: skip
    found: dict[CardKey, Seen] = {}
    with store.transaction() as s:
        for j, t, b, p, contest, result, choices, comment in s.execute(query):
            seen = found.setdefault(CardKey(j, t, b, p), {})
            assert contest not in seen
            seen[contest] = CardInterpretation(result, tuple(choices), comment)
    return found


@pytest.mark.slow
def test_fifty_boards_record_five_thousand_cards(db_url: str, big_election: Path) -> None:
    with Store.open(db_url) as store:
        sample = _set_up(store, big_election, BOARDS * PER_BOARD)
    rng = np.random.default_rng(20241105)
    first = {card: _interpretation(rng) for card in sample}
    picked = rng.permutation(len(sample))
    doubled = {sample[i] for i in picked[:DOUBLED]}
    # The second look adds a comment, so a correction always differs from the first.
    corrected = {sample[i]: _interpretation(rng, "second look") for i in picked[DOUBLED:]}
    corrected = dict(list(corrected.items())[:CORRECTED])
    assert len(corrected) == CORRECTED
    # Board k records cards k*100 .. k*100+99; a doubled card is sent again by board k+1
    # at the same step, a corrected one again by board k five steps later.
    tasks: list[list[tuple[CardKey, Seen]]] = [[] for _ in range(BOARDS)]
    for k in range(BOARDS):
        mine = sample[k * PER_BOARD : (k + 1) * PER_BOARD]
        previous = sample[(k - 1) % BOARDS * PER_BOARD :][:PER_BOARD]
        for step in range(PER_BOARD + 5):
            if step < PER_BOARD:
                tasks[k].append((mine[step], first[mine[step]]))
                if previous[step] in doubled:
                    tasks[k].append((previous[step], first[previous[step]]))
            if step >= 5 and mine[step - 5] in corrected:
                tasks[k].append((mine[step - 5], corrected[mine[step - 5]]))
    expected = {card: corrected.get(card, seen) for card, seen in first.items()}
    submissions = sum(len(t) for t in tasks)
    assert submissions == BOARDS * PER_BOARD + DOUBLED + CORRECTED

    outcomes: list[RecordOutcome] = []
    failures: list[BaseException] = []
    ready = threading.Barrier(BOARDS + 1)

    def board(k: int) -> None:
        try:
            with Store.open(db_url) as own:
                ready.wait(timeout=60)
                for card, seen in tasks[k]:
                    outcomes.append(record_card_with_retry(
                        own, NAME, board=f"board {k}", card=card, interpretations=seen,
                        actor=f"board {k}"))  # fmt: skip
        except BaseException as error:  # reported below, with the board
            failures.append(error)
            raise

    threads = [threading.Thread(target=board, args=(k,)) for k in range(BOARDS)]
    for thread in threads:
        thread.start()
    ready.wait(timeout=60)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=110)
    elapsed = time.perf_counter() - started
    assert failures == []
    assert len(outcomes) == submissions
    counts = Counter(o.outcome for o in outcomes)
    retries = sum(o.attempts - 1 for o in outcomes)
    print(
        f"\n{submissions:,} submissions by {BOARDS} boards in {elapsed:.1f} s: "
        f"{submissions / elapsed:,.0f} cards/s; outcomes {dict(counts)}; {retries} retries"
    )
    assert counts == {"recorded": BOARDS * PER_BOARD, "unchanged": DOUBLED, "corrected": CORRECTED}

    with Store.open(db_url) as store:
        assert stored_cards(store) == expected
        with store.transaction() as s:
            audit = service.find_audit(s, NAME)
            assert verify_log(s, audit.id) == []
            readings = s.scalars(
                select(func.count()).select_from(Event).where(Event.type == "readings.recorded")
            ).one()
            assert readings == counts["recorded"] + counts["corrected"]
            seqs = list(s.scalars(select(Event.seq).order_by(Event.seq)))
            assert seqs == list(range(1, len(seqs) + 1))
            assert sorted(o.seq for o in outcomes if o.seq is not None) == seqs[-readings:]
            assert check_log(service.load_inputs(s, audit), load_chain(s, audit.id)) == []
            assert service.status(s, audit).rounds[0].audited == BOARDS * PER_BOARD


#: Records the cards listed in a JSON file one by one, printing each once committed.
CHILD = """
import json, sys, time
from tallyguard.audit.workflow.boards import CardInterpretation, record_card_with_retry
from tallyguard.audit.workflow.inputs import CardKey
from tallyguard.store.db import Store

url, name, listing = sys.argv[1:4]
seen = {"Governor": CardInterpretation("vote", ("Bob Brooks",)),
        "City Council": CardInterpretation("vote", ("Grace Gill", "Iris Ito"))}
with Store.open(url) as store:
    print("ready", flush=True)
    for row in json.loads(open(listing, encoding="utf-8").read()):
        record_card_with_retry(store, name, board="night shift", card=CardKey(*row),
                               interpretations=seen, actor="night shift")
        print(json.dumps(row), flush=True)
        time.sleep(0.01)
"""
DURABLE = {
    "Governor": CardInterpretation("vote", ("Bob Brooks",)),
    "City Council": CardInterpretation("vote", ("Grace Gill", "Iris Ito")),
}


def test_every_acknowledged_card_survives_a_killed_recorder(
    db_url: str, big_election: Path, tmp_path: Path
) -> None:
    with Store.open(db_url) as store:
        sample = _set_up(store, big_election, 300)
    listing = tmp_path / "cards.json"
    listing.write_text(json.dumps([dataclasses.astuple(card) for card in sample]), "utf-8")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, NAME, str(listing)],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line.strip())
        lines.put("")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert lines.get(timeout=60) == "ready"
        acknowledged = [lines.get(timeout=30) for _ in range(30)]
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    reader.join(timeout=30)
    while (line := lines.get(timeout=5)) != "":  # printed before the kill, read after it
        acknowledged.append(line)
    acked = [CardKey(*json.loads(line)) for line in acknowledged]
    assert acked == sample[: len(acked)]
    with Store.open(db_url) as store:
        stored = stored_cards(store)
        with store.transaction() as s:
            audit = service.find_audit(s, NAME)
            assert verify_log(s, audit.id) == []
            assert check_log(service.load_inputs(s, audit), load_chain(s, audit.id)) == []
            readings = s.scalars(
                select(func.count()).select_from(Event).where(Event.type == "readings.recorded")
            ).one()
    assert {card: stored.get(card) for card in acked} == dict.fromkeys(acked, DURABLE)
    # Killed mid-way: at most the card in flight committed without its acknowledgement,
    # and every stored card is whole, with its one event.
    assert len(acked) <= len(stored) <= len(acked) + 1 < len(sample)
    assert set(stored) == set(sample[: len(stored)])
    assert readings == len(stored)
