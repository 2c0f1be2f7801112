"""The event log in the database: appending, loading and catching tampering by raw SQL."""

from __future__ import annotations

import re
import threading
import time

import pytest
from sqlalchemy import select, text

from tallyguard.evidence.canonical import canonical_json
from tallyguard.evidence.chain import GENESIS, ChainRecord, event_hash, verify_chain
from tallyguard.store.db import Store
from tallyguard.store.events import EVENT_TYPES, append_event, load_chain, verify_log
from tallyguard.store.models import Audit, Event
from tests.store.conftest import CREATED, event_count, populate


def _audit(store: Store, name: str = "A") -> int:
    with store.transaction() as session:
        audit = Audit(name=name, election="E", kind="polling", risk_limit=0.1, method="alpha")
        session.add(audit)
        session.flush()
        return audit.id


def _log(store: Store, audit_id: int, count: int) -> None:
    with store.transaction() as session:
        for i in range(count):
            append_event(session, audit_id, "readings.recorded", {"card": i}, "board 1", CREATED)


def test_event_types_are_the_documented_ones() -> None:
    assert EVENT_TYPES == (
        "audit.created", "jurisdiction.added", "manifest.loaded", "cvrs.loaded",
        "batch_tallies.loaded", "contest.added", "seed.set", "round.started",
        "readings.recorded", "round.finished", "hand_count.started", "hand_count.recorded",
        "audit.finished",
        "account.created",
        "board.created",
        "board.joined",
        "board.signed_off",
        "account.password_changed",
        "account.password_reset",
        "board.link_reissued",
    )  # fmt: skip


def test_append_chains_events(store: Store) -> None:
    audit_id = _audit(store)
    with store.transaction() as session:
        first = append_event(session, audit_id, "audit.created", {"name": "A"}, "ann", CREATED)
        second = append_event(session, audit_id, "seed.set", {"seed": "0" * 20}, "bob")
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert first.payload == '{"name":"A"}'
    assert first.hash == event_hash(GENESIS, 1, "audit.created", "ann", CREATED, '{"name":"A"}')
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", second.created)
    with store.transaction() as session:
        chain = load_chain(session, audit_id)
        assert verify_log(session, audit_id) == []
    assert [(r.seq, r.type, r.actor, r.payload) for r in chain] == [
        (1, "audit.created", "ann", {"name": "A"}),
        (2, "seed.set", "bob", {"seed": "0" * 20}),
    ]
    assert chain[1].hash == second.hash


def test_payload_is_canonical_json(store: Store) -> None:
    audit_id = _audit(store)
    payload = {"z": [1, 2.5], "a": "Zoë", "m": {"y": None, "b": True}}
    with store.transaction() as session:
        row = append_event(session, audit_id, "contest.added", payload, "ann", CREATED)
    assert row.payload == canonical_json(payload).decode()
    assert row.payload == '{"a":"Zoë","m":{"b":true,"y":null},"z":[1,2.5]}'


def test_each_audit_has_its_own_chain(store: Store) -> None:
    first, second = _audit(store, "first"), _audit(store, "second")
    _log(store, first, 3)
    _log(store, second, 2)
    _log(store, first, 1)
    with store.transaction() as session:
        assert [r.seq for r in load_chain(session, first)] == [1, 2, 3, 4]
        assert [r.seq for r in load_chain(session, second)] == [1, 2]
        assert load_chain(session, second)[0].prev_hash == GENESIS
        assert verify_log(session, first) == verify_log(session, second) == []


def test_unknown_types_missing_audits_and_bad_payloads_are_rejected(store: Store) -> None:
    audit_id = _audit(store)
    with store.transaction() as session:
        with pytest.raises(ValueError, match=r"unknown event type 'audit\.deleted'"):
            append_event(session, audit_id, "audit.deleted", {}, "x")
        with pytest.raises(ValueError, match="no audit with id 999"):
            append_event(session, 999, "seed.set", {}, "x")
        with pytest.raises(ValueError, match="must be a JSON object"):
            append_event(session, audit_id, "seed.set", ["not", "a", "mapping"], "x")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="not JSON compliant"):
            append_event(session, audit_id, "seed.set", {"p": float("nan")}, "x")
        assert event_count(session, audit_id) == 0


def test_events_roll_back_with_the_command(store: Store) -> None:
    audit_id = _audit(store)
    _log(store, audit_id, 2)

    def failing_command() -> None:
        with store.transaction() as session:
            append_event(session, audit_id, "round.started", {"sample_size": 5}, "ann")
            raise RuntimeError("the command failed after logging")

    with pytest.raises(RuntimeError, match="after logging"):
        failing_command()
    _log(store, audit_id, 1)
    with store.transaction() as session:
        chain = load_chain(session, audit_id)
        assert [r.type for r in chain] == ["readings.recorded"] * 3
        assert verify_log(session, audit_id) == []


