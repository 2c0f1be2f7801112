"""Ties, landslides, empty samples, bad values, phantoms and ballots not found."""

from __future__ import annotations

import numpy as np
import pytest

from tallyguard.audit.assorters import make_assertions
from tallyguard.audit.risk import COMPARISON_METHODS, METHODS, POLLING_METHODS
from tallyguard.model import Contest, ContestKind

PAIR = Contest("e", "Pair", ContestKind.PLURALITY, ("W", "L", "O"))
MEASURE = Contest("m", "Measure", ContestKind.SUPERMAJORITY, ("Yes", "No"), share_to_win=2 / 3)
CASES = [(m, "polling") for m in POLLING_METHODS] + [(m, "comparison") for m in COMPARISON_METHODS]


def target(kind: str, totals: dict[str, int], ballots: int) -> tuple[float, float]:
    (a,) = [x for x in make_assertions(PAIR, totals, ballots) if x.assorter.loser == "L"]
    if kind == "polling":
        return a.assorter.upper_bound, a.reported_mean
    return a.overstatement_upper_bound, a.noerror


@pytest.mark.parametrize(("method", "kind"), CASES)
def test_tie_gives_p_one_without_error(method: str, kind: str) -> None:
    u, eta = target(kind, {"W": 400, "L": 400, "O": 200}, 1000)
    assert eta == 0.5
    x = np.full(50, u)  # even perfect-looking data cannot confirm a tie
    np.testing.assert_array_equal(METHODS[method](x, N=1000, u=u, eta=eta), np.ones(50))


@pytest.mark.parametrize(("method", "kind"), CASES)
def test_landslide_and_a_loser_without_votes(method: str, kind: str) -> None:
    u, eta = target(kind, {"W": 1000, "L": 0, "O": 0}, 1000)  # diluted margin 1
    x = np.full(30, eta)  # every card as reported
    p = METHODS[method](x, N=1000, u=u, eta=eta)
    assert p[-1] < 1e-3


@pytest.mark.parametrize(("method", "kind"), CASES)
def test_empty_sample(method: str, kind: str) -> None:
    u, eta = target(kind, {"W": 600, "L": 400, "O": 0}, 1000)
    assert METHODS[method](np.array([]), N=1000, u=u, eta=eta).size == 0


@pytest.mark.parametrize(("method", "kind"), CASES)
def test_values_outside_the_range_name_the_draw(method: str, kind: str) -> None:
    u, eta = target(kind, {"W": 600, "L": 400, "O": 0}, 1000)
    x = np.array([eta, eta, u * 1.5, eta])
    with pytest.raises(ValueError, match=r"x\[2\]"):
        METHODS[method](x, N=1000, u=u, eta=eta)
    with pytest.raises(ValueError, match=r"x\[1\] = -1\.0"):
        METHODS[method](np.array([eta, -1.0]), N=None, u=u, eta=eta)


def test_methods_refuse_the_wrong_kind_of_audit() -> None:
    u, eta = target("polling", {"W": 600, "L": 400, "O": 0}, 1000)
    for method in ("betting", "kaplan-markov"):
        with pytest.raises(ValueError, match="comparison audits"):
            METHODS[method](np.array([1.0, 0.0]), N=None, u=u, eta=eta)
    (measure,) = make_assertions(MEASURE, {"Yes": 700, "No": 250}, 1000)
    with pytest.raises(ValueError, match="u = 1"):
        METHODS["bravo"](np.array([0.75]), N=None, u=0.75, eta=measure.reported_mean)


def test_supermajority_comparison() -> None:
    (measure,) = make_assertions(MEASURE, {"Yes": 700, "No": 250}, 1000)
    cvr = np.array([[1, 0]] * 300, dtype=np.uint8)
    b = measure.overstatement_of_marks(cvr, cvr)
    for method in COMPARISON_METHODS:
        p = METHODS[method](b, N=1000, u=measure.overstatement_upper_bound, eta=measure.noerror)
        assert p[-1] < 0.05


def test_ballot_not_found_is_the_worst_case_for_the_winner() -> None:
    # Polling: a missing ballot counts 0 (a vote for the loser), Bañuelos & Stark (2012).
    (a,) = [x for x in make_assertions(PAIR, {"W": 600, "L": 400, "O": 0}, 1000)
            if x.assorter.loser == "L"]  # fmt: skip
    marks = np.array([[1, 0, 0]] * 40, dtype=np.uint8)
    found = np.ones(40, dtype=bool)
    found[3] = False
    x = a.assorter.assort(marks, found=found)
    assert x[3] == 0.0
    for method in POLLING_METHODS:
        p_missing = METHODS[method](x, N=1000, u=1.0, eta=a.reported_mean)[-1]
        p_found = METHODS[method](np.ones(40), N=1000, u=1.0, eta=a.reported_mean)[-1]
        p_loser = METHODS[method](np.where(found, 1.0, 0.0), N=1000, u=1.0, eta=a.reported_mean)
        assert p_missing > p_found
        assert p_missing == p_loser[-1]
    # Comparison: B with paper value 0. For a CVR vote for the winner that is a two-vote
    # overstatement (B = 0, as Arlo counts it); a phantom CVR (a card with no CVR) is
    # given the CVR value u, so a phantom that is not found is B = 0 as well.
    cvr = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.uint8)
    missing = np.zeros(3, dtype=bool)
    b = a.overstatement_of_marks(cvr, cvr, found=missing)
    assert b[0] == 0.0
    assert b[1] == pytest.approx(a.noerror)  # CVR for the loser: no overstatement possible
    assert b[2] == pytest.approx(a.noerror / 2)  # blank CVR: a one-vote overstatement
    phantom = a.overstatement_of_marks(cvr, cvr, found=missing, phantom=np.ones(3, dtype=bool))
    assert (phantom == 0.0).all()


def test_sample_larger_than_population() -> None:
    for method in ("alpha", "betting", "kaplan-markov", "bravo"):
        u, eta = target("comparison" if method != "bravo" else "polling",
                        {"W": 6, "L": 4, "O": 0}, 10)  # fmt: skip
        with pytest.raises(ValueError, match="cannot be larger than the population"):
            METHODS[method](np.full(11, u), N=10, u=u, eta=eta)
