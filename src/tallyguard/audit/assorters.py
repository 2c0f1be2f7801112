"""Assorters and assertions: every outcome as "some means exceed 1/2" (SHANGRLA).

Stark (2020), "Sets of half-average nulls generate risk-limiting audits:
SHANGRLA", Financial Cryptography workshops, LNCS 12063. A contest's reported
outcome is right iff, for every assertion, the mean of its assorter ``A`` over
all cards exceeds 1/2. ``A`` maps a card to [0, u]:

* plurality, k winners, and approval: one assertion per (winner w, loser l),
  ``A(b) = (b_w - b_l + 1) / 2``, u = 1 (Stark 2020, §2.1-2.2);
* supermajority with share f: ``A(b) = b_w / (2f)`` for a valid vote for w, 0
  for a valid vote for another choice, 1/2 without a valid vote; u = 1/(2f)
  (§2.3).

A card that does not carry the contest, or whose contest is blank or
overvoted, has ``A = 1/2``. The *assorter margin* is ``v = 2 mean(A) - 1``;
for a plurality pair it is the diluted margin ``(T_w - T_l) / N`` over the N
cards that may contain the contest.

Comparison audits test the *overstatement assorter* (Stark 2020, §3.2)
``B = (1 - omega / u) / (2 - v / u)`` with ``omega = A(cvr) - A(paper)``; B lies
in [0, 2 / (2 - v/u)] and has mean > 1/2 iff the outcome is right.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tallyguard.errors import InputError
from tallyguard.model import Contest, ContestKind

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
Marks = NDArray[np.uint8]


@dataclass(frozen=True)
class Assorter:
    """A function from ballot cards to [0, upper_bound] for one contest.

    ``loser`` is None for a supermajority assorter (it pits the winner against
    every other choice).
    """

    contest: Contest
    winner: str
    loser: str | None

    @property
    def upper_bound(self) -> float:
        """u: the largest value the assorter takes."""
        if self.contest.kind is ContestKind.SUPERMAJORITY:
            assert self.contest.share_to_win is not None
            return 1.0 / (2.0 * self.contest.share_to_win)
        return 1.0

    def assort(
        self,
        marks: Marks,
        *,
        on_card: Bools | None = None,
        found: Bools | None = None,
    ) -> Floats:
        """Assorter values of cards given their marks (cards x choices, 0/1).

        Args:
            marks: The contest's marks on each card, choices in contest order.
            on_card: Whether each card carries the contest (default: all do).
            found: Whether each card was found; a missing card takes the worst
                value for the reported winner, 0 (Bañuelos & Stark 2012).
        """
        marks = np.asarray(marks, dtype=np.uint8)
        choices = self.contest.choices
        valid = marks.sum(axis=1, dtype=np.int64) <= self.contest.votes_allowed
        w = marks[:, choices.index(self.winner)].astype(np.float64) * valid
        if self.loser is not None:
            lo = marks[:, choices.index(self.loser)].astype(np.float64) * valid
            values: Floats = (w - lo + 1.0) / 2.0
        else:
            any_vote = (marks.sum(axis=1) > 0) & valid
            values = np.where(any_vote, w * self.upper_bound, 0.5)
        if on_card is not None:
            values = np.where(on_card, values, 0.5)
        if found is not None:
            values = np.where(found, values, 0.0)
        return values

    def reported_mean(self, totals: Mapping[str, int], ballots: int) -> float:
        """Mean of the assorter over ``ballots`` cards with the reported ``totals``.

        Cards without a valid vote in the contest count 1/2, so this is exact
        for plurality and approval, and for supermajority contests with
        vote-for-one.
        """
        if ballots <= 0:
            raise InputError("a contest needs at least one ballot card.", field="ballots")
        if self.loser is not None:
            return (ballots + totals[self.winner] - totals[self.loser]) / (2.0 * ballots)
        valid = sum(totals.values())
        return (totals[self.winner] * self.upper_bound + (ballots - valid) / 2.0) / ballots


@dataclass(frozen=True)
class Assertion:
    """An assorter with the reported results it is judged against."""

    assorter: Assorter
    reported_mean: float
    ballots: int

    @property
    def margin(self) -> float:
        """Assorter margin v = 2 * mean - 1 (the diluted margin for a pair)."""
        return 2.0 * self.reported_mean - 1.0

    @property
    def can_confirm(self) -> bool:
        """A non-positive margin (a tie or a loss) can only be settled by a full count."""
        return self.margin > 0

    @property
    def name(self) -> str:
        a = self.assorter
        rival = a.loser if a.loser is not None else "all others"
        return f"{a.contest.name}: {a.winner} beats {rival}"

    # Comparison audits -------------------------------------------------------

    @property
    def overstatement_upper_bound(self) -> float:
        """Upper bound of B: 2 / (2 - v/u)."""
        return 2.0 / (2.0 - self.margin / self.assorter.upper_bound)

    @property
    def noerror(self) -> float:
        """B on a card whose CVR is right: 1 / (2 - v/u)."""
        return 1.0 / (2.0 - self.margin / self.assorter.upper_bound)

    def overstatement(self, cvr_values: Floats, paper_values: Floats) -> Floats:
        """B = (1 - omega/u) / (2 - v/u), omega = A(cvr) - A(paper), card by card."""
        u = self.assorter.upper_bound
        omega = np.asarray(cvr_values, dtype=np.float64) - np.asarray(paper_values, np.float64)
        result: Floats = (1.0 - omega / u) * self.noerror
        return result

    def overstatement_of_marks(
        self,
        cvr: Marks,
        paper: Marks,
        *,
        on_card: Bools | None = None,
        found: Bools | None = None,
        phantom: Bools | None = None,
    ) -> Floats:
        """B from CVR and paper marks; missing paper counts 0, phantom CVRs count u."""
        a = self.assorter
        cvr_values = a.assort(cvr, on_card=on_card)
        if phantom is not None:
            cvr_values = np.where(phantom, a.upper_bound, cvr_values)
        return self.overstatement(cvr_values, a.assort(paper, on_card=on_card, found=found))

    def overstatement_count(self, b_values: Floats) -> NDArray[np.int64]:
        """B values as overstatements in votes (2, 1, 0, -1, -2) for a u = 1 assorter."""
        omega = (1.0 - np.asarray(b_values) / self.noerror) * self.assorter.upper_bound
        counts: NDArray[np.int64] = np.rint(2.0 * omega).astype(np.int64)
        return counts


def _check_totals(contest: Contest, totals: Mapping[str, int], ballots: int) -> None:
    unknown = sorted(set(totals) - set(contest.choices))
    if unknown:
        raise InputError(
            f"contest {contest.name!r} has no choice(s) {unknown}.",
            field="reported",
            fix=f"use the contest's choices: {list(contest.choices)}.",
        )
    if any(v < 0 for v in totals.values()):
        raise InputError(
            f"contest {contest.name!r}: vote counts cannot be negative.", field="reported"
        )
    total = sum(totals.values())
    if total > ballots * contest.votes_allowed:
        raise InputError(
            f"contest {contest.name!r} reports {total:,} votes but only {ballots:,} ballot cards "
            f"x {contest.votes_allowed} vote(s) each can hold {ballots * contest.votes_allowed:,}.",
            field="ballots",
            fix="count every card that may contain the contest in 'ballots'.",
        )


def make_assertions(contest: Contest, totals: Mapping[str, int], ballots: int) -> list[Assertion]:
    """Every assertion needed to confirm the reported winners of a contest.

    Plurality and approval: one per (winner, loser) pair (Stark 2020, §2.1);
    supermajority: one (§2.3). ``ballots`` counts the cards that may contain the
    contest (card-style data gives the smallest, hence best, N). Ties and
    losses give assertions with ``can_confirm`` false: only a full hand count
    settles them.
    """
    full = {choice: int(totals.get(choice, 0)) for choice in contest.choices}
    _check_totals(contest, totals, ballots)
    winners = contest.winners(full)
    if contest.kind is ContestKind.SUPERMAJORITY:
        if not winners:
            raise InputError(
                f"supermajority contest {contest.name!r} reports no winner above "
                f"{contest.share_to_win:.4g} of the valid votes; there is no winner to confirm.",
                field="reported",
            )
        pairs: list[tuple[str, str | None]] = [(winners[0], None)]
    else:
        losers = [c for c in contest.choices if c not in winners]
        pairs = [(w, lo) for w in winners for lo in losers]
    assertions = []
    for winner, loser in pairs:
        assorter = Assorter(contest=contest, winner=winner, loser=loser)
        mean = assorter.reported_mean(full, ballots)
        assertions.append(Assertion(assorter=assorter, reported_mean=mean, ballots=ballots))
    return assertions


def pair_overstatements(
    reported: NDArray[np.int64],
    audited: NDArray[np.int64],
    winner: int,
    loser: int,
    ballots: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per batch: the overstatement of the (winner, loser) margin and its bound, in votes.

    ``e_p = (r_wp - r_lp) - (a_wp - a_lp)`` and ``u_p = (r_wp - r_lp) + b_p``,
    the most the batch's count could overstate the margin (Stark 2008, "A sharper
    discrepancy measure for post-election audits", Ann. Appl. Stat. 2(3), §3).
    """
    reported = np.asarray(reported, dtype=np.int64)
    audited = np.asarray(audited, dtype=np.int64)
    margin_r = reported[:, winner] - reported[:, loser]
    error: NDArray[np.int64] = margin_r - (audited[:, winner] - audited[:, loser])
    bound: NDArray[np.int64] = margin_r + np.asarray(ballots, dtype=np.int64)
    return error, bound
