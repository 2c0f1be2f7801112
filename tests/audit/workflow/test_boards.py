"""Recording one card at a time (``boards.record_card``), on SQLite and PostgreSQL.

A comparison audit of the small simulated election (Governor targeted, City
Council opportunistic) is set up through the service layer with a first round
of 12 draws; the boards read each card's paper as the simulator printed it.
"""

from __future__ import annotations

import csv
import io
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.boards import (
    CardInterpretation,
    RecordOutcome,
    record_card,
    record_card_with_retry,
    stored_card,
)
from tallyguard.audit.workflow.export import check_log, export_audit
from tallyguard.audit.workflow.inputs import CardKey
from tallyguard.audit.workflow.sample import draw_sample
from tallyguard.errors import InputError
from tallyguard.evidence import verify_bundle
from tallyguard.evidence.canonical import parse_strict
from tallyguard.io.readings import BALLOT_COLUMNS, interpretation_text
from tallyguard.store.db import Store
from tallyguard.store.events import load_chain, verify_log
from tallyguard.store.models import Event, Interpretation

from .conftest import SEED, Election, election_inputs

DRAWS = 12
CONTESTS = ("Governor", "City Council")
NAME = "Boards"
#: Sessions of one application waiting for a row lock in SELECT ... FOR UPDATE.
WAITING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
    "AND application_name = :name AND query ILIKE '%for update%'"
)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store.open(db_url) as opened:
        yield opened


@pytest.fixture
def election(election_dir: Path) -> Election:
    return election_inputs(election_dir, contests=CONTESTS, rounds=(DRAWS,))


def _set_up(store: Store, directory: Path, draws: int = DRAWS) -> None:
    """A comparison audit of the simulated election in its first round of ``draws``."""
    lines = (directory / "manifest.csv").read_text(encoding="utf-8").splitlines()[1:]
    with store.transaction() as s:
        audit = service.create_audit(s, name=NAME, election="Sim", kind="comparison",
                                     risk_limit=0.05, method=None, actor="t")  # fmt: skip
        for name in sorted({line.split(",", 1)[0] for line in lines}):
            service.add_jurisdiction(s, audit, name, "t")
        service.load_manifest(s, audit, directory / "manifest.csv", None, "t")
        service.load_cvrs(s, audit, directory / "cvrs.csv", None, "auto", "t")
        contests = directory / "contests.json"
        service.add_contest(s, audit, contests, "Governor", targeted=True, actor="t")
        service.add_contest(s, audit, contests, "City Council", targeted=False, actor="t")
    with store.transaction() as s:
        service.set_seed(s, service.find_audit(s, NAME), SEED, "t")
    with store.transaction() as s:
        service.start_round(s, service.find_audit(s, NAME), draws, "t")


def _sample(election: Election, size: int = DRAWS) -> list[CardKey]:
    return [d.card for d in draw_sample(election.inputs, size)]


def _paper(election: Election, card: CardKey) -> dict[str, CardInterpretation]:
    """What a careful board records: each contest as the card's paper shows it."""
    found = {}
    for name in CONTESTS:
        reading = election.reading(card, name)
        found[name] = CardInterpretation(reading.result, reading.choices)
    return found


def _events(session: Session) -> int:
    return session.scalars(select(func.count()).select_from(Event)).one()


def _interpretations(session: Session) -> int:
    return session.scalars(select(func.count()).select_from(Interpretation)).one()


def _record(
    store: Store, card: CardKey, seen: dict[str, CardInterpretation], board: str = "board 1"
) -> RecordOutcome:
    with store.transaction() as s:
        audit = service.find_audit(s, NAME)
        return record_card(s, audit, board=board, card=card, interpretations=seen, actor="clerk")


def _outside(election: Election, sample: list[CardKey]) -> CardKey:
    """The first card of the manifest that the sample does not hold."""
    drawn = set(sample)
    for b in election.inputs.batches:
        for p in range(1, b.num_ballots + 1):
            card = CardKey(b.jurisdiction, b.tabulator or "", b.batch_name, p)
            if card not in drawn:
                return card
    raise AssertionError("the sample holds every card")


def _payload(session: Session, seq: int) -> object:
    text = session.scalars(select(Event.payload).where(Event.seq == seq)).one()
    return parse_strict(text.encode("utf-8"))


