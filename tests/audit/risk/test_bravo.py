"""BRAVO (Lindeman, Stark & Yates 2012) against rlacalc and hand-computed values."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tallyguard.audit.risk import METHODS, bravo_p_values, bravo_risk


def test_hand_computed_sequence() -> None:
    # s = 0.6: a winner vote multiplies T by 1.2, a loser vote by 0.8, other ballots by 1.
    # x = 1, 1, 0, 1, 1, 1/2 -> T = 1.2, 1.44, 1.152, 1.3824, 1.65888, 1.65888
    # p = 1/max T so far = 0.8333, 0.6944, 0.6944, 0.6944, 0.60282, 0.60282
    p = bravo_p_values(np.array([1, 1, 0, 1, 1, 0.5]), winner_share=0.6)
    expected = [1 / 1.2, 1 / 1.44, 1 / 1.44, 1 / 1.44, 1 / 1.65888, 1 / 1.65888]
    np.testing.assert_allclose(p, expected, rtol=1e-14)


def test_rlacalc_docstring_values() -> None:
    # rlacalc.ballot_polling_risk_level(1410, 1132, 170, 135) = 0.1342382069344729 (Custer 2018)
    assert bravo_risk(170, 135, 1410 / (1410 + 1132)) == pytest.approx(0.1342382069344729, 1e-13)
    # rlacalc: (2894, 1695, 45, 32) = 0.47002027242290234 (Las Animas 2018)
    assert bravo_risk(45, 32, 2894 / (2894 + 1695)) == pytest.approx(0.47002027242290234, 1e-13)


def test_equals_rlacalc_on_a_grid() -> None:
    rlacalc = pytest.importorskip("rlacalc")
    totals = [(1410, 1132), (2894, 1695), (60000, 40000), (5100, 4900), (51, 49), (900, 100)]
    counts = [0, 1, 7, 50, 333, 1130]
    overflowed = 0
    for (w, lo), n_w, n_l in itertools.product(totals, counts, counts):
        ref = rlacalc.ballot_polling_risk_level(w, lo, n_w, n_l)
        mine = bravo_risk(n_w, n_l, w / (w + lo))
        if math.isnan(ref):  # rlacalc overflows when 1/T exceeds 1e308: the risk is 1
            overflowed += 1
            assert mine == 1.0
        else:
            assert mine == pytest.approx(min(1.0, ref), rel=1e-12, abs=1e-300)
    assert overflowed < 20


def test_sequential_final_equals_closed_form_when_wealth_only_grows() -> None:
    x = np.ones(40)
    assert bravo_p_values(x, winner_share=0.55)[-1] == pytest.approx(bravo_risk(40, 0, 0.55))


def test_all_votes_for_the_winner_and_a_loser_without_votes() -> None:
    # s = 1 (the loser got no votes): every winner vote doubles T; rlacalc returns NaN here.
    p = bravo_p_values(np.ones(5), winner_share=1.0)
    np.testing.assert_allclose(p, [0.5, 0.25, 0.125, 0.0625, 0.03125])
    assert bravo_risk(5, 0, 1.0) == 2.0**-5
    # one vote for the loser zeroes T from then on: the sequential p-value keeps its minimum
    p = bravo_p_values(np.array([1.0, 1.0, 0.0, 1.0]), winner_share=1.0)
    np.testing.assert_allclose(p, [0.5, 0.25, 0.25, 0.25])
    assert bravo_risk(3, 1, 1.0) == 1.0


def test_tie_or_loss_cannot_confirm() -> None:
    assert (bravo_p_values(np.ones(30), winner_share=0.5) == 1.0).all()
    assert (METHODS["bravo"](np.ones(30), N=None, u=1.0, eta=0.5) == 1.0).all()
    assert bravo_risk(100, 0, 0.45) == 1.0


def test_registry_uses_eta_as_share_and_ignores_n() -> None:
    x = np.array([1, 0, 1, 1, 0.5, 1, 1])
    expected = bravo_p_values(x, winner_share=0.58)
    np.testing.assert_array_equal(METHODS["bravo"](x, N=None, u=1.0, eta=0.58), expected)
    np.testing.assert_array_equal(METHODS["bravo"](x, N=50, u=1.0, eta=0.58), expected)


def test_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"x\[1\] = 0\.25 is not one"):
        bravo_p_values(np.array([1.0, 0.25]), winner_share=0.6)
    with pytest.raises(ValueError, match="u = 1"):
        METHODS["bravo"](np.array([0.75]), N=None, u=0.75, eta=0.55)
    with pytest.raises(ValueError, match="winner_share"):
        bravo_p_values(np.array([1.0]), winner_share=1.5)
    with pytest.raises(ValueError, match="negative"):
        bravo_risk(-1, 0, 0.6)
