"""The open round's cards as audit boards work through them, read without evaluating the audit.

A board's pages ask two things many times a minute: which cards of its
jurisdiction the open round drew, in the order they are pulled from storage
(tabulator, batch, position), and which of them are recorded. Evaluating the
audit answers both but redraws the whole sample and measures the risk, which
costs a quarter of a second at 5,000 cards; here

* the sample is drawn once per process and round and kept (:func:`sample_of`):
  it depends only on the manifest, the seed and the round sizes, all frozen once
  the seed is set, and it is keyed by the hash of the audit's ``seed.set`` event
  (which chains everything the audit held when its seed was set) and the sizes;
* whether a card is recorded comes from one grouped query of the interpretations
  of the jurisdiction, by the rule of the evaluation
  (:func:`~tallyguard.audit.workflow.readings.is_audited`);
* the list of one jurisdiction's cards is built once per round and kept with the
  sample, and a page builds only the cards it shows.

The cards carry the same draw numbers, tickets, rounds, containers and imprinted
ids as the evaluated sample (``tests/audit/workflow/test_retrieval.py`` checks).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from tallyguard.audit.workflow.engine import round_of
from tallyguard.audit.workflow.inputs import AuditInputs, CardKey
from tallyguard.audit.workflow.result import Draw
from tallyguard.audit.workflow.sample import SampledDraw, draw_sample
from tallyguard.audit.workflow.state import read_manifest, rounds_of
from tallyguard.store.models import (
    Audit,
    Batch,
    Contest,
    Cvr,
    Event,
    Interpretation,
    Jurisdiction,
)

#: Samples kept in memory, each for one audit and one set of round sizes.
CACHE_SIZE = 16


def natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that puts ``B2`` before ``B10``."""
    return tuple(
        (0, int(piece)) if piece.isdigit() else (1, piece.casefold())
        for piece in re.split(r"(\d+)", text)
        if piece
    )


def retrieval_order(card: CardKey) -> tuple[object, ...]:
    """Jurisdiction, tabulator, batch (each in natural order), then position."""
    return (natural(card.jurisdiction), natural(card.tabulator), natural(card.batch_name),
            card.position)  # fmt: skip


@dataclass(frozen=True)
class _List:
    """One round's cards of one jurisdiction (or all), in retrieval order."""

    draws: tuple[SampledDraw, ...]
    cards: frozenset[CardKey]
    tickets: dict[str, int]  # ticket -> index in draws
    others: frozenset[str]  # the round's tickets in other jurisdictions


@dataclass(frozen=True)
class Sample:
    """An audit's sample for some round sizes, drawn once."""

    draws: tuple[SampledDraw, ...]  # in draw order
    rounds: Mapping[CardKey, int]  # each sampled card -> the round that drew it
    in_retrieval_order: tuple[SampledDraw, ...]
    #: (round, jurisdiction) -> that round's cards there, their index by ticket, and the
    #: tickets elsewhere (see :func:`_list`)
    lists: dict[tuple[int, str | None], _List] = field(default_factory=dict)


_samples: OrderedDict[tuple[str, tuple[int, ...]], Sample] = OrderedDict()
_samples_lock = threading.Lock()


def _imprinted(
    session: Session, audit: Audit, batch_ids: Mapping[tuple[str, str, str], int],
    cards: set[CardKey],
) -> dict[CardKey, str]:  # fmt: skip
    """The imprinted ids the CVRs give the sampled ``cards`` (comparison audits)."""
    keys = {batch_id: batch for batch, batch_id in batch_ids.items()}
    wanted = {batch_ids[c.batch] for c in cards}
    found: dict[CardKey, str] = {}
    query = select(Cvr.batch_id, Cvr.position, Cvr.imprinted_id).where(
        Cvr.audit_id == audit.id, Cvr.imprinted_id.is_not(None)
    )
    for batch_id, position, imprinted in session.execute(query):
        if batch_id in wanted:
            card = CardKey(*keys[batch_id], position)
            if card in cards and imprinted is not None:
                found[card] = imprinted
    return found


def sample_of(session: Session, audit: Audit, sizes: tuple[int, ...]) -> Sample:
    """The audit's first ``sizes[-1]`` draws (see the module docstring for the cache).

    Raises:
        InputError: The audit has no seed, or a size exceeds the population.
    """
    anchor = session.scalars(
        select(Event.hash)
        .where(Event.audit_id == audit.id, Event.type == "seed.set")
        .order_by(Event.seq)
        .limit(1)
    ).one_or_none()
    key = (anchor or "", sizes)
    if anchor is not None:
        with _samples_lock:
            cached = _samples.get(key)
            if cached is not None:
                _samples.move_to_end(key)
                return cached
    rows, jurisdictions, batches = read_manifest(session, audit)
    inputs = AuditInputs(
        name=audit.name,
        election=audit.election,
        kind=audit.kind,  # type: ignore[arg-type]
        risk_limit=audit.risk_limit,
        method=audit.method,
        seed=audit.seed,
        batches=batches,
        contests=(),
    )
    draws = draw_sample(inputs, sizes[-1])
    if audit.kind == "comparison" and draws:
        batch_ids = {(jurisdictions[b.jurisdiction_id], b.tabulator, b.batch_name): b.id
                     for b in rows}  # fmt: skip
        imprinted = _imprinted(session, audit, batch_ids, {d.card for d in draws})
        draws = [replace(d, imprinted_id=imprinted.get(d.card)) for d in draws]
    sample = Sample(
        draws=tuple(draws),
        rounds={d.card: round_of(sizes, d.draw) for d in draws},
        in_retrieval_order=tuple(sorted(draws, key=lambda d: retrieval_order(d.card))),
    )
    if anchor is not None:
        with _samples_lock:
            _samples[key] = sample
            while len(_samples) > CACHE_SIZE:
                _samples.popitem(last=False)
    return sample


