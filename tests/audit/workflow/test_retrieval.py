"""The boards' view of the open round equals the evaluated sample, and is drawn once.

A comparison audit of the small simulated election (CVRs with imprinted ids)
opens round 1 with 12 draws; boards record some cards (one as not found); round 2
grows the sample to 30. At every step the cards
:func:`open_round_cards` lists, per jurisdiction and for all, are exactly the
open round's cards of :func:`status` (draw, ticket, round, place, container,
imprinted id, recorded or not) in retrieval order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from tallyguard.audit.workflow import retrieval, service
from tallyguard.audit.workflow.boards import CardInterpretation, record_card
from tallyguard.audit.workflow.inputs import AuditInputs, CardKey
from tallyguard.audit.workflow.result import Draw
from tallyguard.audit.workflow.retrieval import natural, open_round_cards, retrieval_order
from tallyguard.audit.workflow.sample import SampledDraw, draw_sample
from tallyguard.store.db import Store

from .conftest import Election, election_inputs
from .test_boards import CONTESTS, NAME, _paper, _set_up


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store.open(db_url) as opened:
        yield opened


def _key(d: Draw) -> CardKey:
    return CardKey(d.jurisdiction, d.tabulator, d.batch_name, d.position)


def _evaluated(store: Store, place: str | None) -> list[Draw]:
    """The open round's cards as the full evaluation lists them, in retrieval order."""
    with store.transaction() as s:
        audit = service.find_audit(s, NAME)
        result = service.status(s, audit)
        number = max(d.round for d in result.sample)
    cards = [
        dataclasses.replace(d, readings={})
        for d in result.sample
        if d.round == number and d.position > 0 and place in (None, d.jurisdiction)
    ]
    return sorted(cards, key=lambda d: retrieval_order(_key(d)))


def _listed(store: Store, place: str | None) -> retrieval.RoundCards:
    with store.transaction() as s:
        return open_round_cards(s, service.find_audit(s, NAME), place)


def _places(cards: list[Draw]) -> list[str]:
    return sorted({d.jurisdiction for d in cards})


def _check(store: Store, number: int, size: int) -> list[Draw]:
    everything = _evaluated(store, None)
    listed = _listed(store, None)
    assert listed.round == number
    assert list(listed.cards) == everything
    assert listed.others == frozenset()
    for place in _places(everything):
        mine = _listed(store, place)
        assert list(mine.cards) == _evaluated(store, place)
        assert mine.others == {d.ticket for d in everything if d.jurisdiction != place}
    assert len(everything) == size
    return everything


def test_the_boards_view_is_the_evaluated_sample(
    store: Store, election_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    election: Election = election_inputs(election_dir, contests=CONTESTS, rounds=(12,))
    _set_up(store, election_dir)
    draws: list[int] = []

    def counted(inputs: AuditInputs, size: int) -> list[SampledDraw]:
        draws.append(size)
        return draw_sample(inputs, size)

    monkeypatch.setattr(retrieval, "draw_sample", counted)
    first = _check(store, 1, 12)
    assert sum(1 for d in first if d.imprinted_id) == 12  # the simulated CVRs carry them
    assert not any(d.audited for d in first)

    def record(card: CardKey, seen: dict[str, CardInterpretation]) -> None:
        with store.transaction() as s:
            audit = service.find_audit(s, NAME)
            record_card(s, audit, board="b", card=card, interpretations=seen, actor="t")

    for d in first[:3]:
        record(_key(d), _paper(election, _key(d)))
    record(_key(first[3]), {name: CardInterpretation("not_found", ()) for name in CONTESTS})
    first = _check(store, 1, 12)
    assert [d.audited for d in first] == [True] * 4 + [False] * 8
    for d in first[4:]:
        record(_key(d), _paper(election, _key(d)))
    with store.transaction() as s:
        audit = service.find_audit(s, NAME)
        service.finish_round(s, audit, "t")
        service.start_round(s, audit, 30, "t")
    second = _check(store, 2, 18)
    assert not {d.ticket for d in second} & {d.ticket for d in first}
    # Each round's sample was drawn once, however often the boards' pages asked.
    assert draws == [12, 30]


@pytest.mark.parametrize(
    ("names", "ordered"),
    [
        (["B10", "B2", "b1", "B1a"], ["b1", "B1a", "B2", "B10"]),
        (["Tab 12", "Tab 3", "Tab 3b"], ["Tab 3", "Tab 3b", "Tab 12"]),
    ],
)
def test_natural_order(names: list[str], ordered: list[str]) -> None:
    assert sorted(names, key=natural) == ordered
