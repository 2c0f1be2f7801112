"""Closed-form sample sizes against rlacalc 0.4.0, Arlo and the papers' own figures."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyguard.audit.plan.closed_form import (
    ARLO_RATES,
    KM_GAMMA,
    NO_ERRORS,
    ErrorRates,
    arlo_comparison_sample_size,
    bravo_asn,
    comparison_noerror_bound,
    km_expected_sample_size,
    km_expected_sample_size_rounded,
    km_nmin,
)
from tallyguard.audit.risk import km_p_value
from tallyguard.errors import InputError

MARGINS = [0.001, 0.005, 0.01, 0.0227, 0.03, 0.04, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 0.99]
ALPHAS = [0.001, 0.01, 0.025, 0.05, 0.1, 0.2]
RATE_GRID = [
    NO_ERRORS,
    ARLO_RATES,
    ErrorRates(o1=0.001, u1=0.001),
    ErrorRates(o1=0.005, o2=0.001, u1=0.002, u2=0.0005),
    ErrorRates(u2=0.05),
]


def _same(ours: float, theirs: float) -> bool:
    """rlacalc's nan ('no answer') is our inf."""
    return (math.isnan(theirs) and math.isinf(ours)) or ours == theirs


# Published figures -----------------------------------------------------------


def test_bravo_table_1() -> None:
    # Lindeman, Stark & Yates (2012), Table 1 (alpha = 10 %), as in rlacalc's doctests
    assert bravo_asn(0.01, 0.1) == 46151
    assert bravo_asn(0.04, 0.1) == 2902
    assert bravo_asn(0.2, 0.1) == 119


def test_kaplan_markov_published_sizes() -> None:
    # Stark's auditTools page / rlacalc doctests, alpha = 10 %
    assert km_nmin(0.2, 0.1) == 24
    assert km_nmin(0.1, 0.1) == 48
    assert km_nmin(0.002, 0.1) == 2393
    assert km_nmin(0.05, 0.1, o1=1) == 123
    assert km_nmin(0.005, 0.1, o1=1, u1=1) == 1067
    assert km_nmin(0.05, 0.1) == 96
    assert km_nmin(0.05, 0.2) == 67
    # issue #3: mu = 1 %, alpha = 5 %
    assert km_nmin(0.01, 0.05) == 623
    assert comparison_noerror_bound(0.01, 0.05) == 598


def test_km_expected_published() -> None:
    nh2016 = (354040 - 337589) / (354040 + 337589 + 33234)  # rlacalc doctest
    assert km_expected_sample_size(0.05, 0.05, ErrorRates(o1=0.001, u1=0.001)) == 125
    assert km_expected_sample_size(nh2016, 0.05, ErrorRates(o1=0.001)) == 291
    assert km_expected_sample_size(0.05, 0.05, ErrorRates(u2=0.05)) == 52
    assert math.isinf(km_expected_sample_size(0.05, 0.05, ErrorRates(o1=0.05)))
    rates = ErrorRates(o1=0.001, u1=0.001)
    assert km_expected_sample_size_rounded(0.05, 0.05, rates, round_up_1=False) == 125
    assert km_expected_sample_size_rounded(0.05, 0.05, rates) == 136
    assert km_expected_sample_size_rounded(nh2016, 0.05, ErrorRates(o1=0.001)) == 335
    assert km_p_value(200, 1, diluted_margin=nh2016) == pytest.approx(
        0.21438135077031842, rel=1e-12
    )


# rlacalc on a grid ---------------------------------------------------------------


def test_equal_to_rlacalc_on_a_grid() -> None:
    rlacalc = pytest.importorskip("rlacalc")
    for margin, alpha in itertools.product(MARGINS, ALPHAS):
        assert bravo_asn(margin, alpha) == rlacalc.findAsn(alpha, margin)
        for risk in (0.5, 0.3):
            assert bravo_asn(margin, alpha, risk) == rlacalc.findAsn(alpha, margin, risk), risk
        # rlacalc's lower bound counts u1 twice (P7): compare where u1 == u2 or it cannot bind
        for o1, o2, u1, u2 in [
            (0, 0, 0, 0),
            (1, 0, 0, 0),
            (2, 1, 1, 1),
            (0, 1, 0, 0),
            (3, 0, 2, 2),
        ]:
            ours = km_nmin(margin, alpha, o1=o1, o2=o2, u1=u1, u2=u2)
            assert ours == rlacalc.nmin(alpha, KM_GAMMA, margin, o1, o2, u1, u2)
            assert km_p_value(100, o1, o2, u1, u2, diluted_margin=margin) == pytest.approx(
                min(1.0, rlacalc.KM_P_value(100, KM_GAMMA, margin, o1, o2, u1, u2)), rel=1e-12
            )
        for rates in RATE_GRID:
            args = (alpha, KM_GAMMA, margin, rates.o1, rates.o2, rates.u1, rates.u2)
            assert _same(
                km_expected_sample_size(margin, alpha, rates),
                rlacalc.KM_Expected_sample_size(*args),
            )
            for up1, up2 in [(True, False), (False, False), (True, True)]:
                ours = km_expected_sample_size_rounded(
                    margin, alpha, rates, round_up_1=up1, round_up_2=up2
                )
                try:
                    theirs = rlacalc.KM_Expected_sample_size_rounded(*args, up1, up2)
                except ValueError:  # rlacalc takes ceil(nan) when there is no finite answer
                    theirs = math.nan
                assert _same(ours, theirs), (margin, alpha, rates, up1, up2)


