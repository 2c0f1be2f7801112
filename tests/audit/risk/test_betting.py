"""Adaptive betting martingale for comparison audits (Waudby-Smith & Ramdas; COBRA)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tallyguard.audit.risk import METHODS, betting_p_values
from tallyguard.audit.risk.base import null_means
from tallyguard.audit.risk.betting import kelly_bets


def first_at_most(p: np.ndarray, alpha: float) -> int:
    hits = np.flatnonzero(p <= alpha)
    return int(hits[0]) + 1 if hits.size else 0


def noerror_sample(v: float, n: int) -> tuple[np.ndarray, float, float]:
    eta = 1.0 / (2.0 - v)
    return np.full(n, eta), 2.0 * eta, eta


def test_no_discrepancies_at_one_percent_needs_at_most_627() -> None:
    # the bound no test can beat: ceil(ln(1/alpha) / ln(2/(2 - v))) = ceil(597.65) = 598
    v, alpha = 0.01, 0.05
    bound = math.ceil(math.log(1 / alpha) / math.log(2 / (2 - v)))
    assert bound == 598
    x, u, eta = noerror_sample(v, 700)
    n = first_at_most(METHODS["betting"](x, N=None, u=u, eta=eta), alpha)
    assert bound <= n <= 1.05 * bound  # 605 here
    assert n == 605
    # Kaplan-Markov on the same draws needs 622 (its sample-size formula nmin says 623)
    assert first_at_most(METHODS["kaplan-markov"](x, N=None, u=u, eta=eta), alpha) == 622


@pytest.mark.parametrize("v", [0.001, 0.005, 0.02, 0.05, 0.1, 0.3, 0.6, 1.0])
def test_near_optimal_without_discrepancies(v: float) -> None:
    bound = math.ceil(math.log(20) / math.log(2 / (2 - v)))
    x, u, eta = noerror_sample(v, 2 * bound)
    n = first_at_most(betting_p_values(x, N=None, u=u, eta=eta), 0.05)
    assert bound <= n <= 1.05 * bound


def test_two_vote_overstatement_does_not_zero_the_wealth() -> None:
    v = 0.05
    x, u, eta = noerror_sample(v, 1000)
    x[0] = 0.0  # a two-vote overstatement on the very first card
    p = betting_p_values(x, N=None, u=u, eta=eta)
    assert p[0] == 1.0
    assert 0 < first_at_most(p, 0.05) < 1000  # the audit can still confirm (here after 362)
    x, u, eta = noerror_sample(v, 400)
    x[100] = 0.0  # after 100 clean cards: the bet is at most 0.99 of the wealth
    p = betting_p_values(x, N=None, u=u, eta=eta)
    assert p[100] < 1.0
    assert first_at_most(p, 0.05) > 0


def test_bets_are_predictable() -> None:
    """Changing draw t changes no bet before or at t (only later bets may adapt)."""
    rng = np.random.default_rng(7)
    v = 0.03
    eta = 1 / (2 - v)
    x = rng.choice([eta, eta / 2, 0.0, 1.5 * eta], p=[0.97, 0.015, 0.005, 0.01], size=300)
    for t in (0, 10, 150, 299):
        y = x.copy()
        y[t] = 0.0 if x[t] != 0.0 else 2 * eta
        for n_pop in (None, 1000):
            lam_x = kelly_bets(
                x, null_means(x, n_pop), u=2 * eta, eta=eta, p1=1e-3, p2=1e-4, d=100,
                max_fraction=0.99,
            )  # fmt: skip
            lam_y = kelly_bets(
                y, null_means(y, n_pop), u=2 * eta, eta=eta, p1=1e-3, p2=1e-4, d=100,
                max_fraction=0.99,
            )  # fmt: skip
            np.testing.assert_array_equal(lam_x[: t + 1], lam_y[: t + 1])
            mu = null_means(x, n_pop)
            assert ((lam_x >= 0) & (lam_x * mu <= 0.99 + 1e-12)).all()


def test_bets_shrink_after_errors() -> None:
    eta = 1 / (2 - 0.02)
    clean = np.full(200, eta)
    dirty = clean.copy()
    dirty[:3] = 0.0
    mu = null_means(clean, None)
    kw = {"u": 2 * eta, "eta": eta, "p1": 1e-3, "p2": 1e-4, "d": 100.0, "max_fraction": 0.99}
    assert (kelly_bets(dirty, mu, **kw)[3:] < kelly_bets(clean, mu, **kw)[3:]).all()


def test_without_replacement_exhausting_the_population() -> None:
    v = 0.02
    x, u, eta = noerror_sample(v, 500)
    p = betting_p_values(x, N=500, u=u, eta=eta)
    assert p[-1] == 0.0  # every card drawn, mean(B) = eta > 1/2
    assert (p <= betting_p_values(x, N=None, u=u, eta=eta) + 1e-15).all()


def test_errors_and_tie() -> None:
    assert (METHODS["betting"](np.full(10, 0.5), N=None, u=1.0, eta=0.5) == 1.0).all()
    with pytest.raises(ValueError, match="comparison"):
        METHODS["betting"](np.array([1.0, 0.0, 0.5]), N=None, u=1.0, eta=0.55)
    with pytest.raises(ValueError, match=r"x\[1\]"):
        METHODS["betting"](np.array([0.5, 3.0]), N=None, u=2 / 1.9, eta=1 / 1.9)
    with pytest.raises(ValueError, match="max_fraction"):
        betting_p_values(np.ones(3) / 1.9, N=None, u=2 / 1.9, eta=1 / 1.9, max_fraction=1.0)
