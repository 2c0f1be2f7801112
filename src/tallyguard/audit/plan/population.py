"""Hypothetical card populations for simulated audits, and random draws from them.

A :class:`Population` is N ballot cards of K *types* (a vote for one choice, a
blank card, a card with a one-vote overstatement, ...) together with the value
each assertion's assorter takes on a card of each type. Simulating the audit of
a contest draws card types once and reads every assertion's values off the same
draws, as a real audit does (Stark 2020, SHANGRLA §4: one sample, all
assertions).

Populations for planning are built from what was *reported* (ballot polling:
the reported tallies; comparison: the reported margin plus assumed discrepancy
rates). Populations for the validity harness are built from what is *true*
while the audit is told what was reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from tallyguard.audit.assorters import Assertion
from tallyguard.audit.plan.closed_form import ARLO_RATES, ErrorRates
from tallyguard.errors import InputError

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Types = NDArray[np.int16]
AuditKind = Literal["polling", "comparison"]


@dataclass(frozen=True)
class Target:
    """What the test of one assertion is told: its upper bound u and its eta.

    Polling: u is the assorter's bound and eta the reported assorter mean.
    Comparison: u bounds the overstatement assorter, ``2 / (2 - v/u_A)``, and
    eta is its no-error value ``1 / (2 - v/u_A)`` (Stark 2020, §3.2).
    """

    name: str
    upper_bound: float
    eta: float
    margin: float

    @property
    def can_confirm(self) -> bool:
        """A tie or a reported loss can only be settled by a full hand count."""
        return self.margin > 0


@dataclass(frozen=True, eq=False)
class Population:
    """N cards of K types; ``values[a, k]`` is assertion a's value on a type-k card."""

    kind: AuditKind
    type_names: tuple[str, ...]
    counts: Ints
    values: Floats
    targets: tuple[Target, ...]
    size: int = field(init=False)

    def __post_init__(self) -> None:
        counts = np.asarray(self.counts, dtype=np.int64)
        values = np.atleast_2d(np.asarray(self.values, dtype=np.float64))
        if counts.ndim != 1 or values.shape != (len(self.targets), counts.size):
            raise ValueError("values must be (assertions x types) and counts (types,)")
        if len(self.type_names) != counts.size or (counts < 0).any() or counts.sum() <= 0:
            raise ValueError("a population needs one non-negative count per named type")
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "size", int(counts.sum()))

    def means(self) -> Floats:
        """True mean of every assertion's values over the N cards."""
        result: Floats = self.values @ self.counts / self.size
        return result

    def with_counts(self, counts: Ints) -> Population:
        """The same types and targets with other counts (e.g. the true ones)."""
        return Population(self.kind, self.type_names, counts, self.values, self.targets)


def _polling_target(assertion: Assertion) -> Target:
    return Target(
        assertion.name,
        assertion.assorter.upper_bound,
        assertion.reported_mean,
        assertion.margin,
    )


def _comparison_target(assertion: Assertion) -> Target:
    return Target(
        assertion.name,
        assertion.overstatement_upper_bound,
        assertion.noerror,
        assertion.margin,
    )


def _one_contest(assertions: Sequence[Assertion]) -> None:
    if not assertions:
        raise InputError("there are no assertions to plan for.", field="assertions")
    contests = {a.assorter.contest for a in assertions}
    ballots = {a.ballots for a in assertions}
    if len(contests) != 1 or len(ballots) != 1:
        raise InputError("plan one contest at a time (same contest, same ballots).")


def polling_populations(
    assertions: Sequence[Assertion], totals: Mapping[str, int]
) -> list[Population]:
    """Ballot-polling populations with the given tallies (reported or true).

    Vote-for-one contests (plurality with one vote, supermajority): one
    population whose types are "a vote for choice c" and "no valid vote", so
    every assertion is audited on the same simulated ballots. Contests with
    several votes per card: the tallies do not say which choices share a card,
    so each (winner, loser) pair gets its own population with as few cards
    carrying both as the tallies allow (max(0, T_w + T_l - N)); the contest
    plan then treats pairs as independent samples, which is conservative (it
    can only overstate the size at which the last pair confirms).
    """
    _one_contest(assertions)
    contest = assertions[0].assorter.contest
    ballots = assertions[0].ballots
    full = {c: int(totals.get(c, 0)) for c in contest.choices}
    if any(v < 0 for v in full.values()):
        raise InputError("vote counts cannot be negative.", field="totals")
    if contest.votes_allowed == 1:
        blank = ballots - sum(full.values())
        if blank < 0:
            raise InputError(f"{sum(full.values()):,} votes exceed {ballots:,} ballot cards.")
        marks = np.vstack([np.eye(len(contest.choices), dtype=np.uint8), np.zeros((1, len(full)))])
        values = np.vstack([a.assorter.assort(marks.astype(np.uint8)) for a in assertions])
        counts = np.array([*full.values(), blank], dtype=np.int64)
        names = (*contest.choices, "no valid vote")
        targets = tuple(_polling_target(a) for a in assertions)
        return [Population("polling", names, counts, values, targets)]
    populations = []
    for a in assertions:
        w, lo = a.assorter.winner, a.assorter.loser
        assert lo is not None  # multi-vote contests are plurality or approval
        both = max(0, full[w] + full[lo] - ballots)
        counts = np.array(
            [full[w] - both, full[lo] - both, both, ballots - full[w] - full[lo] + both]
        )
        if (counts < 0).any():
            raise InputError(f"tallies of {w!r} and {lo!r} exceed {ballots:,} ballot cards.")
        marks = np.zeros((4, len(contest.choices)), dtype=np.uint8)
        iw, il = contest.choices.index(w), contest.choices.index(lo)
        marks[0, iw] = marks[1, il] = marks[2, iw] = marks[2, il] = 1
        values = a.assorter.assort(marks)[None, :]
        names = (f"{w} only", f"{lo} only", f"{w} and {lo}", f"neither {w} nor {lo}")
        populations.append(Population("polling", names, counts, values, (_polling_target(a),)))
    return populations


