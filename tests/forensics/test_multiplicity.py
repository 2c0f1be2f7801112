"""Benjamini–Hochberg and Benjamini–Yekutieli q-values, checked against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.stats import false_discovery_control

from tallyguard.forensics.multiplicity import bh_qvalues, bh_qvalues_array, bh_reject

p_values = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=0, max_size=60)
maybe_p = st.lists(st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)), max_size=60)

# Benjamini & Hochberg (1995), section 4.1: 15 p-values from a clinical trial;
# the step-up procedure at 0.05 rejects the four smallest (Bonferroni only three).
BH_1995_EXAMPLE = [
    0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
    0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000,
]  # fmt: skip


@given(p_values)
def test_bh_equals_scipy_bitwise(p: list[float]) -> None:
    ours = bh_qvalues_array(np.array(p, dtype=np.float64))
    expected = false_discovery_control(np.array(p, dtype=np.float64), method="bh")
    np.testing.assert_array_equal(ours, expected)


@given(p_values)
def test_by_equals_scipy_bitwise(p: list[float]) -> None:
    ours = bh_qvalues_array(np.array(p, dtype=np.float64), method="by")
    expected = false_discovery_control(np.array(p, dtype=np.float64), method="by")
    np.testing.assert_array_equal(ours, expected)


@given(maybe_p)
def test_skipped_tests_stay_none_and_are_not_counted(p: list[float | None]) -> None:
    q = bh_qvalues(p)
    assert [v is None for v in q] == [v is None for v in p]
    present = [v for v in p if v is not None]
    expected = false_discovery_control(np.array(present, dtype=np.float64), method="bh")
    np.testing.assert_array_equal(np.array([v for v in q if v is not None]), expected)


@given(p_values)
def test_qvalue_invariants(p: list[float]) -> None:
    q = bh_qvalues_array(np.array(p))
    pa = np.array(p)
    assert np.all(q >= pa)
    assert np.all(q <= 1.0)
    order = np.argsort(pa, kind="stable")
    assert np.all(np.diff(q[order]) >= 0.0)  # monotone in p
    by = bh_qvalues_array(pa, method="by")
    harmonic = np.sum(1.0 / np.arange(1, pa.size + 1))
    if pa.size > 1:  # c(m) scales before the running minimum; rounding is monotone
        np.testing.assert_array_equal(by, np.minimum(1.0, q * harmonic))


@given(p_values, st.sampled_from([0.01, 0.05, 0.1, 0.2]))
def test_reject_is_the_step_up_rule(p: list[float], alpha: float) -> None:
    m = len(p)
    ranked = np.sort(np.array(p))
    j = np.arange(1, m + 1)
    # Exclude exact boundary cases where p_(j)·m/j and j·α/m round differently.
    assume(not np.any(np.abs(ranked * m / j - alpha) < 1e-12))
    below = np.flatnonzero(ranked <= j * alpha / m)
    cutoff = ranked[below[-1]] if below.size else -1.0
    assert bh_reject(p, alpha) == [v <= cutoff for v in p]


def test_benjamini_hochberg_1995_example() -> None:
    reject = bh_reject(BH_1995_EXAMPLE, 0.05)
    assert reject == [True] * 4 + [False] * 11
    q = bh_qvalues(BH_1995_EXAMPLE)
    assert q[3] == pytest.approx(0.0095 * 15 / 4)  # 0.035625
    assert q[4] == pytest.approx(0.0201 * 15 / 5)  # 0.0603
    assert q[5] == pytest.approx(0.0298 * 15 / 7)  # the running minimum takes j = 7
    assert q[0] == pytest.approx(0.0001 * 15)
    assert q[-1] == 1.0


def test_scipy_docstring_example_and_edge_cases() -> None:
    assert bh_qvalues([0.5, 0.6, 0.1, 0.001]) == pytest.approx([0.6, 0.6, 0.2, 0.004])
    assert bh_qvalues([]) == []
    assert bh_qvalues([None, None]) == [None, None]
    assert bh_qvalues([None, 0.03, None]) == [None, 0.03, None]
    assert bh_reject([None, 0.01, 0.9], 0.05) == [None, True, False]
    q_nan = bh_qvalues_array(np.array([np.nan, 0.01, 0.04]))
    assert np.isnan(q_nan[0])
    assert q_nan[1:].tolist() == [0.02, 0.04]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bh_qvalues([0.1, 1.5])
    with pytest.raises(ValueError, match="unknown method"):
        bh_qvalues_array(np.array([0.1]), method="holm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha"):
        bh_reject([0.1], 0.0)