def test_recorded_unchanged_corrected(store: Store, election_dir: Path, election: Election) -> None:
    _set_up(store, election_dir)
    card = _sample(election)[0]
    seen = _paper(election, card)
    with store.transaction() as s:
        before = _events(s)
    first = _record(store, card, seen)
    assert first == RecordOutcome("recorded", card, 1, before + 1)
    assert _record(store, card, seen) == RecordOutcome("unchanged", card, 1, None)
    assert _record(store, card, seen, board="board 2") == RecordOutcome("unchanged", card, 1, None)
    with store.transaction() as s:
        assert _events(s) == before + 1
        assert _interpretations(s) == 2
        assert stored_card(s, service.find_audit(s, NAME), card) == seen
    fixed = {**seen, "Governor": CardInterpretation("blank", (), "  faint mark ")}
    assert _record(store, card, fixed) == RecordOutcome("corrected", card, 1, before + 2)
    # The same marks in another order and case, and the comment's spaces, change nothing.
    council = CardInterpretation("vote", ("iris ito", "Erin Ellis"))
    assert _record(store, card, {**fixed, "City Council": council}).outcome == "corrected"
    again = {"governor": fixed["Governor"], "City Council": CardInterpretation(
        "vote", ("Erin Ellis", "Iris Ito"))}  # fmt: skip
    assert _record(store, card, again) == RecordOutcome("unchanged", card, 1, None)
    with store.transaction() as s:
        audit = service.find_audit(s, NAME)
        assert _events(s) == before + 3
        assert _interpretations(s) == 2
        assert stored_card(s, audit, card) == {
            "Governor": CardInterpretation("blank", (), "faint mark"),
            "City Council": CardInterpretation("vote", ("Erin Ellis", "Iris Ito")),
        }
        where = [card.jurisdiction, card.tabulator, card.batch_name, card.position]
        assert _payload(s, before + 3) == {
            "round": 1,
            "board": "board 1",
            "card": where,
            "outcome": "corrected",
            "readings": [
                [*where, "Governor", "BLANK", "faint mark"],
                [*where, "City Council", "Erin Ellis;Iris Ito", ""],
            ],
        }
        assert verify_log(s, audit.id) == []
        assert check_log(service.load_inputs(s, audit), load_chain(s, audit.id)) == []


