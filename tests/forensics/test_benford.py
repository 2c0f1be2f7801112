"""First-digit Benford: the claim as made, and why a clean election "fails" it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from tallyguard.forensics.benford import (
    BENFORD_FIRST,
    claim_explanation,
    run,
    shrunk_share,
    size_matched_first_digits,
)
from tallyguard.forensics.digit_laws import significant_digit
from tallyguard.forensics.table import UnitTable
from tests.forensics.test_digits import allegheny_table


def city_table(rng: np.random.Generator, units: int = 800, spread: float = 0.3) -> UnitTable:
    """A clean city: precinct sizes within about one order of magnitude, one stable share."""
    cast = np.maximum(20, rng.lognormal(np.log(700), spread, units)).astype(np.int64)
    leader = rng.binomial(cast, rng.beta(80, 20, units))
    return UnitTable(
        unit_id=np.arange(units).astype(str),
        electorate=2 * cast,
        ballots_issued=cast,
        ballots_cast=cast,
        votes={"leader": leader, "other": cast - leader},
        leader="leader",
    )


def test_benford_first_digit_law() -> None:
    assert BENFORD_FIRST[0] == 0.0
    assert BENFORD_FIRST.sum() == pytest.approx(1.0, abs=1e-15)
    assert BENFORD_FIRST[1] == pytest.approx(0.30103, abs=5e-6)
    assert BENFORD_FIRST[9] == pytest.approx(0.04576, abs=5e-6)


def test_shrunk_share_is_the_beta_binomial_moment_estimate() -> None:
    # mean 0.2; var(k/n) 0.01; mean binomial variance 0.0016; a + b = 0.16 / 0.0084 - 1
    prior = 0.16 / 0.0084 - 1
    shares = shrunk_share(np.array([100, 100]), np.array([10, 30]))
    np.testing.assert_allclose(shares, (np.array([10, 30]) + 0.2 * prior) / (100 + prior))
    homogeneous = shrunk_share(np.full(4, 1000), np.array([50, 50, 50, 50]))
    np.testing.assert_allclose(homogeneous, 0.05)


def test_size_matched_expectation_is_the_exact_binomial_first_digit_law() -> None:
    table = city_table(np.random.default_rng(1), units=40)
    null = size_matched_first_digits(table, "leader", np.random.default_rng(2), replicates=300)
    share = shrunk_share(table.ballots_cast, table.votes["leader"])
    expected = np.zeros(10)
    for n, p in zip(table.ballots_cast, share, strict=True):
        k = np.arange(1, n + 1)
        pmf = stats.binom.pmf(k, n, p)
        expected += np.bincount(significant_digit(k, 1), weights=pmf, minlength=10) / pmf.sum()
    np.testing.assert_allclose(null.expected, expected, atol=1e-9)
    assert null.n_counts == 40
    np.testing.assert_array_equal(null.simulated.sum(axis=1), 40)
    observed = np.bincount(significant_digit(table.votes["leader"], 1), minlength=10)
    np.testing.assert_array_equal(null.observed, observed)


def test_a_clean_city_fails_benford_but_not_its_size_matched_null() -> None:
    table = city_table(np.random.default_rng(5))
    claim = claim_explanation(table, "leader", np.random.default_rng(6), replicates=200)
    assert claim.benford_p_value < 1e-10
    assert claim.claim_false_positive_rate == 1.0
    assert claim.null_vs_benford_chi2 > 300
    assert claim.size_matched_p_value > 0.05
    # precinct sizes spread over many orders of magnitude: Benford is no longer absurd
    wide = city_table(np.random.default_rng(5), spread=2.0)
    broad = claim_explanation(wide, "leader", np.random.default_rng(6), replicates=200)
    assert broad.null_vs_benford_chi2 < claim.null_vs_benford_chi2 / 10


def test_allegheny_2020_benford_claim_is_explained_by_precinct_sizes(shared_data: Path) -> None:
    table = allegheny_table(shared_data)
    result = run(table, rng=np.random.default_rng(1), replicates=200)
    assert result.valid is False
    assert result.headline == "first_digit:Biden"
    biden = result.component("first_digit:Biden").statistics
    # the viral claim's numbers: chi-square 572 on 8 df for Biden, about 1e-9 for Trump
    assert biden["benford_chi2"] == pytest.approx(572.17, abs=0.01)
    assert result.p_value is not None
    assert result.p_value < 1e-100
    assert result.component("first_digit:Trump").p_value == pytest.approx(1.13e-9, rel=0.01)
    # a clean binomial election with Allegheny's precinct sizes and shares fits the digits
    assert biden["size_matched_chi2"] < stats.chi2.ppf(0.95, 8)
    assert biden["size_matched_p_value"] > 0.5
    assert biden["null_vs_benford_chi2"] > 500
    assert biden["claim_false_positive_rate"] == 1.0
    plot = result.details["distribution"]
    assert plot["digits"] == list(range(1, 10))
    assert plot["fixed_law"] == pytest.approx(BENFORD_FIRST[1:].tolist())
    json.dumps(result.to_json())
    json.dumps(result.details)
