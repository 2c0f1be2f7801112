"""Rivest's consistent sampler, ticket for ticket identical with ``consistent-sampler``, and fast.

Rivest, R.L. (2018). "Consistent Sampling with Replacement." arXiv:1808.10016;
reference implementation ``consistent_sampler.sampler`` (package
``consistent-sampler`` 1.0.10), which Arlo calls with ``output="tuple"`` and
``digits=18`` on ballot ids ``((jurisdiction, batch_name), position)``.

Every ballot gets a first ticket from SHA-256 of the seed and its id (see
:mod:`~tallyguard.audit.sampling.tickets`); draws come out in increasing ticket
order. With replacement a drawn ballot gets a larger next ticket and stays in the
basket, so it may be drawn again; ``times_sampled`` counts its draws so far
(pitfall P3: every draw counts, once per draw).

Speed (the reference spends ~5.5 µs per ballot): one SHA-256 block per ballot
from a precomputed seed prefix, a vectorised 9-digit key, a partial selection,
and two processes for manifests of 200,000 ballots or more (see ``_kernel``). Only the
few candidates get full-precision tickets, which are then ordered exactly as the
reference orders them (as strings). With replacement, only ids whose *first*
ticket is among the ``drop + take`` smallest can appear in the first
``drop + take`` draws: an id's later tickets are larger than its first, and at
least ``drop + take`` tickets are no larger than that bound.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from operator import index
from typing import Protocol, cast

from tallyguard.audit.sampling import tickets
from tallyguard.audit.sampling._kernel import Indices, Keys
from tallyguard.audit.sampling.population import (
    BallotId,
    IdPopulation,
    ManifestPopulation,
    default_workers,
    plain_position,
    plain_text,
)
from tallyguard.errors import InputError
from tallyguard.model.manifest import ManifestBatch

ARLO_DIGITS = 18


@dataclass(frozen=True)
class Draw:
    """One draw of the consistent sampler.

    Attributes:
        ticket: the ticket number, trimmed to ``digits`` digits after any leading 9s
            (the reference's ``trim``; it may therefore have more than ``digits`` digits).
        id: the id drawn.
        draw_index: 1-based position of the draw in the whole stream of draws
            (``drop + 1`` for the first draw returned).
        times_sampled: how many times this id has been drawn up to and including this
            draw (the reference's ``generation``); always 1 without replacement.
    """

    ticket: str
    id: Hashable
    draw_index: int
    times_sampled: int


@dataclass(frozen=True)
class BallotDraw:
    """One draw of a ballot card from a manifest, in draw order (as Arlo lists it)."""

    ticket: str
    jurisdiction: str
    batch_name: str
    position: int
    times_sampled: int


class _Population(Protocol):
    size: int
    parallel_by_default: bool

    def texts(self, indices: Sequence[int]) -> list[str]: ...

    def ids(self, indices: Sequence[int]) -> list[Hashable]: ...

    def select(self, seed_hex: str, need: int, workers: int) -> tuple[Keys, Indices]: ...


def ballot_id(jurisdiction: str, batch_name: str, position: int) -> BallotId:
    """The id whose ``str()`` Arlo hashes for a ballot: ``((jurisdiction, batch_name), position)``.

    Args:
        jurisdiction: the jurisdiction's name.
        batch_name: the batch's name in the manifest.
        position: the card's 1-based position in the batch.

    Returns:
        A tuple of plain ``str`` and ``int`` only (a ``numpy.str_`` is converted:
        inside a tuple it would print as ``np.str_('...')`` and change the ticket).

    Raises:
        InputError: for a name that is not text or a position that is not >= 1.
    """
    names = (plain_text(jurisdiction, "jurisdiction"), plain_text(batch_name, "batch name"))
    return (names, plain_position(position))


def arlo_ballot_id(
    jurisdiction: str, tabulator: str | None, batch_name: str, position: int
) -> tuple[tuple[str, str | None, str], int]:
    """The id current Arlo hashes: ``((jurisdiction, tabulator, batch_name), position)``.

    Arlo's ``server/api/shared.py`` (votingworks/arlo 8d86156c) keys batches by
    (jurisdiction name, tabulator, batch name), the tabulator being ``None`` when
    the manifest has none. Pass a list of these to :func:`consistent_sample` to
    reproduce such a draw; :func:`sample_manifest` uses :func:`ballot_id`.
    """
    tab = None if tabulator is None else plain_text(tabulator, "tabulator")
    key = (plain_text(jurisdiction, "jurisdiction"), tab, plain_text(batch_name, "batch name"))
    return (key, plain_position(position))


def consistent_sample(
    ids: Sequence[Hashable] | Sequence[ManifestBatch],
    seed: str,
    take: int,
    *,
    with_replacement: bool = False,
    digits: int = ARLO_DIGITS,
    drop: int = 0,
    workers: int | None = None,
) -> list[Draw]:
    """Draw ``take`` ids in consistent-sampling order, after skipping the first ``drop`` draws.

    Equals ``list(consistent_sampler.sampler(ids, seed=seed, take=take, drop=drop,
    with_replacement=with_replacement, output="tuple", digits=digits))``: same
    tickets, ids, generations and order (Rivest 2018, arXiv:1808.10016).

    Args:
        ids: distinct ids (each hashed as ``str(id)``), or a ballot manifest, whose
            ballots get the ids :func:`ballot_id` ``(jurisdiction, batch_name, p)``.
        seed: the public random seed, any non-empty text (see
            :func:`~tallyguard.audit.sampling.validate_dice_seed` for dice seeds).
        take: number of draws to return (>= 0).
        with_replacement: draw with replacement (an id may come up again); the
            audit must then use with-replacement risk mathematics (pitfall P3).
        digits: ticket digits kept after any leading 9s (Arlo: 18).
        drop: number of earlier draws to skip (e.g. the draws of previous rounds).
        workers: processes to hash with; by default 2 for a manifest of 200,000
            ballots or more, else 1 (for arbitrary ids, writing ``str(id)`` in this
            process costs as much as the hashing that would be shared).

    Returns:
        The draws in order; ``draw_index`` runs from ``drop + 1``.

    Raises:
        InputError: for an empty seed or population, a negative ``take``/``drop``/
            ``digits``, repeated ids, or more draws without replacement than ids.
    """
    population: _Population
    if len(ids) > 0 and all(isinstance(item, ManifestBatch) for item in ids):
        population = ManifestPopulation(ids)  # type: ignore[arg-type]
    else:
        population = IdPopulation(ids)
    draws = _draw(population, seed, take, with_replacement, digits, drop, workers)
    chosen = population.ids([i for _, i, _, _ in draws])
    return [
        Draw(ticket, item, number, generation)
        for (ticket, _, number, generation), item in zip(draws, chosen, strict=True)
    ]


def sample_manifest(
    batches: Sequence[ManifestBatch],
    seed: str,
    take: int,
    *,
    with_replacement: bool = False,
    drop: int = 0,
    workers: int | None = None,
) -> list[BallotDraw]:
    """Draw ballot cards from a manifest as Arlo does (``digits=18``), in draw order.

    Ballot ``p`` (1-based) of a batch has the id ``((jurisdiction, batch_name), p)``;
    the result equals ``consistent_sampler.sampler`` on those ids (Rivest 2018,
    arXiv:1808.10016).

    Args:
        batches: the manifest (e.g. from :func:`tallyguard.io.manifest.read_manifest`).
        seed: the public random seed.
        take: number of draws.
        with_replacement: draw with replacement (Arlo's ballot-polling default).
        drop: number of draws of earlier rounds to skip.
        workers: processes to hash with; by default 2 from 200,000 ballots on.

    Raises:
        InputError: for an empty manifest or seed, a batch listed twice, or more
            draws without replacement than ballots (a full hand count is needed).
    """
    population = ManifestPopulation(batches)
    draws = _draw(population, seed, take, with_replacement, ARLO_DIGITS, drop, workers)
    where = population.locate([i for _, i, _, _ in draws])
    return [
        BallotDraw(ticket, *cast(tuple[str, str], population.names[batch]), position, generation)
        for (ticket, _, _, generation), (batch, position) in zip(draws, where, strict=True)
    ]


def sample_arlo_manifest(
    batches: Sequence[ManifestBatch], seed: str, take: int, *, workers: int | None = None
) -> list[Draw]:
    """Draw ballot cards by current Arlo's ids, without replacement, in draw order.

    Equals :func:`consistent_sample` on the ids :func:`arlo_ballot_id` gives
    every card, ``((jurisdiction, tabulator or None, batch_name), p)``, in
    manifest order, but hashes them batch by batch as :func:`sample_manifest`
    does (a million cards in under a second instead of several).
    """
    population = ManifestPopulation(batches, tabulators=True)
    draws = _draw(population, seed, take, False, ARLO_DIGITS, 0, workers)
    chosen = population.ids([i for _, i, _, _ in draws])
    return [
        Draw(ticket, item, number, generation)
        for (ticket, _, number, generation), item in zip(draws, chosen, strict=True)
    ]


def _count(value: object, name: str) -> int:
    try:
        number = index(value)  # type: ignore[arg-type]
    except TypeError:
        number = -1
    if isinstance(value, bool) or number < 0:
        raise InputError(
            f"{name} must be a whole number >= 0, not {value!r}.",
            field=name,
            fix=f"give {name} as a whole number such as 0, 1, 2, ...",
        )
    return number


def _draw(
    population: _Population,
    seed: str,
    take: int,
    with_replacement: bool,
    digits: int,
    drop: int,
    workers: int | None,
) -> list[tuple[str, int, int, int]]:
    """The draws ``drop + 1 .. drop + take`` of the consistent sampler on ``population``.

    Returns:
        (trimmed ticket, index in the population, draw number, times sampled) per draw.
    """
    seed = tickets.check_seed(seed)
    take, drop, digits = _count(take, "take"), _count(drop, "drop"), _count(digits, "digits")
    size = population.size
    if size == 0:
        raise InputError(
            "there are no ballots to sample from.",
            fix="check the manifest: every batch has 0 ballots, or it has no rows.",
        )
    if not with_replacement and drop + take > size:
        raise InputError(
            f"cannot draw {drop + take:,} ballots without replacement from {size:,}.",
            field="take",
            fix=f"a full hand count is needed: count all {size:,} ballots by hand, "
            f"or draw at most {size - drop:,}.",
        )
    if take == 0:
        return []
    need = min(drop + take, size)
    seed_hex = tickets.seed_hash(seed)
    if workers is None:
        workers = default_workers(size) if population.parallel_by_default else 1
    _, candidates = population.select(seed_hex, need, max(1, _count(workers, "workers")))
    ordered = _exact_order(population, seed_hex, [int(i) for i in candidates])[:need]
    if with_replacement:
        stream = _with_replacement(ordered, drop + take)
    else:
        stream = [(ticket, i, 1) for ticket, i in ordered]
    return [
        (tickets.trim(ticket, digits), i, drop + n, generation)
        for n, (ticket, i, generation) in enumerate(stream[drop : drop + take], 1)
    ]


def _exact_order(
    population: _Population, seed_hex: str, indices: list[int]
) -> list[tuple[str, int]]:
    """Full first tickets of the candidates, sorted as the reference sorts them (strings)."""
    copy = hashlib.sha256(seed_hex.encode("ascii")).copy
    full: list[tuple[str, int]] = []
    for text, i in zip(population.texts(indices), indices, strict=True):
        hasher = copy()
        hasher.update(text.encode("utf-8"))
        full.append(("0." + tickets.digits_from_digest(hasher.digest()), i))
    full.sort()
    for (first, i), (second, j) in pairwise(full):
        if first == second:
            a, b = population.ids([i, j])
            raise InputError(
                f"ids {a!r} and {b!r} print the same text, so they get the same tickets.",
                fix="give every ballot an id whose text is unique.",
            )
    return full


def _with_replacement(ordered: list[tuple[str, int]], count: int) -> list[tuple[str, int, int]]:
    """The first ``count`` draws with replacement among ids with these first tickets."""
    heap = [(ticket, i, 1) for ticket, i in ordered]
    heapq.heapify(heap)
    stream: list[tuple[str, int, int]] = []
    while len(stream) < count:
        ticket, i, generation = heapq.heappop(heap)
        stream.append((ticket, i, generation))
        heapq.heappush(heap, (tickets.next_ticket(ticket), i, generation + 1))
    return stream
