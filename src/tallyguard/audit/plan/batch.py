"""Planning a batch-comparison audit with MACRO and PPEB sampling (closed form).

With no discrepancies every PPEB draw has taint 0, so the MACRO p-value after
n draws is ``(1 - 1/U)^n`` (Stark 2009, IEEE TIFS 4(4), Kaplan-Markov bound
with taints; :mod:`tallyguard.audit.risk.macro`), and the audit ends after

    n = ceil( ln(alpha) / ln(1 - 1/U) )

draws, U being the sum of the batches' relative error bounds. Batches are drawn
with replacement with probability pi_p = u_p / U, so the expected number of
distinct batches to count by hand is ``sum_p 1 - (1 - pi_p)^n`` and the expected
number of ballots in them ``sum_p b_p (1 - (1 - pi_p)^n)``. Discrepancies found
in the sample make the audit longer; this is the size when the count is right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tallyguard.audit.assorters import Assertion
from tallyguard.audit.risk.macro import batch_error_bounds, pair_margins
from tallyguard.errors import InputError


@dataclass(frozen=True)
class MacroPlan:
    """The no-discrepancy size of a MACRO batch-comparison audit."""

    total_bound: float  # U
    draws: float  # PPEB draws needed (inf: full hand count)
    expected_batches: float  # distinct batches among them
    expected_ballots: float  # ballots in those batches
    batches: int
    ballots: int


def plan_macro(
    assertions: list[Assertion],
    tallies: NDArray[np.int64],
    ballots: NDArray[np.int64],
    *,
    alpha: float,
) -> MacroPlan:
    """Closed-form MACRO plan for a contest's assertions from its batch tallies."""
    contest = assertions[0].assorter.contest
    if any(a.assorter.loser is None for a in assertions):
        raise InputError(
            f"MACRO planning covers plurality and approval contests; {contest.name!r} is a "
            "supermajority contest.",
            field="--kind",
            fix="plan it as a polling or comparison audit.",
        )
    choices = contest.choices
    pairs = [
        (choices.index(a.assorter.winner), choices.index(str(a.assorter.loser))) for a in assertions
    ]
    margins = pair_margins(tallies, pairs)
    bounds = batch_error_bounds(tallies, ballots, pairs, margins=margins)
    total = float(bounds.sum())
    n_batches, n_ballots = int(ballots.size), int(ballots.sum())
    if not math.isfinite(total) or total <= 1.0:
        return MacroPlan(total, math.inf, n_batches, n_ballots, n_batches, n_ballots)
    draws = math.ceil(math.log(alpha) / math.log1p(-1.0 / total))
    hit = 1.0 - (1.0 - bounds / total) ** draws
    return MacroPlan(
        total_bound=total,
        draws=float(draws),
        expected_batches=float(hit.sum()),
        expected_ballots=float((hit * ballots).sum()),
        batches=n_batches,
        ballots=n_ballots,
    )
