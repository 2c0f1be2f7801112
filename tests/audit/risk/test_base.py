"""Shared machinery: sequential p-values from log-wealth, input checks, null means."""

from __future__ import annotations

import numpy as np
import pytest

from tallyguard.audit.risk import last_p_value, sequential_p_values
from tallyguard.audit.risk.base import check_sample, null_means


def test_sequential_p_values_is_running_min_of_inverse_wealth() -> None:
    wealth = np.array([0.5, 2.0, 1.5, 4.0, 3.0])
    p = sequential_p_values(np.log(wealth))
    # min(1, 1/max_{s<=t} M_s): 1, 1/2, 1/2, 1/4, 1/4
    np.testing.assert_allclose(p, [1.0, 0.5, 0.5, 0.25, 0.25])


def test_sequential_p_values_never_nan_and_handles_infinities() -> None:
    lw = np.array([1.0, np.nan, -np.inf, 2000.0, np.inf, np.nan, -np.inf])
    p = sequential_p_values(lw)
    assert not np.isnan(p).any()
    np.testing.assert_allclose(p[:3], np.exp(-1.0))
    assert p[3] == 0.0  # exp(-2000) underflows to 0: no overflow, no NaN
    assert (p[4:] == 0.0).all()  # the null was shown false: p stays 0


def test_empty_sample() -> None:
    assert sequential_p_values(np.array([])).size == 0
    assert last_p_value(np.array([])) == 1.0


def test_check_sample_names_the_offending_draw() -> None:
    with pytest.raises(ValueError, match=r"x\[2\] = 1\.5 lies outside \[0, u\] = \[0, 1\.0\]"):
        check_sample([0.0, 1.0, 1.5, 2.0], u=1.0)
    with pytest.raises(ValueError, match=r"x\[1\] = -0\.1"):
        check_sample([0.0, -0.1], u=1.0)
    with pytest.raises(ValueError, match=r"x\[0\] = nan"):
        check_sample([float("nan")], u=1.0)
    with pytest.raises(ValueError, match="larger than the population"):
        check_sample([1.0, 1.0, 1.0], u=1.0, N=2)
    with pytest.raises(ValueError, match="positive whole number"):
        check_sample([1.0], u=1.0, N=0)
    with pytest.raises(ValueError, match="upper bound u"):
        check_sample([1.0], u=0.0)


def test_check_sample_snaps_rounding_onto_the_bounds() -> None:
    u = 2.0 / (2.0 - 0.03)
    x = check_sample([2.0 * (1.0 / (2.0 - 0.03)), -1e-17], u=u)
    assert x[0] <= u
    assert x[1] == 0.0


def test_null_means_without_replacement() -> None:
    # N = 10, null mean 1/2: total 5. Before draw 1: 5/10; after x1 = 1: 4/9; after 1, 0: 4/8.
    mu = null_means(np.array([1.0, 0.0, 1.0]), 10)
    np.testing.assert_allclose(mu, [0.5, 4 / 9, 0.5])
    np.testing.assert_allclose(null_means(np.array([1.0, 0.0]), None), [0.5, 0.5])
