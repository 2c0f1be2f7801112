"""The integer-percentage test against Kobak et al.'s published Monte-Carlo results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binom

from tallyguard.forensics.integer import (
    bernoulli_rows,
    included,
    integer_probability,
    is_integer_percent,
    run,
)
from tallyguard.forensics.load import load_units
from tallyguard.forensics.table import UnitTable

# Excess of integer stations (turnout or share), weighted by stations and by
# voters, with the Monte-Carlo SD of one replicate: Kobak's published
# montecarlo.pickle (github.com/dkobak/elections, analysis/2024), 1,000 replicates.
PUBLISHED = {
    2004: (933.748, 113.850, 1502177.344, 167242.547),
    2007: (722.725, 111.613, 1110906.859, 170912.790),
    2008: (1722.779, 116.674, 2687897.801, 174428.667),
    2011: (1003.477, 113.074, 1591128.509, 169316.362),
    2012: (1159.585, 116.350, 1743796.073, 170959.403),
    2016: (1502.391, 118.094, 2521139.602, 170979.818),
    2018: (1708.839, 116.537, 2459344.092, 168372.207),
    2020: (3610.885, 114.595, 5643907.071, 164879.707),
    2021: (1309.768, 118.505, 2025651.364, 229489.186),
    2024: (2930.984, 115.418, 4695610.502, 158607.549),
}
# Our observed counts (turnout, share, either) and included stations: exact, deterministic.
OBSERVED = {
    2004: (9214, 9283, 17393, 85457),
    2007: (9149, 9172, 17273, 85908),
    2008: (9631, 10019, 18394, 86309),
    2011: (9216, 9708, 17803, 86718),
    2012: (9476, 9662, 18025, 87623),
    2016: (10314, 10195, 19068, 90357),
    2018: (10543, 10116, 19271, 91152),
    2020: (10817, 12062, 21062, 90633),
    2021: (9950, 10173, 18880, 90821),
    2024: (10838, 10051, 19375, 85345),
}


def _table(electorate: list[int], issued: list[int], cast: list[int], lead: list[int]) -> UnitTable:
    n = len(electorate)
    return UnitTable(
        unit_id=np.array([f"u{i}" for i in range(n)]),
        electorate=np.array(electorate, dtype=np.int64),
        ballots_issued=np.array(issued, dtype=np.int64),
        ballots_cast=np.array(cast, dtype=np.int64),
        votes={"A": np.array(lead, dtype=np.int64)},
        leader="A",
    )


def test_integer_window_is_closed_and_exact() -> None:
    k = np.array([1, 1, 341, 3405, 3406, 3395, 3394, 0, 500, 1])
    n = np.array([3, 2000, 1000, 10000, 10000, 10000, 10000, 10, 1000, 1000])
    expected = [False, True, False, True, False, True, False, True, True, False]
    assert is_integer_percent(k, n).tolist() == expected
    assert not is_integer_percent(np.array([0]), np.array([0]))[0]


@given(st.integers(1, 2500), st.one_of(st.sampled_from([0.0, 1.0]), st.floats(1e-9, 1 - 1e-9)))
def test_integer_probability_equals_the_binomial_sum(n: int, p: float) -> None:
    k = np.arange(n + 1)
    brute = binom.pmf(k[is_integer_percent(k, np.full_like(k, n))], n, p).sum()
    exact = integer_probability(np.array([n]), np.array([p]))[0]
    assert exact == pytest.approx(brute, abs=1e-10)


def test_bernoulli_rows_hits_with_the_given_probability() -> None:
    prob = np.array([0.0, 1.0, 0.1, 0.5, 1 / 3, 2.0**-17])
    hits = bernoulli_rows(prob, 400_000, np.random.default_rng(7))
    share = hits.mean(axis=0)
    assert share[0] == 0.0
    assert share[1] == 1.0
    sd = np.sqrt(prob * (1 - prob) / hits.shape[0])
    assert np.all(np.abs(share - prob)[2:] <= 4 * sd[2:] + 1e-12)


def test_inclusion_rule_of_kobak_et_al() -> None:
    table = _table(
        [100, 99, 1000, 1000, 1000, 1000],
        [50, 50, 990, 991, 500, 500],
        [50, 50, 990, 991, 500, 0],
        [25, 25, 500, 500, 495, 0],
    )
    assert included(table).tolist() == [True, False, True, False, True, False]


def _null_table(rng: np.random.Generator, units: int) -> UnitTable:
    electorate = np.rint(rng.lognormal(np.log(900), 0.5, units)).astype(np.int64) + 100
    turnout = rng.beta(30, 20, units)
    issued = rng.binomial(electorate, turnout)
    share = rng.beta(20, 25, units)
    lead = rng.binomial(issued, share)
    return UnitTable(
        unit_id=np.array([f"u{i}" for i in range(units)]),
        electorate=electorate,
        ballots_issued=issued,
        ballots_cast=issued,
        votes={"L": lead, "O": issued - lead},
        leader="L",
    )


def test_false_positive_rate_on_clean_elections_is_at_most_alpha() -> None:
    rng = np.random.default_rng(2016)
    runs, alpha = 200, 0.05
    rejections = 0
    for _ in range(runs):
        result = run(_null_table(rng, 2000), rng=rng, replicates=200)
        rejections += (result.p_value or 1.0) <= alpha
    # Binomial(200, 0.05): mean 10, the 99.9th percentile is 21.
    assert rejections <= 21


def test_rounded_protocols_at_five_percent_of_stations_are_detected() -> None:
    rng = np.random.default_rng(1410)
    detected = 0
    for _ in range(20):
        table = _null_table(rng, 2000)
        lead = table.leader_votes.copy()
        rounded = rng.random(table.n) < 0.05
        lead[rounded] = np.rint(
            np.round(100 * lead[rounded] / table.ballots_cast[rounded])
            / 100
            * table.ballots_cast[rounded]
        ).astype(np.int64)
        votes = {"L": lead, "O": table.ballots_cast - lead}
        forged = UnitTable(
            table.unit_id, table.electorate, table.ballots_issued, table.ballots_cast, votes, "L"
        )
        result = run(forged, rng=rng, replicates=200)
        detected += result.component("leader_share").p_value <= 0.05  # type: ignore[operator]
    assert detected >= 18


@pytest.mark.parametrize("year", sorted(PUBLISHED))
def test_russian_excess_matches_kobak_within_monte_carlo_error(
    shared_data: Path, year: int
) -> None:
    loaded = load_units(
        shared_data / "forensics" / f"russia_{year}.csv.gz", leader=None, preset="ru-cec"
    )
    result = run(loaded.table, rng=np.random.default_rng(year), replicates=50)
    turnout, share, either = (result.component(q) for q in ("turnout", "leader_share", "either"))
    observed = (
        turnout.statistics["observed"],
        share.statistics["observed"],
        either.statistics["observed"],
        result.details["included_units"],
    )
    assert observed == OBSERVED[year]
    excess, sd, voter_excess, voter_sd = PUBLISHED[year]
    # Our null mean is exact; theirs is the mean of 1,000 replicates (SE = sd/sqrt(1000)).
    assert abs(either.statistics["excess"] - excess) <= 4 * sd / np.sqrt(1000)
    assert either.statistics["null_sd"] == pytest.approx(sd, rel=0.05)
    by_voters = either.statistics["by_voters"]
    assert abs(by_voters["excess"] - voter_excess) <= 4 * voter_sd / np.sqrt(1000)
    assert result.p_value == pytest.approx(1 / 51)