def test_a_double_submit_records_once(db_url: str, election_dir: Path, election: Election) -> None:
    """Two boards' requests for the same card at the same moment, each on its own connection."""
    with Store.open(db_url) as store:
        _set_up(store, election_dir)
    card = _sample(election)[3]
    seen = _paper(election, card)
    start = threading.Barrier(2)
    outcomes: list[RecordOutcome] = []

    def submit(board: str) -> None:
        with Store.open(db_url) as own:
            start.wait(timeout=30)
            outcomes.append(record_card_with_retry(
                own, NAME, board=board, card=card, interpretations=seen, actor=board))  # fmt: skip

    threads = [threading.Thread(target=submit, args=(f"board {i}",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(o.outcome for o in outcomes) == ["recorded", "unchanged"]
    with Store.open(db_url) as store, store.transaction() as s:
        audit = service.find_audit(s, NAME)
        assert _interpretations(s) == 2
        types = list(s.scalars(select(Event.type).where(Event.type == "readings.recorded")))
        assert types == ["readings.recorded"]
        assert stored_card(s, audit, card) == seen
        assert verify_log(s, audit.id) == []


def test_bad_submissions_name_the_field_and_write_nothing(
    store: Store, election_dir: Path, election: Election
) -> None:
    _set_up(store, election_dir)
    sample = _sample(election)
    card = sample[1]
    seen = _paper(election, card)
    governor = CardInterpretation("vote", ("Alice Avery",))
    elsewhere = CardKey(card.jurisdiction, card.tabulator, "no such batch", 1)
    beyond = CardKey(card.jurisdiction, card.tabulator, card.batch_name, 10_000)
    cases: list[tuple[CardKey, dict[str, CardInterpretation], str, str]] = [
        (_outside(election, sample), seen, "card", "is not in the sample"),
        (beyond, seen, "card", "is not in the sample"),
        (elsewhere, seen, "card", "is not a batch of the manifest"),
        (CardKey(*card.batch, 0), seen, "card", "ballot position 0"),
        (card, {**seen, "Mayor": governor}, "contest", "'Mayor' is not a contest"),
        (card, {"Governor": governor}, "contest", "'City Council' has no interpretation"),
        (card, {}, "interpretations", "no contest is interpreted"),
        (card, {**seen, "Governor": CardInterpretation("vote", ("Zed Zimmer",))},
         "choices", "'Zed Zimmer' is not a choice of 'Governor'"),
        (card, {**seen, "Governor": CardInterpretation("vote", ("Alice Avery", "alice avery"))},
         "choices", "'Alice Avery' is listed twice"),
        (card, {**seen, "Governor": CardInterpretation("vote")}, "choices", "a vote for no"),
        (card, {**seen, "Governor": CardInterpretation("blank", ("Alice Avery",))},
         "choices", "recorded as 'blank' but lists choices"),
        (card, {**seen, "Governor": CardInterpretation("maybe")},  # type: ignore[arg-type]
         "result", "'maybe' is not a result"),
    ]  # fmt: skip
    with store.transaction() as s:
        before = (_events(s), _interpretations(s))
    for key, given, field, message in cases:
        with pytest.raises(InputError) as raised:
            _record(store, key, given)
        assert (raised.value.field, message in raised.value.message) == (field, True), key
    with pytest.raises(InputError) as raised:
        _record(store, card, seen, board=" ")
    assert raised.value.field == "board"
    # Through the retrying wrapper: bad input is reported at once, never retried.
    for audit, attempts, field in ((NAME, 0, "attempts"), ("Boardz", 5, "--audit")):
        with pytest.raises(InputError) as raised:
            record_card_with_retry(store, audit, board="b", card=card, interpretations=seen,
                                   actor="b", attempts=attempts)  # fmt: skip
        assert raised.value.field == field
    with pytest.raises(InputError) as raised:
        record_card_with_retry(store, NAME, board="b", card=card, actor="b",
                               interpretations={**seen, "Mayor": governor})  # fmt: skip
    assert raised.value.field == "contest"
    with store.transaction() as s:
        assert (_events(s), _interpretations(s)) == before
    # Contest names match ignoring case.
    given = {"GOVERNOR": governor, "city council": seen["City Council"]}
    assert _record(store, card, given).outcome == "recorded"


def test_a_closed_round_or_audit_refuses_cards(
    store: Store, election_dir: Path, election: Election
) -> None:
    _set_up(store, election_dir)
    sample = _sample(election, DRAWS + 4)
    for card in sample[:DRAWS]:
        assert _record(store, card, _paper(election, card)).outcome == "recorded"
    with store.transaction() as s:
        service.finish_round(s, service.find_audit(s, NAME), "t")
    with pytest.raises(InputError) as raised:
        _record(store, sample[0], _paper(election, sample[0]))
    assert (raised.value.field, raised.value.message) == ("round", "no round is open.")
    with store.transaction() as s:
        service.start_round(s, service.find_audit(s, NAME), DRAWS + 4, "t")
    with pytest.raises(InputError) as raised:
        _record(store, sample[0], {**_paper(election, sample[0]), "Governor": CardInterpretation(
            "not_found")})  # fmt: skip
    assert raised.value.field == "card"
    assert raised.value.message.endswith("was drawn in round 1, which is finished.")
    outcome = _record(store, sample[DRAWS], {"Governor": CardInterpretation("not_found")})
    assert (outcome.outcome, outcome.round) == ("recorded", 2)
    with store.transaction() as s:
        service.start_hand_count(s, service.find_audit(s, NAME), "t")
    with pytest.raises(InputError) as raised:
        _record(store, sample[DRAWS + 1], _paper(election, sample[DRAWS + 1]))
    assert raised.value.field == "audit"
    assert "state 'hand_count'" in raised.value.message


def _readings_file(path: Path, election: Election, cards: list[CardKey]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BALLOT_COLUMNS)
    for card in cards:
        for name, seen in _paper(election, card).items():
            text = interpretation_text(seen.result, seen.choices)
            writer.writerow([*card.batch, card.position, name, text, "from the file"])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def test_the_exported_bundle_verifies(
    store: Store, election_dir: Path, election: Election, tmp_path: Path
) -> None:
    """Cards recorded one by one (some after a file, one corrected, one twice) export and
    verify: the log replays onto the table exactly."""
    _set_up(store, election_dir)
    sample = _sample(election)
    with store.transaction() as s:
        path = _readings_file(tmp_path / "first.csv", election, sample[:4])
        service.record_readings(s, service.find_audit(s, NAME), path, "board 0")
    outcomes = [_record(store, card, _paper(election, card)).outcome for card in sample]
    assert outcomes == ["corrected"] * 4 + ["recorded"] * (DRAWS - 4)  # the file's comments
    assert _record(store, sample[5], _paper(election, sample[5])).outcome == "unchanged"
    lost = {"Governor": CardInterpretation("not_found", (), "not in its box")}
    assert _record(store, sample[6], lost).outcome == "corrected"
    with store.transaction() as s:
        audit = service.find_audit(s, NAME)
        result = service.finish_round(s, audit, "t")
        assert result.rounds[0].audited == DRAWS
        inputs = service.load_inputs(s, audit)
        chain = load_chain(s, audit.id)
    assert check_log(inputs, chain) == []
    recorded = [e for e in chain if e.type == "readings.recorded"]
    assert len(recorded) == 1 + DRAWS + 1
    summary = export_audit(inputs, chain, tmp_path / "bundle", overwrite=False)
    assert summary["events"] == len(chain)
    report = verify_bundle(tmp_path / "bundle")
    assert report.discrepancies == []
    assert (report.ok, report.rerun_done) == (True, True)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_serialization_conflict_is_retried(
    db_url: str, store: Store, election_dir: Path, election: Election
) -> None:
    """On a server whose transactions are SERIALIZABLE, a board whose snapshot predates
    another board's commit of the same card fails on the unique constraint; the retry
    sees that card stored and finds the submission unchanged."""
    _set_up(store, election_dir)
    card = _sample(election)[2]
    seen = _paper(election, card)
    name = f"boards-{uuid.uuid4().hex[:12]}"
    serializable = (
        f"{db_url}%20-cdefault_transaction_isolation%3Dserializable&application_name={name}"
    )
    own = Store.open(serializable)  # opened (schema checked) before any lock is held
    other = Session(store.engine)
    other.begin()
    outcomes: list[RecordOutcome] = []

    def submit() -> None:
        outcomes.append(record_card_with_retry(
            own, NAME, board="b", card=card, interpretations=seen, actor="b"))  # fmt: skip

    thread = threading.Thread(target=submit)
    try:
        first = record_card(other, service.find_audit(other, NAME), board="a", card=card,
                            interpretations=seen, actor="a")  # fmt: skip
        assert first.outcome == "recorded"
        thread.start()
        waiting = 0
        with store.engine.connect() as watcher:
            deadline = time.monotonic() + 20
            while not waiting and time.monotonic() < deadline:
                time.sleep(0.02)
                waiting = watcher.execute(WAITING, {"name": name}).scalar_one()
        assert waiting == 1
        other.commit()
        thread.join(timeout=30)
    finally:
        other.close()
        if thread.is_alive():
            thread.join(timeout=30)
        own.close()
    assert outcomes == [RecordOutcome("unchanged", card, 1, None, attempts=2)]
    with store.transaction() as s:
        audit = service.find_audit(s, NAME)
        assert stored_card(s, audit, card) == seen
        assert check_log(service.load_inputs(s, audit), load_chain(s, audit.id)) == []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_rows_read_before_the_lock_are_read_again(
    store: Store, election_dir: Path, election: Election
) -> None:
    """A request that showed the card, then submits, compares against the latest commit."""
    _set_up(store, election_dir)
    card = _sample(election)[4]
    seen = _paper(election, card)
    assert _record(store, card, seen).outcome == "recorded"
    blank = {name: CardInterpretation("blank") for name in CONTESTS}
    with Session(store.engine) as session, session.begin():
        audit = service.find_audit(session, NAME)
        held = list(session.scalars(select(Interpretation)))  # this session's copies
        assert [row.result for row in held] == [seen[name].result for name in CONTESTS]
        assert _record(store, card, blank).outcome == "corrected"  # another board commits
        again = record_card(session, audit, board="board 3", card=card, interpretations=seen,
                            actor="clerk")  # fmt: skip
        assert again.outcome == "corrected"
    with store.transaction() as s:
        assert stored_card(s, service.find_audit(s, NAME), card) == seen