# --- tampering with the rows ------------------------------------------------------


def _tamper(store: Store, *statements: str, **params: object) -> list[str]:
    """Six events (seq 1-6), then raw SQL on the event table; returns what verify_log says."""
    with store.transaction() as session:
        ids = populate(session)
        for i in range(3):
            append_event(session, ids.audit, "round.started", {"round": i}, "ann", CREATED)
    assert [r.seq for r in _chain(store, ids.audit)] == [1, 2, 3, 4, 5, 6]
    with store.transaction() as session:
        for sql in statements:
            changed = session.execute(text(sql), {"audit": ids.audit, **params})
            assert changed.rowcount == 1  # type: ignore[attr-defined]
    with store.transaction() as session:
        return verify_log(session, ids.audit)


def _chain(store: Store, audit_id: int) -> list[ChainRecord]:
    with store.transaction() as session:
        return list(load_chain(session, audit_id))


def test_an_edited_payload_is_reported_by_seq(store: Store) -> None:
    problems = _tamper(
        store,
        "UPDATE event SET payload = :forged WHERE audit_id = :audit AND seq = 5",
        forged='{"round":7}',
    )
    assert len(problems) == 1
    assert problems[0].startswith("event seq 5: hash mismatch")


def test_an_unreadable_payload_is_reported_not_raised(store: Store) -> None:
    problems = _tamper(
        store, "UPDATE event SET payload = 'garbage' WHERE audit_id = :audit AND seq = 2"
    )
    assert [p.split(":")[0] for p in problems] == ["event seq 2"]


@pytest.mark.parametrize("column", ["actor", "created", "type"])
def test_an_edited_field_is_reported_by_seq(store: Store, column: str) -> None:
    problems = _tamper(
        store, f"UPDATE event SET {column} = 'forged' WHERE audit_id = :audit AND seq = 3"
    )
    assert [p.split(":")[0] for p in problems] == ["event seq 3"]


def test_a_deleted_row_is_reported(store: Store) -> None:
    problems = _tamper(store, "DELETE FROM event WHERE audit_id = :audit AND seq = 4")
    assert problems
    assert all(p.startswith("event seq 5: ") for p in problems)
    assert any("seq 4 is missing" in p for p in problems)


def test_swapped_rows_are_reported_by_seq(store: Store) -> None:
    problems = _tamper(
        store,
        "UPDATE event SET seq = -2 WHERE audit_id = :audit AND seq = 2",
        "UPDATE event SET seq = 2 WHERE audit_id = :audit AND seq = 4",
        "UPDATE event SET seq = 4 WHERE audit_id = :audit AND seq = -2",
    )
    reported = {int(p.split(":")[0].removeprefix("event seq ")) for p in problems}
    assert reported == {2, 3, 4, 5}


def test_a_row_with_recomputed_hash_still_breaks_the_next_link(store: Store) -> None:
    with store.transaction() as session:
        ids = populate(session)
        row = session.scalars(
            select(Event).where(Event.audit_id == ids.audit, Event.seq == 2)
        ).one()
        forged = '{"jurisdiction":"Elsewhere"}'
        row.payload = forged
        row.hash = event_hash(row.prev_hash, 2, row.type, row.actor, row.created, forged)
    with store.transaction() as session:
        problems = verify_log(session, ids.audit)
    assert len(problems) == 1
    assert problems[0].startswith("event seq 3: prev_hash")


# --- concurrency ------------------------------------------------------------------


def test_concurrent_appenders_serialise(db_url: str) -> None:
    """Four writers, each appending in its own transactions: one chain, no fork, no gap."""
    writers, each = 4, 6
    with Store.open(db_url) as setup:
        audit_id = _audit(setup)
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(name: str) -> None:
        try:
            with Store.open(db_url) as store:
                start.wait()
                for i in range(each):
                    with store.transaction() as session:
                        append_event(session, audit_id, "readings.recorded", {"i": i}, name)
                        time.sleep(0.002)  # hold the lock: the others must wait, not fork
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(f"w{n}",)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    with Store.open(db_url) as store, store.transaction() as session:
        chain = load_chain(session, audit_id)
    assert [r.seq for r in chain] == list(range(1, writers * each + 1))
    assert verify_chain(chain) == []
    expected = sorted(f"w{n}" for n in range(writers) for _ in range(each))
    assert sorted(r.actor for r in chain) == expected
