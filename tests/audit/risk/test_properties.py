"""Invariants of every registered method (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyguard.audit.risk import COMPARISON_METHODS, METHODS, POLLING_METHODS

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def polling_case(draw: st.DrawFn) -> tuple[str, np.ndarray, int | None, float, float]:
    method = draw(st.sampled_from(POLLING_METHODS))
    eta = draw(st.floats(0.5, 1.0))
    x = np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0]), max_size=120)))
    replace = method == "bravo" or draw(st.booleans())
    n_pop = None if replace else x.size + draw(st.integers(1, 300))
    return method, x, n_pop, 1.0, eta


@st.composite
def comparison_case(draw: st.DrawFn) -> tuple[str, np.ndarray, int | None, float, float]:
    method = draw(st.sampled_from(COMPARISON_METHODS))
    v = draw(st.floats(0.0, 1.0))
    eta = 1.0 / (2.0 - v)
    steps = st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0])  # B / eta: 2-, 1-vote over, ok, under
    weights = draw(st.lists(steps, max_size=120))
    x = np.array(weights) * eta
    n_pop = None if draw(st.booleans()) else x.size + draw(st.integers(1, 300))
    return method, x, n_pop, 2.0 * eta, eta


CASES = st.one_of(polling_case(), comparison_case())


@SETTINGS
@given(CASES)
def test_p_values_are_probabilities_and_never_increase(
    case: tuple[str, np.ndarray, int | None, float, float],
) -> None:
    method, x, n_pop, u, eta = case
    p = METHODS[method](x, N=n_pop, u=u, eta=eta)
    assert p.shape == x.shape
    assert not np.isnan(p).any()
    assert ((p >= 0) & (p <= 1)).all()
    assert (np.diff(p) <= 0).all()


@SETTINGS
@given(CASES)
def test_p_values_depend_only_on_the_past_and_a_draw_of_u_never_raises_them(
    case: tuple[str, np.ndarray, int | None, float, float],
) -> None:
    method, x, n_pop, u, eta = case
    p = METHODS[method](x, N=n_pop, u=u, eta=eta)
    more = np.r_[x, u]
    q = METHODS[method](more, N=n_pop, u=u, eta=eta)  # n_pop >= x.size + 1
    np.testing.assert_array_equal(q[:-1], p)  # sequential: a later draw changes nothing before
    assert q[-1] <= (p[-1] if p.size else 1.0)


@SETTINGS
@given(CASES, st.data())
def test_a_more_favourable_last_draw_gives_a_smaller_p_value(
    case: tuple[str, np.ndarray, int | None, float, float], data: st.DataObject
) -> None:
    """Raising the latest draw can only lower the p-value (every bet is >= 0)."""
    method, x, n_pop, u, eta = case
    if x.size == 0:
        return
    better = x.copy()
    better[-1] = data.draw(st.sampled_from([v for v in np.unique(np.r_[x, u]) if v >= x[-1]]))
    p = METHODS[method](x, N=n_pop, u=u, eta=eta)
    q = METHODS[method](better, N=n_pop, u=u, eta=eta)
    assert q[-1] <= p[-1] * (1 + 1e-12)


@SETTINGS
@given(CASES, st.data())
def test_fixed_bet_methods_are_monotone_in_the_whole_sample(
    case: tuple[str, np.ndarray, int | None, float, float], data: st.DataObject
) -> None:
    """BRAVO and Kaplan-Markov bet the same fraction on every draw, so better data anywhere
    lowers every later p-value. (Adaptive methods need not be: a better early draw makes
    later bets bolder, which can lose more on bad later draws.)"""
    method, x, n_pop, u, eta = case
    if method not in ("bravo", "kaplan-markov") or x.size == 0:
        return
    i = data.draw(st.integers(0, x.size - 1))
    better = x.copy()
    better[i] = u
    p = METHODS[method](x, N=n_pop, u=u, eta=eta)
    q = METHODS[method](better, N=n_pop, u=u, eta=eta)
    assert (q <= p * (1 + 1e-12)).all()
