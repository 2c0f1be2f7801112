"""Ballot cards: every card's unit, batch, position and marks, as vectors.

One ballot is one card here. A card carries a contest only if its
jurisdiction's ballot style includes it. Marks are ``uint8`` matrices
(cards x choices); a row with more marks than the contest allows is an
overvote, an all-zero row is a blank (undervote).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tallyguard.model import Contest, ContestKind
from tallyguard.simulate.config import SimulationConfig
from tallyguard.simulate.units import BoolArray, IntArray, Stuffing, Units

Marks = NDArray[np.uint8]


@dataclass(frozen=True)
class Cards:
    """All ballot cards of the election, ordered by unit, batch and position."""

    unit: IntArray  # unit index of each card
    stuffed: BoolArray  # the card was stuffed into the box
    batch: IntArray  # global batch index of each card
    position: IntArray  # 1-based position within its batch
    batch_unit: IntArray  # unit index of each batch
    batch_number: IntArray  # 1-based batch number within its unit
    batch_size: IntArray  # cards in each batch
    present: list[BoolArray]  # per contest: the card's style includes it
    paper: list[Marks]  # per contest: what the paper shows
    switched: BoolArray  # main-contest vote replaced by a leader vote (Klimek fraud)

    @property
    def n(self) -> int:
        return int(self.unit.size)


def valid_votes(marks: Marks, contest: Contest) -> Marks:
    """Marks that count: rows with more marks than allowed (overvotes) count as none."""
    ok = marks.sum(axis=1, dtype=np.int64) <= contest.votes_allowed
    out: Marks = marks * ok[:, None].astype(np.uint8)
    return out


def _layout(
    units: Units, stuffing: Stuffing, batch_size: int, rng: np.random.Generator
) -> tuple[IntArray, BoolArray, IntArray, IntArray, IntArray, IntArray, IntArray]:
    per_unit = units.voters + stuffing.stuffed
    n = int(per_unit.sum())
    unit = np.repeat(np.arange(units.n, dtype=np.int64), per_unit)
    start = np.concatenate(([0], np.cumsum(per_unit)[:-1]))
    offset = np.arange(n, dtype=np.int64) - start[unit]
    stuffed = offset >= units.voters[unit]
    mixed = np.flatnonzero((stuffing.stuffed > 0)[unit])
    if mixed.size:  # stuffed ballots end up mixed with the genuine ones of their unit
        order = mixed[np.lexsort((rng.random(mixed.size), unit[mixed]))]
        stuffed[mixed] = stuffed[order]
    batches_per_unit = -(-per_unit // batch_size)
    first_batch = np.concatenate(([0], np.cumsum(batches_per_unit)[:-1]))
    batch = first_batch[unit] + offset // batch_size
    position = offset % batch_size + 1
    batch_unit = np.repeat(np.arange(units.n, dtype=np.int64), batches_per_unit)
    batch_number = np.arange(batch_unit.size, dtype=np.int64) - first_batch[batch_unit] + 1
    batch_size_arr = np.bincount(batch, minlength=batch_unit.size).astype(np.int64)
    return unit, stuffed, batch, position, batch_unit, batch_number, batch_size_arr


def _gumbel_top(rng: np.random.Generator, pref: NDArray[np.float64], take: int) -> IntArray:
    """Choices drawn without replacement, proportional to ``pref`` (Gumbel top-k)."""
    keys = np.log(pref).astype(np.float32) + rng.gumbel(size=pref.shape).astype(np.float32)
    top: IntArray = np.argsort(-keys, axis=1)[:, :take]
    return top


def _genuine_marks(
    rng: np.random.Generator, contest: Contest, blank: float, over: float, pref: NDArray[np.float64]
) -> Marks:
    n, k = int(pref.shape[0]), int(pref.shape[1])
    marks = np.zeros((n, k), dtype=np.uint8)
    u: NDArray[np.float64] = rng.random(n)
    is_blank: NDArray[np.bool_] = u < blank
    can_overvote = contest.kind is not ContestKind.APPROVAL and contest.votes_allowed < k
    is_over: NDArray[np.bool_] = (u >= blank) & (u < blank + over)
    if not can_overvote:
        is_over[:] = False
    valid = ~(is_blank | is_over)
    rows = np.arange(n)
    if contest.kind is ContestKind.APPROVAL:
        marks[:] = rng.random((n, k)) < pref
    elif contest.votes_allowed == 1:
        cum = np.cumsum(pref, axis=1)
        draw: NDArray[np.float64] = rng.random(n)
        above: NDArray[np.bool_] = draw[:, None] > cum
        choice = np.minimum(above.sum(axis=1), k - 1)
        marks[rows[valid], choice[valid]] = 1
    else:
        top = _gumbel_top(rng, pref, contest.votes_allowed)
        marks[rows[valid, None], top[valid]] = 1
    if is_over.any():
        extra = _gumbel_top(rng, pref[is_over], contest.votes_allowed + 1)
        marks[rows[is_over, None], extra] = 1
    marks[is_blank] = 0
    return marks


def draw_cards(
    config: SimulationConfig,
    contests: list[Contest],
    units: Units,
    stuffing: Stuffing,
    streams: dict[str, np.random.Generator],
) -> Cards:
    """Expand units into cards and mark every card for every contest on it.

    Stuffed cards vote for the leader in the main contest and leave the others
    blank. In units with Klimek fraud, each genuine non-leader vote of the main
    contest is also replaced by a leader vote with probability ``x**alpha``
    (physical: paper and CVR agree).

    Genuine cards draw from the ``ballots`` stream in the same order whatever the
    manipulation, so a manipulated election differs from the clean one with the
    same seed only where the manipulation acted.
    """
    rng, fraud = streams["ballots"], streams["stuffing"]
    unit, stuffed, batch, position, batch_unit, batch_number, batch_size = _layout(
        units, stuffing, config.batch_size, fraud
    )
    jurisdiction = units.jurisdiction[unit]
    present_all: list[BoolArray] = []
    paper: list[Marks] = []
    for c, (spec, contest) in enumerate(zip(config.contests, contests, strict=True)):
        present = units.contest_in_jurisdiction[c, jurisdiction]
        k = len(contest.choices)
        marks = np.zeros((unit.size, k), dtype=np.uint8)
        genuine = np.flatnonzero(present & ~stuffed)
        pref = units.preference[c][unit[genuine]]
        marks[genuine] = _genuine_marks(rng, contest, spec.blank_rate, spec.overvote_rate, pref)
        present_all.append(present)
        paper.append(marks)

    main, leader = paper[0], contests[0].choices.index(config.leader_name)
    main[stuffed] = 0
    main[stuffed, leader] = 1
    switched = np.zeros(unit.size, dtype=bool)
    if stuffing.kind.any():
        x = stuffing.x[unit]
        alpha = config.manipulation.stuffing.alpha
        other = (valid_votes(main, contests[0]).sum(axis=1) == 1) & (main[:, leader] == 0)
        switched = other & ~stuffed & (fraud.random(unit.size) < x**alpha)
        main[switched] = 0
        main[switched, leader] = 1
    return Cards(
        unit=unit,
        stuffed=stuffed,
        batch=batch,
        position=position,
        batch_unit=batch_unit,
        batch_number=batch_number,
        batch_size=batch_size,
        present=present_all,
        paper=paper,
        switched=switched,
    )