DISCREPANCY_TYPES = ("no error", "1-vote over", "2-vote over", "1-vote under", "2-vote under")


def discrepancy_counts(rates: ErrorRates, ballots: int) -> Ints:
    """Cards of each discrepancy type: round(rate x N), the rest without error."""
    errors = [round(r * ballots) for r in (rates.o1, rates.o2, rates.u1, rates.u2)]
    return np.array([ballots - sum(errors), *errors], dtype=np.int64)


def comparison_population(
    assertions: Sequence[Assertion],
    rates: ErrorRates = ARLO_RATES,
    *,
    counts: Ints | None = None,
) -> Population:
    """Ballot-comparison population: no-error cards plus discrepancies at ``rates``.

    A k-vote overstatement is an assorter overstatement ``omega = k u / 2`` (an
    understatement ``-k u / 2``), so for a u = 1 plurality pair these are the
    usual one- and two-vote errors (Stark 2010, §3); the values are
    ``Assertion.overstatement`` of that omega. A card with a discrepancy has it
    for every assertion of the contest (Arlo counts a card's worst pair the
    same way), which is conservative. ``counts`` overrides the rates.
    """
    _one_contest(assertions)
    ballots = assertions[0].ballots
    steps = np.array([0.0, 0.5, 1.0, -0.5, -1.0])
    rows = []
    for a in assertions:
        omega = steps * a.assorter.upper_bound
        rows.append(a.overstatement(omega, np.zeros_like(omega)))
    if counts is None:
        counts = discrepancy_counts(rates, ballots)
    if int(np.sum(counts)) != ballots or (np.asarray(counts) < 0).any():
        raise InputError(f"discrepancy counts must be >= 0 and add up to {ballots:,} cards.")
    targets = tuple(_comparison_target(a) for a in assertions)
    return Population("comparison", DISCREPANCY_TYPES, counts, np.vstack(rows), targets)


def draw_types(
    remaining: Ints, draws: int, rng: np.random.Generator, *, replace: bool
) -> tuple[Types, Ints]:
    """``draws`` more card types for each row of ``remaining`` (rows x K counts).

    With replacement every draw is type k with probability counts_k / N (rows
    of ``remaining`` are then all the population's counts). Without
    replacement the composition of the next ``draws`` cards of a row is
    multivariate hypergeometric (drawn type by type as univariate
    hypergeometrics) and, given the composition, their order is uniformly
    random (a row-wise permutation), which is exactly a simple random sample
    continued from the cards still left. Returns the types (rows x draws) and
    the counts left afterwards.
    """
    rows, k = remaining.shape
    if draws <= 0:
        return np.empty((rows, 0), dtype=np.int16), remaining
    if replace:
        p = remaining[0] / remaining[0].sum()
        return rng.choice(k, size=(rows, draws), p=p).astype(np.int16), remaining
    left = remaining.sum(axis=1)
    if (left < draws).any():
        raise ValueError("cannot draw more cards than are left without replacement")
    need = np.full(rows, draws, dtype=np.int64)
    block = np.zeros_like(remaining)
    for t in range(k - 1):
        good = remaining[:, t]
        left = left - good
        block[:, t] = rng.hypergeometric(good, left, need)
        need = need - block[:, t]
    block[:, k - 1] = need
    flat = np.repeat(np.tile(np.arange(k, dtype=np.int16), rows), block.ravel())
    types = rng.permuted(flat.reshape(rows, draws), axis=1)
    return types, remaining - block


def remove_observed(population: Population, observed: Floats) -> Ints:
    """Counts left after the cards already audited (assertions x m0 values).

    Each observed card is matched to the type whose values it shows; a card
    that matches no type (or a type already used up) is taken from the most
    common type left, so the population always shrinks by one card per draw.
    """
    counts = population.counts.copy()
    observed = np.atleast_2d(np.asarray(observed, dtype=np.float64))
    if observed.shape[1] > population.size:
        raise InputError(
            f"{observed.shape[1]:,} cards observed but the population has {population.size:,}."
        )
    for card in observed.T:
        matches = np.flatnonzero(
            np.all(np.isclose(population.values, card[:, None], atol=1e-12), axis=0) & (counts > 0)
        )
        counts[matches[0] if matches.size else int(np.argmax(counts))] -= 1
    return counts
