"""The store's CVRs read lazily and written in bulk behave as the eager, row-by-row code did.

On SQLite and PostgreSQL (the ``db_url`` fixture): a small simulated comparison
audit is loaded through the service layer, and

* :func:`~tallyguard.audit.workflow.state.load_inputs`' lazy CVRs equal the
  dict the store held before (read here the old way, every row decoded), give
  the same sample, risks, canonical ``cvrs.csv`` and seed digests, and still
  work once the command's transaction is over;
* the column-wise placing of a CVR CSV stores exactly the rows the card-by-card
  placing stores (JSON text included), and leaves every error to it;
* recording readings in bulk keeps the last of a card recorded twice.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.engine import evaluate
from tallyguard.audit.workflow.files import cvrs_text, frozen_digests
from tallyguard.audit.workflow.inputs import AuditInputs, CardKey
from tallyguard.audit.workflow.loading_cvrs import _place_frame, _place_records
from tallyguard.audit.workflow.stored import StoredCvrs
from tallyguard.errors import InputError
from tallyguard.io.cvr_csv import read_cvr_csv
from tallyguard.io.detect import read_cvrs
from tallyguard.io.readings import BALLOT_COLUMNS
from tallyguard.store.db import Store
from tallyguard.store.models import Batch, Contest, Cvr, Interpretation, Jurisdiction

SEED = "58209749445923078164"
DRAWS = 30


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store.open(db_url) as opened:
        yield opened


def _jurisdictions(election: Path) -> list[str]:
    lines = (election / "manifest.csv").read_text(encoding="utf-8").splitlines()[1:]
    return sorted({line.split(",", 1)[0] for line in lines})


def _set_up(store: Store, election: Path, cvrs: Path | None = None) -> None:
    """A comparison audit of ``election``: manifest, CVRs, two contests, seed, round 1."""
    with store.transaction() as s:
        audit = service.create_audit(s, name="Lazy", election="Sim", kind="comparison",
                                     risk_limit=0.05, method=None, actor="t")  # fmt: skip
        for name in _jurisdictions(election):
            service.add_jurisdiction(s, audit, name, "t")
        service.load_manifest(s, audit, election / "manifest.csv", None, "t")
        service.load_cvrs(s, audit, cvrs or election / "cvrs.csv", None, "auto", "t")
        contests = election / "contests.json"
        service.add_contest(s, audit, contests, "Governor", targeted=True, actor="t")
        service.add_contest(s, audit, contests, "City Council", targeted=False, actor="t")
    with store.transaction() as s:
        service.set_seed(s, service.find_audit(s, None), SEED, "t")
    with store.transaction() as s:
        service.start_round(s, service.find_audit(s, None), DRAWS, "t")


def _eager(session: Session, inputs: AuditInputs) -> AuditInputs:
    """The inputs with the CVRs read as load_inputs read them before: every row, decoded."""
    names = {j.id: j.name for j in session.scalars(select(Jurisdiction))}
    keys = {b.id: (names[b.jurisdiction_id], b.tabulator, b.batch_name)
            for b in session.scalars(select(Batch))}  # fmt: skip
    cvrs: dict[CardKey, dict[str, tuple[str, ...]]] = {}
    imprinted: dict[CardKey, str] = {}
    query = select(Cvr.batch_id, Cvr.position, Cvr.imprinted_id, Cvr.votes)
    for batch_id, position, imprinted_id, votes in session.execute(query):
        key = CardKey(*keys[batch_id], position)
        cvrs[key] = {str(c): tuple(v) for c, v in votes.items()}
        if imprinted_id:
            imprinted[key] = imprinted_id
    return dataclasses.replace(inputs, cvrs=cvrs, imprinted_ids=imprinted)


def _interpretation(marks: tuple[str, ...] | None, allowed: int) -> str:
    if marks is None:
        return "NOT ON CARD"
    if not marks:
        return "BLANK"
    return "OVERVOTE" if len(marks) > allowed else ";".join(marks)


def _readings_file(path: Path, eager: AuditInputs, upto: int, *, twice: bool = False) -> Path:
    """Readings of the first ``upto`` draws as their CVRs say (``twice``: the first card
    again at the end, recorded as NOT FOUND)."""
    allowed = {c.reported.contest.name: c.reported.contest.votes_allowed for c in eager.contests}
    rows = []
    for draw in evaluate(eager).sample[:upto]:
        key = CardKey(draw.jurisdiction, draw.tabulator, draw.batch_name, draw.position)
        for contest, votes_allowed in allowed.items():
            marks = eager.cvrs[key].get(contest) if key in eager.cvrs else None
            text = _interpretation(marks, votes_allowed)
            rows.append([*key.batch, key.position, contest, text, "read"])
    if twice:
        rows.append([*rows[0][:5], "NOT FOUND", "second look"])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BALLOT_COLUMNS)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def test_lazy_cvrs_equal_the_eager_ones(store: Store, election_dir: Path) -> None:
    _set_up(store, election_dir)
    with store.transaction() as s:
        inputs = service.load_inputs(s, service.find_audit(s, None))
        eager = _eager(s, inputs)
        assert isinstance(inputs.cvrs, StoredCvrs)
        assert inputs.imprinted_ids is inputs.cvrs.imprinted_ids
        assert len(inputs.cvrs) == len(eager.cvrs)
        assert set(inputs.cvrs) == set(eager.cvrs)
        assert dict(inputs.cvrs) == eager.cvrs
        assert inputs.cvrs == eager.cvrs
        assert dict(inputs.cvrs.items()) == eager.cvrs
        assert len(inputs.cvrs.items()) == len(eager.cvrs)
        assert dict(inputs.imprinted_ids) == eager.imprinted_ids
        assert len(inputs.imprinted_ids) == len(eager.imprinted_ids)
        first = min(eager.cvrs)
        phantom = dataclasses.replace(first, position=10_000)
        elsewhere = dataclasses.replace(first, batch_name="no such batch")
        for missing in (phantom, elsewhere):
            assert missing not in inputs.cvrs
            assert inputs.cvrs.get(missing) is None
            assert inputs.imprinted_ids.get(missing) is None
        assert inputs.cvrs[first] == eager.cvrs[first]
        fresh = service.load_inputs(s, service.find_audit(s, None)).cvrs
        assert isinstance(fresh, StoredCvrs)
        fresh.prefetch([*sorted(eager.cvrs)[:700], phantom])
        assert {k: fresh[k] for k in sorted(eager.cvrs)[:700]} == {
            k: eager.cvrs[k] for k in sorted(eager.cvrs)[:700]
        }
        assert fresh.get(phantom) is None


def test_status_digests_and_canonical_cvrs_match_the_eager_inputs(
    store: Store, election_dir: Path, tmp_path: Path
) -> None:
    _set_up(store, election_dir)
    with store.transaction() as s:
        audit = service.find_audit(s, None)
        eager = _eager(s, service.load_inputs(s, audit))
        path = _readings_file(tmp_path / "round1.csv", eager, DRAWS)
        service.record_readings(s, audit, path, "board")
    with store.transaction() as s:
        audit = service.find_audit(s, None)
        inputs = service.load_inputs(s, audit)
        eager = _eager(s, inputs)
        assert evaluate(inputs) == evaluate(eager)
        assert service.status(s, audit) == evaluate(eager)
        assert cvrs_text(inputs) == cvrs_text(eager)
        assert frozen_digests(inputs) == frozen_digests(eager)
        logged = json.loads(
            next(e for e in service_events(s, audit.id) if e["type"] == "seed.set")["payload"]
        )
        assert logged["inputs"] == frozen_digests(eager)


def service_events(session: Session, audit_id: int) -> list[dict[str, Any]]:
    from tallyguard.store.models import Event

    rows = session.scalars(select(Event).where(Event.audit_id == audit_id).order_by(Event.seq))
    return [{"type": e.type, "payload": e.payload} for e in rows]


def test_the_lazy_cvrs_still_read_once_the_transaction_is_over(
    store: Store, election_dir: Path
) -> None:
    _set_up(store, election_dir)
    with store.transaction() as s:
        inputs = service.load_inputs(s, service.find_audit(s, None))
        eager = _eager(s, inputs)
    key = max(eager.cvrs)
    assert inputs.cvrs.get(key) == eager.cvrs[key]
    assert cvrs_text(inputs) == cvrs_text(eager)
    assert evaluate(inputs) == evaluate(eager)
    with store.transaction() as s:  # nothing was left holding the database
        service.status(s, service.find_audit(s, None))


def test_stored_rows_are_those_of_the_orm_and_the_record_reader(
    store: Store, election_dir: Path
) -> None:
    _set_up(store, election_dir)
    records = {r.cvr_id: r for r in read_cvr_csv(election_dir / "cvrs.csv").records()}
    with store.transaction() as s:
        query = select(Cvr.cvr_id, Cvr.position, Cvr.imprinted_id, cast(Cvr.votes, Text))
        rows = s.execute(query).all()
        assert len(rows) == len(records)
        for cvr_id, position, imprinted, votes in rows:
            record = records[cvr_id]
            assert position == record.position
            assert imprinted == record.imprinted_id
            assert votes == json.dumps({c: list(v) for c, v in record.votes.items()})


def _rewrite(
    source: Path, target: Path, drop: tuple[str, ...] = (), keep: str | None = None
) -> Path:
    """``source`` without the columns ``drop``, only the rows of jurisdiction ``keep``."""
    frame = pl.read_csv(source, infer_schema=False)
    if keep is not None:
        frame = frame.filter(pl.col("jurisdiction") == keep)
    frame.drop(drop).write_csv(target)
    return target


@pytest.mark.parametrize(
    ("drop", "keep"),
    [((), None), (("position",), None), (("jurisdiction", "imprinted_id"), "J02")],
    ids=["as-simulated", "no-positions", "one-jurisdiction"],
)
def test_column_placing_stores_what_card_by_card_placing_stores(
    store: Store, election_dir: Path, tmp_path: Path, drop: tuple[str, ...], keep: str | None
) -> None:
    _set_up(store, election_dir)
    path = _rewrite(election_dir / "cvrs.csv", tmp_path / "cvrs.csv", drop, keep)
    with store.transaction() as s:
        audit = service.find_audit(s, None)
        reader = read_cvrs(path)
        by_columns = _place_frame(s, audit, path, reader, keep)
        by_cards = _place_records(s, audit, path, reader, keep)
        assert by_columns is not None
        assert list(by_columns) == list(by_cards)
        for name, (row, frame) in by_columns.items():
            assert row.id == by_cards[name][0].id
            assert frame.to_dicts() == by_cards[name][1].to_dicts()


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


@pytest.mark.parametrize(
    "change",
    [
        lambda lines: [*lines[:2], *lines[3:]],  # a card missing: counts differ
        lambda lines: [*lines, lines[-1].replace(lines[-1].split(",")[0], "extra-1", 1)],
        lambda lines: [lines[0], lines[1].replace("J01-U0001-B01", "J01-NOPE"), *lines[2:]],
        lambda lines: [lines[0], lines[1].replace(",J01,", ",J99,", 1), *lines[2:]],
        lambda lines: [*lines[:5], lines[5].rstrip("\n")[:-1] + "7\n", *lines[6:]],
    ],
    ids=["count", "position-twice", "unknown-batch", "unknown-jurisdiction", "bad-mark"],
)
def test_errors_are_the_card_by_card_ones(
    store: Store, election_dir: Path, tmp_path: Path, change: Any
) -> None:
    with store.transaction() as s:
        audit = service.create_audit(s, name="Err", election="Sim", kind="comparison",
                                     risk_limit=0.05, method=None, actor="t")  # fmt: skip
        for name in _jurisdictions(election_dir):
            service.add_jurisdiction(s, audit, name, "t")
        service.load_manifest(s, audit, election_dir / "manifest.csv", None, "t")
    path = tmp_path / "cvrs.csv"
    path.write_text("".join(change(_lines(election_dir / "cvrs.csv"))), encoding="utf-8")
    with store.transaction() as s:
        audit = service.find_audit(s, None)
        reader = read_cvrs(path)
        assert _place_frame(s, audit, path, reader, None) is None
        with pytest.raises(InputError) as expected:
            _place_records(s, audit, path, reader, None)
    with pytest.raises(InputError) as raised, store.transaction() as s:
        service.load_cvrs(s, service.find_audit(s, None), path, None, "auto", "t")
    assert str(raised.value) == str(expected.value)
    with store.transaction() as s:
        assert s.execute(select(Cvr.id)).first() is None


def test_a_card_recorded_twice_keeps_the_last_reading(
    store: Store, election_dir: Path, tmp_path: Path
) -> None:
    _set_up(store, election_dir)
    with store.transaction() as s:
        audit = service.find_audit(s, None)
        eager = _eager(s, service.load_inputs(s, audit))
        first = _readings_file(tmp_path / "first.csv", eager, 10)
        assert service.record_readings(s, audit, first, "a")["readings"] == 20
    with store.transaction() as s:
        audit = service.find_audit(s, None)
        again = _readings_file(tmp_path / "again.csv", eager, 20, twice=True)
        assert service.record_readings(s, audit, again, "b")["readings"] == 41
    with store.transaction() as s:
        query = (
            select(Interpretation.position, Contest.name, Interpretation.result,
                   Interpretation.comment, Interpretation.board)
            .join(Contest, Contest.id == Interpretation.contest_id)
        )  # fmt: skip
        stored = s.execute(query).all()
        assert len(stored) == 40
        assert {row.board for row in stored} == {"b"}
        assert sum(row.result == "not_found" for row in stored) == 1
        assert sum(row.comment == "second look" for row in stored) == 1
        result = service.status(s, service.find_audit(s, None))
        assert result.rounds[0].audited == 20


def test_loading_again_replaces_the_cvrs_and_a_new_manifest_drops_them(
    store: Store, election_dir: Path
) -> None:
    with store.transaction() as s:
        audit = service.create_audit(s, name="Again", election="Sim", kind="comparison",
                                     risk_limit=0.05, method=None, actor="t")  # fmt: skip
        for name in _jurisdictions(election_dir):
            service.add_jurisdiction(s, audit, name, "t")
        service.load_manifest(s, audit, election_dir / "manifest.csv", None, "t")
        service.load_cvrs(s, audit, election_dir / "cvrs.csv", None, "auto", "t")
        first = s.execute(select(Cvr.batch_id, Cvr.position, Cvr.cvr_id)).all()
    with store.transaction() as s:
        service.load_cvrs(s, service.find_audit(s, None), election_dir / "cvrs.csv", None,
                          "auto", "t")  # fmt: skip
        assert sorted(s.execute(select(Cvr.batch_id, Cvr.position, Cvr.cvr_id)).all()) == sorted(
            first
        )
    with store.transaction() as s:
        manifest = election_dir / "manifest.csv"
        service.load_manifest(s, service.find_audit(s, None), manifest, None, "t")
        assert s.execute(select(Cvr.id)).first() is None
