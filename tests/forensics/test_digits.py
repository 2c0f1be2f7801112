"""Last-digit and second-digit (2BL) tests against the size-matched binomial null."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from tallyguard.forensics.digit_laws import (
    BENFORD_SECOND,
    BENFORD_SECOND_MEAN,
    last_digit_probabilities,
    sample_digit_counts,
    significant_digit,
    significant_digit_probabilities,
)
from tallyguard.forensics.digits import run_last_digit, run_second_digit
from tallyguard.forensics.table import UnitTable

ALLEGHENY = Path("forensics") / "us2020_allegheny_pa_precincts_benford_claim.csv"


def allegheny_table(shared_data: Path) -> UnitTable:
    """Allegheny County PA 2020 precincts: total votes per candidate, 'Total:' row dropped."""
    frame = pl.read_csv(shared_data / ALLEGHENY, skip_rows=2, infer_schema=False)
    frame = frame.filter(pl.col(frame.columns[0]) != "Total:")
    totals = [c for c in frame.columns if c.startswith("Total Votes")]
    names = ("Biden", "Trump", "Jorgensen", "Write-in")
    votes = {n: frame[c].cast(pl.Int64).to_numpy() for n, c in zip(names, totals, strict=True)}
    cast = np.sum(list(votes.values()), axis=0)
    return UnitTable(
        unit_id=frame[frame.columns[0]].to_numpy().astype(str),
        electorate=frame["Registered Voters"].cast(pl.Int64).to_numpy(),
        ballots_issued=cast,
        ballots_cast=cast,
        votes=votes,
        leader="Biden",
    )


def clean_table(rng: np.random.Generator, units: int = 2000) -> UnitTable:
    """Counts drawn from the null itself: multinomial votes, varied sizes and shares.

    Four choices: two large with shares varying between units, one medium, and one small
    and homogeneous (4 %, about 24 votes) that only the larger units test.
    """
    electorate = np.maximum(50, rng.lognormal(np.log(1000), 0.5, units)).astype(np.int64)
    cast = rng.binomial(electorate, rng.beta(6, 4, units))
    big = rng.dirichlet([24.0, 12.0, 6.0], units) * 0.96
    shares = np.column_stack([big, np.full(units, 0.04)])
    votes = rng.multinomial(cast, shares)
    return UnitTable(
        unit_id=np.arange(units).astype(str),
        electorate=electorate,
        ballots_issued=cast,
        ballots_cast=cast,
        votes={f"c{j}": votes[:, j].astype(np.int64) for j in range(4)},
        leader="c0",
    )


def brute_digit_law(n: int, p: float, digit_of: np.ndarray, floor: int) -> np.ndarray:
    k = np.arange(floor, n + 1)
    pmf = stats.binom.pmf(k, n, p)
    law = np.bincount(digit_of[floor:], weights=pmf, minlength=10)
    return law / law.sum()


def test_benford_second_digit_law() -> None:
    assert round(BENFORD_SECOND_MEAN, 4) == 4.1874
    assert BENFORD_SECOND.sum() == pytest.approx(1.0, abs=1e-15)
    assert BENFORD_SECOND[0] == pytest.approx(0.11968, abs=5e-6)
    assert BENFORD_SECOND[9] == pytest.approx(0.08500, abs=5e-6)


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=1, max_value=3))
def test_significant_digit_reads_the_decimal_string(count: int, position: int) -> None:
    text = str(count) if count > 0 else ""
    expected = int(text[position - 1]) if len(text) >= position else -1
    assert significant_digit(np.array([count]), position)[0] == expected


@given(st.integers(min_value=10, max_value=3000), st.floats(min_value=1e-4, max_value=1.0))
def test_last_digit_law_equals_binomial_pmf_sums(n: int, p: float) -> None:
    k = np.arange(n + 1)
    if stats.binom.sf(9, n, p) < 1e-250:  # no mass at K ≥ 10 that double precision can hold
        return
    law = last_digit_probabilities(np.array([n]), np.array([p]))[0]
    np.testing.assert_allclose(law, brute_digit_law(n, p, k % 10, 10), atol=1e-10)


@given(
    st.integers(min_value=10, max_value=4000),
    st.floats(min_value=1e-3, max_value=1.0),
    st.sampled_from([1, 2]),
)
def test_significant_digit_laws_equal_binomial_pmf_sums(n: int, p: float, position: int) -> None:
    floor = 10 ** (position - 1)
    if stats.binom.sf(floor - 1, n, p) < 1e-250:
        return
    digit_of = np.maximum(significant_digit(np.arange(n + 1), position), 0)
    law = significant_digit_probabilities(np.array([n]), np.array([p]), position)[0]
    np.testing.assert_allclose(law, brute_digit_law(n, p, digit_of, floor), atol=1e-10)


def test_sampler_draws_from_the_exact_laws() -> None:
    rng = np.random.default_rng(7)
    uniformish = np.full((30, 10), 0.1) + np.linspace(-4e-4, 4e-4, 10)  # mixture path
    skewed = rng.dirichlet(np.ones(10), 40)  # comparison path
    sure = np.eye(10)[[3, 3, 8]]  # fixed digits
    probs = np.vstack([uniformish, skewed, sure])
    group = np.array([0] * 30 + [1] * 40 + [0] * 3)
    draws = sample_digit_counts(probs, group, 2, rng, 20_000)
    assert draws.shape == (20_000, 2, 10)
    np.testing.assert_array_equal(draws.sum(axis=2), [[33, 40]] * 20_000)
    expected = np.stack([probs[group == g].sum(axis=0) for g in (0, 1)])
    variance = np.stack([(probs * (1 - probs))[group == g].sum(axis=0) for g in (0, 1)])
    z = (draws.mean(axis=0) - expected) / np.sqrt(variance / 20_000 + 1e-30)
    assert np.abs(z).max() < 4.5
    once = sample_digit_counts(probs, group, 2, np.random.default_rng(99), 5)
    np.testing.assert_array_equal(
        once, sample_digit_counts(probs, group, 2, np.random.default_rng(99), 5)
    )


def test_clean_tables_reject_at_most_alpha() -> None:
    """Tables drawn from the null (with a small choice at the threshold) rarely reject."""
    rng = np.random.default_rng(2024)
    p_last, p_second = [], []
    for _ in range(100):
        table = clean_table(rng, units=2000)
        p_last.append(run_last_digit(table, rng=rng, replicates=200).p_value)
        p_second.append(run_second_digit(table, rng=rng, replicates=200).p_value)
    # α = 0.05 with 100 tables: 5 expected, 11 or more has probability 0.011
    assert sum(p <= 0.05 for p in p_last if p is not None) <= 10
    assert sum(p <= 0.05 for p in p_second if p is not None) <= 10
    assert np.mean(p_last) > 0.35
    assert np.mean(p_second) > 0.35


def test_counts_forced_to_end_in_0_or_5_are_detected() -> None:
    rng = np.random.default_rng(11)
    table = clean_table(rng)
    votes = dict(table.votes)
    fabricated = rng.random(table.n) < 0.10
    leader = votes["c0"].copy()
    leader[fabricated] = 5 * np.round(leader[fabricated] / 5)
    votes["c0"] = leader
    doctored = UnitTable(
        table.unit_id, table.electorate, table.ballots_issued, table.ballots_cast, votes, "c0"
    )
    result = run_last_digit(doctored, rng=rng, replicates=200)
    assert result.p_value == pytest.approx(1 / 201)
    assert result.component("share_0_or_5").p_value == pytest.approx(1 / 201)
    assert run_last_digit(table, rng=rng, replicates=200).p_value > 0.05


def test_second_digits_pushed_to_nine_are_detected() -> None:
    rng = np.random.default_rng(12)
    table = clean_table(rng)
    leader = table.votes["c0"].copy()
    moved = (rng.random(table.n) < 0.15) & (leader >= 100) & (leader < 1000)
    leader[moved] = leader[moved] // 100 * 100 + 90 + leader[moved] % 10
    doctored = UnitTable(
        table.unit_id,
        table.electorate,
        table.ballots_issued,
        np.maximum(table.ballots_cast, leader),
        {**table.votes, "c0": leader},
        "c0",
    )
    result = run_second_digit(doctored, rng=rng, replicates=200)
    assert result.p_value == pytest.approx(1 / 201)
    assert result.component("second_digit_mean").statistics["deviation"] > 0.1


def test_no_count_reaching_ten_is_skipped() -> None:
    ones = np.ones(5, dtype=np.int64)
    table = UnitTable(np.arange(5).astype(str), 20 * ones, 9 * ones, 9 * ones, {"a": 9 * ones}, "a")
    for run in (run_last_digit, run_second_digit):
        result = run(table, rng=np.random.default_rng(0), replicates=10)
        assert result.p_value is None
        assert all(c.skipped for c in result.components)


def test_allegheny_2020_digits_show_no_anomaly(shared_data: Path) -> None:
    table = allegheny_table(shared_data)
    assert table.n == 1323
    last = run_last_digit(table, rng=np.random.default_rng(1), replicates=400)
    headline = last.component("last_digit").statistics
    # Biden and Trump counts; Jorgensen and write-ins expect under 30 votes everywhere
    assert headline["n_counts"] == 2563
    assert last.details["by_choice"]["Jorgensen"]["n_counts"] == 0
    assert headline["chi2"] == pytest.approx(9.9066, abs=1e-4)
    assert headline["fixed_law_chi2"] == pytest.approx(10.0433, abs=1e-4)
    assert last.p_value > 0.2
    second = run_second_digit(table, rng=np.random.default_rng(1), replicates=400)
    mean = second.component("second_digit_mean").statistics
    assert mean["mean"] == pytest.approx(4.22552, abs=1e-5)
    assert mean["null_mean"] == pytest.approx(4.29477, abs=1e-5)
    assert second.p_value > 0.05
    for result in (last, second):
        plot = result.details["distribution"]
        assert plot["digits"] == list(range(10))
        assert all(len(plot[key]) == 10 for key in plot)
        assert all(lo <= hi for lo, hi in zip(plot["null_low"], plot["null_high"], strict=True))
        json.dumps(result.to_json())
        json.dumps(result.details)


def test_small_party_at_the_threshold_is_left_out() -> None:
    """Why ``min_expected``: a clean 1 % party, counts kept because they reached 10."""
    rng = np.random.default_rng(21)
    cast = np.maximum(50, rng.lognormal(np.log(600), 0.4, 3000)).astype(np.int64)
    small = rng.binomial(cast, 0.012)
    table = UnitTable(
        np.arange(3000).astype(str),
        2 * cast,
        cast,
        cast,
        {"big": cast - small, "small": small},
        "big",
    )
    naive = run_last_digit(table, rng=rng, replicates=200, choices=["small"], min_expected=0)
    assert naive.p_value == pytest.approx(1 / 201)  # the artefact the rule removes
    kept = run_last_digit(table, rng=rng, replicates=200, choices=["small"])
    assert kept.p_value is None


def test_same_seed_same_result() -> None:
    table = clean_table(np.random.default_rng(3), units=300)
    first = run_second_digit(table, rng=np.random.default_rng(9), replicates=50)
    second = run_second_digit(table, rng=np.random.default_rng(9), replicates=50)
    assert first.to_json() == second.to_json()
    assert first.details == second.details
