"""Kaplan-Markov (Stark 2010, eq. 10) against rlacalc, Arlo's super-simple figures, hand values."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tallyguard.audit.assorters import make_assertions
from tallyguard.audit.risk import GAMMA, METHODS, km_p_value, km_p_values
from tallyguard.model import Contest, ContestKind

PAIR = Contest("km", "Pair", ContestKind.PLURALITY, ("W", "L"))


def b_values(v: float, n: int, o1: int = 0, o2: int = 0, u1: int = 0, u2: int = 0) -> np.ndarray:
    """n B values of a u_A = 1 assorter, discrepancies first (omega/u_A = e/2 for e votes)."""
    a = 1.0 / (2.0 - v)
    steps = [1.0] * o2 + [0.5] * o1 + [-0.5] * u1 + [-1.0] * u2
    omega = np.array(steps + [0.0] * (n - len(steps)))
    return (1.0 - omega) * a


def test_hand_computed() -> None:
    # v = 0.05, n = 3, one 1-vote overstatement: (1 - 0.05/2.0781)^3 / (1 - 1/2.0781)
    expected = (1 - 0.05 / (2 * GAMMA)) ** 3 / (1 - 1 / (2 * GAMMA))
    assert km_p_value(3, 1, diluted_margin=0.05) == pytest.approx(min(1.0, expected), rel=1e-14)
    # 1 - 0.05/2.0781 = 0.975940, cubed 0.929557; / 0.518791 = 1.7918 -> capped at 1
    assert km_p_value(3, 1, diluted_margin=0.05) == 1.0
    # n = 100, no discrepancies: 0.975940^100 = exp(100 ln 0.975940) = exp(-2.43546) = 0.087557
    assert km_p_value(100, diluted_margin=0.05) == pytest.approx(0.0875573, rel=1e-6)


def test_rlacalc_docstring_value() -> None:
    # rlacalc docstring (New Hampshire 2016): KM_P_value(200, 1.03905, margin, 1, 0, 0, 0)
    margin = (354040 - 337589) / (354040 + 337589 + 33234)
    assert km_p_value(200, 1, diluted_margin=margin) == pytest.approx(0.21438135077031842, 1e-12)


def test_equals_rlacalc_on_a_grid() -> None:
    rlacalc = pytest.importorskip("rlacalc")
    margins = [0.001, 0.005, 0.01, 0.05, 0.2, 0.5, 1.0]
    sizes = [0, 1, 30, 200, 623, 2500]
    discrepancies = [
        (0, 0, 0, 0),
        (1, 0, 0, 0),
        (0, 1, 0, 0),
        (2, 1, 1, 0),
        (0, 0, 1, 1),
        (3, 2, 0, 2),
    ]
    for v, n, (o1, o2, u1, u2) in itertools.product(margins, sizes, discrepancies):
        if o1 + o2 + u1 + u2 > n:
            continue
        ref = rlacalc.KM_P_value(n, GAMMA, v, o1, o2, u1, u2)  # rlacalc's order
        mine = km_p_value(n, o1, o2, u1, u2, diluted_margin=v)
        assert mine == pytest.approx(min(1.0, ref), rel=1e-12, abs=1e-300)


# Arlo server/tests/audit_math/test_supersimple.py (votingworks/arlo@8d86156c): diluted
# margins, the sample sizes of Stark's tool (risk limit 10 %) and expected p-values (tolerance
# 0.001) with no discrepancy, one 1-vote and one 2-vote overstatement in the sample.
ARLO_CONTESTS = {
    # name: (diluted margin, sample size, p none, p one-vote, p two-vote)
    "Contest A": (0.2, 27, 0.06507, 0.12534, 1.0),
    "Contest B": (0.1, 54, 0.06973, 0.13441, 1.0),
    "Contest C": (0.15, 36, 0.06740, 0.12992, 1.0),
    "Contest D": (2 / 15, 40, 0.07048, 0.13585, 1.0),
    "Contest E": (1.0, 6, 0.01950, 0.03758, 0.51877),
    "Two-winner Contest": (0.2, 27, 0.06508, 0.12534, 1.0),
}


@pytest.mark.parametrize("name", sorted(ARLO_CONTESTS))
def test_arlo_supersimple_p_values(name: str) -> None:
    v, n, none, one, two = ARLO_CONTESTS[name]
    assert abs(km_p_value(n, diluted_margin=v) - none) < 0.001
    assert abs(km_p_value(n, 1, diluted_margin=v) - one) < 0.001
    assert abs(km_p_value(n, 0, 1, diluted_margin=v) - two) < 0.001
    # the sequential form on B values gives the same final risks here
    for o1, o2, expected in ((0, 0, none), (1, 0, one), (0, 1, two)):
        seq = km_p_values(b_values(v, n, o1=o1, o2=o2), u=2 / (2 - v), eta=1 / (2 - v))
        assert abs(seq[-1] - expected) < 0.001


def test_arlo_other_figures() -> None:
    # Contest F (10 vs 4 of 15 ballots, margin 0.4), 14 ballots, no discrepancy: 0.05013
    assert abs(km_p_value(14, diluted_margin=6 / 15) - 0.05013) < 0.001
    # "Jonah Test": 16 vs 10 of 26 ballots, 18 sampled; Arlo's test edits the CVR dict it also
    # reports from, so no discrepancy is counted: 0.1201733 (tolerance 1e-4)
    assert abs(km_p_value(18, diluted_margin=6 / 26) - 0.1201733) < 1e-4


def test_sequential_final_equals_closed_form() -> None:
    # discrepancies first, then clean draws: the wealth ends at its maximum
    v, n = 0.04, 400
    for counts in ((1, 0, 0, 0), (0, 1, 0, 0), (2, 1, 1, 1)):
        seq = km_p_values(b_values(v, n, *counts), u=2 / (2 - v), eta=1 / (2 - v))
        assert seq[-1] == pytest.approx(km_p_value(n, *counts, diluted_margin=v), rel=1e-10)


def test_kaplan_markov_needs_622_draws_and_nmin_says_623() -> None:
    # v = 1 %, alpha = 5 %: the exact p-value (1 - v/(2 gamma))^n first reaches 5 % at
    # n = 622 (exp(622 ln(1 - 0.01/2.0781)) = 0.049770; n = 621 gives 0.050011). Stark's
    # sample-size formula nmin, eq. (11), which linearises the log, gives
    # ceil(2 gamma ln(20) / v) = ceil(622.55) = 623.
    v = 0.01
    p = METHODS["kaplan-markov"](b_values(v, 700), N=None, u=2 / (2 - v), eta=1 / (2 - v))
    assert int(np.flatnonzero(p <= 0.05)[0]) + 1 == 622
    assert p[620] == pytest.approx(0.050011, abs=1e-6)
    assert p[621] == pytest.approx(0.049770, abs=1e-6)
    assert math.ceil(-2 * GAMMA * math.log(0.05) / v) == 623
    rlacalc = pytest.importorskip("rlacalc")
    assert rlacalc.nmin(alpha=0.05, gamma=GAMMA, margin=v) == 623


def test_not_found_ballot_is_a_two_vote_overstatement() -> None:
    # Arlo's compute_risk counts a ballot the audit board cannot find as a 2-vote
    # overstatement; with a CVR vote for the winner, B with paper value 0 is exactly that.
    (assertion,) = make_assertions(PAIR, {"W": 600, "L": 400}, 1000)
    cvr = np.array([[1, 0]] * 100, dtype=np.uint8)
    found = np.ones(100, dtype=bool)
    found[0] = False
    b = assertion.overstatement_of_marks(cvr, cvr, found=found)
    assert assertion.overstatement_count(b)[:3].tolist() == [2, 0, 0]
    p = km_p_values(b, u=assertion.overstatement_upper_bound, eta=assertion.noerror)
    expected = km_p_value(100, 0, 1, diluted_margin=assertion.margin)
    assert expected < 0.01
    assert p[-1] == pytest.approx(expected, rel=1e-10)


def test_tie_and_errors() -> None:
    assert km_p_value(1000, diluted_margin=0.0) == 1.0
    assert km_p_value(0, diluted_margin=0.1) == 1.0
    assert (METHODS["kaplan-markov"](np.full(9, 0.5), N=None, u=1.0, eta=0.5) == 1.0).all()
    with pytest.raises(ValueError, match="comparison"):
        METHODS["kaplan-markov"](np.array([1.0, 0.0]), N=None, u=1.0, eta=0.55)
    with pytest.raises(ValueError, match="cannot occur"):
        km_p_value(2, 2, 1, diluted_margin=0.1)
    with pytest.raises(ValueError, match="gamma"):
        km_p_value(5, diluted_margin=0.1, gamma=1.0)
