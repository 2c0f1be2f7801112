"""Seeded validity checks: with a true mean of exactly 1/2, a method may confirm at most alpha.

Each test simulates 2,000 audits of a population whose true assorter mean is exactly 1/2
(the reported winner actually tied) while the method is told the reported results. The
fraction of audits whose p-value reaches 0.05 within 200 draws must not exceed
0.05 + 3 Monte-Carlo standard errors (sqrt(0.05 * 0.95 / 2000) = 0.0049), i.e. 0.0646.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from tallyguard.audit.risk import (
    METHODS,
    batch_alpha_p_values,
    batch_error_bounds,
    batch_taints,
    macro_p_values,
    pair_margins,
)

REPS = 2000
DRAWS = 200
ALPHA = 0.05
LIMIT = ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / REPS)

pytestmark = pytest.mark.slow


def wrong_confirm_rate(
    population: np.ndarray, test: Callable[[np.ndarray], np.ndarray], *, replace: bool, seed: int
) -> float:
    rng = np.random.default_rng(seed)
    n = DRAWS if replace else min(DRAWS, population.size)
    hits = 0
    for _ in range(REPS):
        if replace:
            x = population[rng.integers(0, population.size, size=n)]
        else:
            x = population[rng.permutation(population.size)[:n]]
        hits += bool((test(x) <= ALPHA).any())
    return hits / REPS


def tie_polling(n_pop: int = 1000) -> np.ndarray:
    # 450 for the reported winner, 450 for the loser, 100 for neither: mean exactly 1/2
    k = n_pop * 45 // 100
    return np.r_[np.ones(k), np.zeros(k), np.full(n_pop - 2 * k, 0.5)]


def tie_comparison(v: float, error: str, n_pop: int = 2000) -> np.ndarray:
    # reported margin v, but enough overstatements to make mean(B) exactly 1/2:
    # 2-vote errors (B = 0) on a fraction v/2 of the cards, or 1-vote errors on a fraction v
    a = 1.0 / (2.0 - v)
    bad = round(n_pop * v / 2) if error == "2-vote" else round(n_pop * v)
    wrong = 0.0 if error == "2-vote" else a / 2
    pop = np.r_[np.full(bad, wrong), np.full(n_pop - bad, a)]
    assert abs(pop.mean() - 0.5) < 1e-12
    return pop


@pytest.mark.parametrize(
    ("method", "replace"), [("bravo", True), ("bravo", False), ("alpha", True), ("alpha", False)]
)
def test_polling(method: str, replace: bool) -> None:
    pop = tie_polling()
    n_pop = None if replace else pop.size
    rate = wrong_confirm_rate(
        pop, lambda x: METHODS[method](x, N=n_pop, u=1.0, eta=0.7), replace=replace, seed=11
    )
    assert rate <= LIMIT


def test_alpha_supermajority() -> None:
    # share to win 2/3: u = 0.75; 600 cards at 0.75, 100 at 1/2, 300 at 0: mean exactly 1/2
    pop = np.r_[np.full(600, 0.75), np.full(100, 0.5), np.zeros(300)]
    rate = wrong_confirm_rate(
        pop, lambda x: METHODS["alpha"](x, N=pop.size, u=0.75, eta=0.56), replace=False, seed=12
    )
    assert rate <= LIMIT


@pytest.mark.parametrize("method", ["alpha", "betting", "kaplan-markov"])
@pytest.mark.parametrize(
    ("error", "replace"), [("2-vote", True), ("2-vote", False), ("1-vote", False)]
)
def test_comparison(method: str, error: str, replace: bool) -> None:
    v = 0.05
    pop = tie_comparison(v, error)
    a = 1.0 / (2.0 - v)
    n_pop = None if replace else pop.size
    rate = wrong_confirm_rate(
        pop, lambda x: METHODS[method](x, N=n_pop, u=2 * a, eta=a), replace=replace, seed=13
    )
    assert rate <= LIMIT


def batch_tie() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """25 batches of 100 ballots (55/45) and 25 of 200 (110/90): V = 750 votes.

    The truth: every 200-ballot batch is really 95/105, an overstatement of 30 votes,
    750 in all: an exact tie.
    """
    reported = np.array([(55, 45)] * 25 + [(110, 90)] * 25)
    audited = np.array([(55, 45)] * 25 + [(95, 105)] * 25)
    ballots = np.array([100] * 25 + [200] * 25)
    return reported, audited, ballots


def test_macro_ppeb() -> None:
    reported, audited, ballots = batch_tie()
    pair = [(0, 1)]
    margins = pair_margins(reported, pair)
    bounds = batch_error_bounds(reported, ballots, pair, margins=margins)
    taints = batch_taints(reported, audited, ballots, pair, margins=margins)
    rng = np.random.default_rng(14)
    draws = rng.choice(bounds.size, size=(REPS, DRAWS), p=bounds / bounds.sum())  # PPEB
    hits = sum(
        bool((macro_p_values(taints[row], total_bound=bounds.sum()) <= ALPHA).any())
        for row in draws
    )
    assert hits / REPS <= LIMIT


def test_batch_alpha() -> None:
    reported, audited, ballots = batch_tie()
    margin_p = reported[:, 0] - reported[:, 1]
    errors = margin_p - (audited[:, 0] - audited[:, 1])
    bounds = margin_p + ballots
    rate = wrong_confirm_rate(
        errors.astype(float),
        lambda e: batch_alpha_p_values(e, bounds=bounds, ballots=ballots),
        replace=False,
        seed=15,
    )
    assert rate <= LIMIT


@pytest.mark.parametrize("method", ["alpha", "betting"])
def test_comparison_drawing_every_card(method: str) -> None:
    """Regression: drawing all N cards of an exactly tied population must not confirm.

    With 2-vote errors (B = 0) among the last cards, the null mean of the undrawn cards is
    exactly 0; rounding in the running sum must not turn it negative ("certainly false").
    """
    v = 0.1
    pop = tie_comparison(v, "2-vote", n_pop=DRAWS)
    a = 1.0 / (2.0 - v)
    rate = wrong_confirm_rate(
        pop, lambda x: METHODS[method](x, N=pop.size, u=2 * a, eta=a), replace=False, seed=16
    )
    assert rate <= LIMIT