def test_gamma_is_a_parameter() -> None:
    rlacalc = pytest.importorskip("rlacalc")
    for gamma in (1.01, 1.1, 2.0):
        assert km_nmin(0.03, 0.05, gamma=gamma, o1=1) == rlacalc.nmin(0.05, gamma, 0.03, 1, 0, 0, 0)


def test_nmin_counts_u2_where_rlacalc_counts_u1_twice() -> None:
    """Pitfall P7: rlacalc's lower bound is o1+o2+u1+u1; Arlo's nMin uses o1+o2+u1+u2."""
    rlacalc = pytest.importorskip("rlacalc")
    # many understatements make the log-term negative, so the lower bound decides
    assert km_nmin(0.9, 0.5, u2=50) == 50
    assert rlacalc.nmin(0.5, KM_GAMMA, 0.9, 0, 0, 0, 50) == 0
    assert km_nmin(0.9, 0.5, u1=3, u2=50) == 53
    assert rlacalc.nmin(0.5, KM_GAMMA, 0.9, 0, 0, 3, 50) == 6
    # and the other way round: five one-vote understatements counted as ten
    assert km_nmin(0.5, 0.2, o1=5, u1=5) == 13
    assert rlacalc.nmin(0.2, KM_GAMMA, 0.5, 5, 0, 5, 0) == 15


def test_deliberate_differences_at_the_edges() -> None:
    rlacalc = pytest.importorskip("rlacalc")
    # 100 % margin: rlacalc returns a hard-coded 4; the formula's limit is 5 at 5 %
    assert rlacalc.findAsn(0.05, 1.0) == 4
    assert bravo_asn(1.0, 0.05) == 5
    assert bravo_asn(1.0, 0.05) <= bravo_asn(0.99, 0.05) == rlacalc.findAsn(0.05, 0.99)
    # ties: nan in rlacalc, "count everything" (inf) here
    assert math.isnan(rlacalc.findAsn(0.05, 0.0))
    assert math.isinf(bravo_asn(0.0, 0.05))
    assert math.isinf(bravo_asn(-0.1, 0.05))
    assert math.isinf(km_nmin(0.0, 0.05))
    assert math.isinf(km_expected_sample_size(0.0, 0.05))
    assert math.isinf(km_expected_sample_size_rounded(-0.01, 0.05))
    assert math.isinf(comparison_noerror_bound(0.0, 0.05))
    # the risk limit already met
    assert bravo_asn(0.1, 0.05, risk_level=0.04) == 0


def test_arlo_initial_comparison_size() -> None:
    # Arlo's get_sample_sizes: one rounding step; agrees with the rounded rlacalc figure here
    for margin in (0.01, 0.02, 0.05, 0.1):
        for alpha in (0.05, 0.1):
            ours = arlo_comparison_sample_size(margin, alpha)
            assert ours == km_expected_sample_size_rounded(margin, alpha)
    assert math.isinf(arlo_comparison_sample_size(0.001, 0.05, ErrorRates(o2=0.01)))


def test_bad_arguments_are_input_errors() -> None:
    with pytest.raises(InputError, match="risk limit"):
        bravo_asn(0.1, 0.0)
    with pytest.raises(InputError, match="risk limit"):
        km_nmin(0.1, 1.0)
    with pytest.raises(InputError, match="gamma"):
        km_nmin(0.1, 0.05, gamma=1.0)
    with pytest.raises(InputError, match=">= 0"):
        km_nmin(0.1, 0.05, o1=-1)
    with pytest.raises(InputError, match="rate"):
        ErrorRates(o1=-0.1)
    with pytest.raises(InputError, match="more than 1"):
        ErrorRates(o1=0.6, u1=0.6)
    with pytest.raises(InputError, match="margin"):
        bravo_asn(1.5, 0.05)


def test_noerror_bound_scales_with_the_assorter_bound() -> None:
    # a supermajority assorter (u = 3/4): the same margin is worth more relative to u
    assert comparison_noerror_bound(0.01, 0.05, upper_bound=0.75) < 598
    assert comparison_noerror_bound(0.01, 0.05, upper_bound=1.0) == 598


# Properties ----------------------------------------------------------------------

margins = st.floats(0.002, 0.95)
alphas = st.floats(0.001, 0.3)


@given(margins, margins, alphas)
def test_bigger_margin_smaller_size(m1: float, m2: float, alpha: float) -> None:
    small, big = sorted((m1, m2))
    assert bravo_asn(big, alpha) <= bravo_asn(small, alpha)
    assert km_nmin(big, alpha) <= km_nmin(small, alpha)
    assert km_expected_sample_size(big, alpha) <= km_expected_sample_size(small, alpha)
    assert comparison_noerror_bound(big, alpha) <= comparison_noerror_bound(small, alpha)


@given(margins, alphas, alphas)
def test_smaller_risk_limit_bigger_size(margin: float, a1: float, a2: float) -> None:
    low, high = sorted((a1, a2))
    assert bravo_asn(margin, low) >= bravo_asn(margin, high)
    assert km_nmin(margin, low) >= km_nmin(margin, high)


@given(margins, alphas, st.integers(0, 5), st.integers(0, 2))
def test_km_nmin_suffices(margin: float, alpha: float, o1: int, o2: int) -> None:
    """n_min uses ln(1 - m/(2 gamma)) <= -m/(2 gamma), so its P-value is at most alpha."""
    n = km_nmin(margin, alpha, o1=o1, o2=o2)
    if n > o1 + o2:  # the formula decides
        assert km_p_value(int(n), o1, o2, diluted_margin=margin) <= alpha * (1 + 1e-9)


@given(margins, alphas)
def test_kaplan_markov_never_beats_the_noerror_bound(margin: float, alpha: float) -> None:
    assert km_nmin(margin, alpha) >= comparison_noerror_bound(margin, alpha)