def _audited(session: Session, audit: Audit, jurisdiction: str | None) -> frozenset[CardKey]:
    """The cards (of one jurisdiction, or all) with a reading for every contest of the
    audit, or not found for one (the rule of :func:`~.readings.is_audited`), from one
    grouped query."""
    contests = session.scalar(
        select(func.count()).select_from(Contest).where(Contest.audit_id == audit.id)
    )
    query = (
        select(Jurisdiction.name, Batch.tabulator, Batch.batch_name, Interpretation.position)
        .join(Batch, Batch.id == Interpretation.batch_id)
        .join(Jurisdiction, Jurisdiction.id == Batch.jurisdiction_id)
        .where(Interpretation.audit_id == audit.id, Interpretation.position > 0)
        .group_by(Jurisdiction.name, Batch.tabulator, Batch.batch_name, Interpretation.position)
        .having(
            or_(
                func.count() >= contests,
                func.sum(case((Interpretation.result == "not_found", 1), else_=0)) > 0,
            )
        )
    )
    if jurisdiction is not None:
        query = query.where(Jurisdiction.name == jurisdiction)
    return frozenset(CardKey(*row) for row in session.execute(query))


@dataclass(frozen=True)
class RoundCards:
    """The open round's sampled cards of one jurisdiction (or all), in retrieval order.

    ``cards`` are built when first asked for: a board's card page needs one card,
    its place in the list (:meth:`index`) and the count recorded, not thousands.
    """

    round: int | None  # the open round, or None when no round is open
    draws: tuple[SampledDraw, ...] = ()
    audited: frozenset[CardKey] = frozenset()  # the recorded cards among ``draws``
    others: frozenset[str] = frozenset()  # tickets of the round in other jurisdictions
    tickets: Mapping[str, int] = field(default_factory=dict)  # ticket -> index in draws

    @property
    def recorded(self) -> int:
        return len(self.audited)

    def index(self, ticket: str) -> int | None:
        """Where the card of ``ticket`` is in the list (None: not on it)."""
        return self.tickets.get(ticket)

    def card(self, index: int) -> Draw:
        d = self.draws[index]
        return Draw(
            draw=d.draw,
            round=self.round or 0,
            ticket=d.ticket,
            jurisdiction=d.card.jurisdiction,
            tabulator=d.card.tabulator,
            batch_name=d.card.batch_name,
            position=d.card.position,
            container=d.container,
            imprinted_id=d.imprinted_id,
            audited=d.card in self.audited,
            readings={},
        )

    @cached_property
    def cards(self) -> tuple[Draw, ...]:
        return tuple(self.card(i) for i in range(len(self.draws)))

    def next_unrecorded(self, after: str) -> Draw | None:
        """The first unrecorded card after ``after`` in the list, wrapping around."""
        start = self.tickets.get(after, -1) + 1
        count = len(self.draws)
        for step in range(count):
            i = (start + step) % count
            d = self.draws[i]
            if d.card not in self.audited and d.ticket != after:
                return self.card(i)
        return None


def _list(sample: Sample, number: int, jurisdiction: str | None) -> _List:
    """A round's cards of one jurisdiction (kept with the sample: they change only with it)."""
    key = (number, jurisdiction)
    kept = sample.lists.get(key)
    if kept is None:
        drawn = [d for d in sample.in_retrieval_order
                 if sample.rounds[d.card] == number and d.card.position > 0]  # fmt: skip
        mine = tuple(d for d in drawn if jurisdiction in (None, d.card.jurisdiction))
        others = frozenset(
            d.ticket for d in drawn if jurisdiction not in (None, d.card.jurisdiction)
        )
        kept = _List(
            mine, frozenset(d.card for d in mine), {d.ticket: i for i, d in enumerate(mine)}, others
        )
        sample.lists[key] = kept
    return kept


def open_round_cards(session: Session, audit: Audit, jurisdiction: str | None) -> RoundCards:
    """The cards of the open round a board pulls (batch audits have none: they count batches).

    Raises:
        InputError: The sample cannot be drawn (no seed, a size past the population).
    """
    rounds = rounds_of(session, audit)
    if audit.status != "sampling" or not rounds or rounds[-1].finished:
        return RoundCards(None)
    number = rounds[-1].number
    sample = sample_of(session, audit, tuple(r.sample_size for r in rounds))
    kept = _list(sample, number, jurisdiction)
    audited = _audited(session, audit, jurisdiction) & kept.cards
    return RoundCards(number, kept.draws, audited, kept.others, kept.tickets)
