"""Chance-match arithmetic: the birthday problem, expected coincidences, Σ(1 − p)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from tallyguard.errors import InputError
from tallyguard.rolls.chance import (
    DobDistribution,
    birthday_crowd,
    birthday_probability,
    expected_chance_pairs,
    expected_false_matches,
    false_match_estimate,
    observed_rule_pairs,
    poisson_binomial_pmf,
)

NAIVE = ("first_name", "last_name", "dob")


def roll(rows: Sequence[tuple[str, str, str | None]], **extra: list[object]) -> pl.DataFrame:
    first, last, dob = zip(*rows, strict=True)
    ids = [f"V{i}" for i in range(len(rows))]
    return pl.DataFrame(
        {"voter_id": ids, "first_name": first, "last_name": last, "dob": dob, **extra}
    )


def table(dates: list[str], probabilities: list[float]) -> DobDistribution:
    return DobDistribution.from_frame(pl.DataFrame({"dob": dates, "probability": probabilities}))


THREE_DAYS = ["2000-01-01", "2000-01-02", "2000-01-03"]
P_HALF = [0.5, 0.25, 0.25]  # s2 = 3/8, s3 = 5/32


def brute_force(
    groups: list[int], p: list[float], other: list[int] | None = None
) -> tuple[float, float]:
    """Exact mean and variance of the coincidence count by enumerating every date draw."""
    sizes = groups + (other or [])
    moments = np.zeros(3)
    for draw in itertools.product(range(len(p)), repeat=sum(sizes)):
        weight = math.prod(p[d] for d in draw)
        count, start, blocks = 0, 0, []
        for size in sizes:
            blocks.append(draw[start : start + size])
            start += size
        if other is None:
            count = sum(a == b for block in blocks for a, b in itertools.combinations(block, 2))
        else:
            left, right = blocks[: len(groups)], blocks[len(groups) :]
            count = sum(a == b for x, y in zip(left, right, strict=True) for a in x for b in y)
        moments += weight * np.array([1, count, count**2])
    return moments[1], moments[2] - moments[1] ** 2


# --- the birthday problem (McDonald & Levitt 2008) -------------------------------------------


def test_birthday_problem_classic_values() -> None:
    assert birthday_probability(0, 365) == 0.0
    assert birthday_probability(1, 365) == 0.0
    assert birthday_probability(2, 365) == pytest.approx(1 / 365, rel=1e-12)
    assert birthday_probability(23, 365) == pytest.approx(0.5072972343239857, abs=1e-12)
    assert birthday_probability(366, 365) == 1.0
    assert birthday_crowd(0.5, 365) == 23


def test_mcdonald_levitt_figures() -> None:
    # D ≈ 23,000 adult birth dates: 50 % at about 180 people, 99 % at about 460.
    assert birthday_probability(180, 23_000) == pytest.approx(0.5045, abs=5e-4)
    assert birthday_probability(460, 23_000) == pytest.approx(0.9902, abs=5e-4)
    assert birthday_crowd(0.5, 23_000) == 179
    assert birthday_crowd(0.99, 23_000) == 460


def test_birthday_problem_large_crowd_branch() -> None:
    for k, days in [(2_000_000, 1e13), (20_000_001, 1e15)]:  # exact sum; Stirling's series
        approx = -math.expm1(-k * (k - 1) / (2 * days) - k**3 / (6 * days**2))  # to ~1e-9
        assert birthday_probability(k, days) == pytest.approx(approx, rel=1e-7)


@given(st.integers(0, 3000), st.floats(50, 1e6))
def test_birthday_probability_is_monotone(k: int, days: float) -> None:
    p = birthday_probability(k, days)
    assert 0 <= p <= 1
    assert birthday_probability(k + 1, days) >= p
    assert birthday_probability(k, days * 1.5) <= p + 1e-15


def test_birthday_bad_input() -> None:
    with pytest.raises(InputError):
        birthday_probability(-1, 365)
    with pytest.raises(InputError):
        birthday_probability(3, 0)
    with pytest.raises(InputError):
        birthday_crowd(1.0, 365)


# --- exact expectations on hand-made lists ---------------------------------------------------


def test_three_john_smiths_exact() -> None:
    voters = roll(
        [("JOHN", "SMITH", "2000-01-01")] * 2
        + [("JOHN", "SMITH", "2000-01-03"), ("JANE", "DOE", "2000-01-02")]
        + [("JANE", "DOE", "2000-01-02"), ("ANN", "LEE", "2000-01-01")]
    )
    estimate = expected_chance_pairs(voters, NAIVE, dob_distribution=table(THREE_DAYS, P_HALF))
    mean, variance = brute_force([3, 2], P_HALF)
    # 3 JOHN SMITHs: 3 pairs x 3/8; 2 JANE DOEs: 1 pair x 3/8; variance with s3 = 5/32.
    assert estimate.expected == pytest.approx(12 / 8) == pytest.approx(mean)
    assert estimate.variance == pytest.approx(66 / 64) == pytest.approx(variance)
    assert estimate.observed == 2  # one JOHN SMITH pair and the JANE DOE pair share a date
    assert (estimate.name_pairs, estimate.distinct_groups, estimate.records) == (4, 2, 6)
    assert estimate.dob_collision_probability == pytest.approx(3 / 8)
    assert (estimate.low, estimate.high) == (0, 4)  # under-dispersed: normal, 1.5 ± 1.96·1.016
    assert estimate.interval_method == "normal"


def test_cross_list_exact() -> None:
    left = roll([("JOHN", "SMITH", "2000-01-01")] * 2 + [("ANN", "LEE", "2000-01-02")])
    right = roll([("JOHN", "SMITH", "2000-01-01")] * 3 + [("BOB", "LEE", "2000-01-02")])
    q = [0.2, 0.2, 0.6]
    estimate = expected_chance_pairs(
        left,
        NAIVE,
        other=right,
        dob_distribution=table(THREE_DAYS, P_HALF),
        other_dob_distribution=table(THREE_DAYS, q),
    )
    c = sum(a * b for a, b in zip(P_HALF, q, strict=True))  # 0.3
    assert estimate.expected == pytest.approx(2 * 3 * c)
    # enumerate: left draws from p, right from q (product distribution over 3^5 draws)
    moments = np.zeros(3)
    for draw in itertools.product(range(3), repeat=5):
        weight = P_HALF[draw[0]] * P_HALF[draw[1]] * math.prod(q[d] for d in draw[2:])
        count = sum(a == b for a in draw[:2] for b in draw[2:])
        moments += weight * np.array([1, count, count**2])
    assert moments[1] == pytest.approx(estimate.expected)
    assert estimate.variance == pytest.approx(moments[2] - moments[1] ** 2)
    assert (estimate.observed, estimate.name_pairs, estimate.distinct_groups) == (6, 6, 1)
    assert observed_rule_pairs(left, NAIVE, right) == 6
    assert observed_rule_pairs(left, ("last_name", "dob"), right) == 7


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # two years, each day of each year equally likely: P(same year) = 1/2
        (("first_name", "last_name", "birth_year"), 3 * 0.5),
        (("first_name", "last_name", "birth_month_day"), 3 * 0.5),
        (("first_name", "last_name", "birth_month"), 3 * 1.0),
        (("first_name", "last_name", "dob"), 3 * 0.25),
        (("last_name", "dob"), 6 * 0.25),  # JOHN x3 and JOE SMITH: C(4,2) pairs
        (("dob",), 6 * 0.25),  # no name field: the whole list is one group
    ],
)
def test_rules_on_date_parts(rule: tuple[str, ...], expected: float) -> None:
    dist = table(["1990-01-01", "1990-01-02", "1991-01-01", "1991-01-02"], [0.25] * 4)
    voters = roll([("JOHN", "SMITH", "1990-01-01")] * 3 + [("JOE", "SMITH", "1991-01-02")])
    assert expected_chance_pairs(voters, rule, dob_distribution=dist).expected == pytest.approx(
        expected
    )


def test_rule_without_a_date_is_a_plain_count() -> None:
    voters = roll([("JOHN", "SMITH", None)] * 3 + [("JOE", "SMITH", "1991-01-02")])
    estimate = expected_chance_pairs(voters, ("first_name", "last_name"))
    assert estimate.expected == estimate.observed == estimate.name_pairs == 3
    assert estimate.variance == 0
    assert (estimate.low, estimate.high) == (3, 3)


def test_missing_fields_satisfy_nothing() -> None:
    voters = roll(
        [("JOHN", "SMITH", "1990-01-01")] * 2
        + [("JOHN", "SMITH", None), ("JOHN", "SMITH", ""), (None, "SMITH", "1990-01-01")]  # type: ignore[list-item]
    )
    assert observed_rule_pairs(voters, NAIVE) == 1
    assert observed_rule_pairs(voters, ("last_name", "dob")) == 3
    estimate = expected_chance_pairs(voters, NAIVE)
    assert estimate.records == 2
    assert estimate.name_pairs == 1


def test_person_id_separates_duplicates_from_coincidences() -> None:
    voters = roll(
        [("JOHN", "SMITH", "2000-01-01")] * 3 + [("JOHN", "SMITH", "2000-01-02")],
        person=["a", "a", "b", "c"],  # a is registered twice; b shares a's date by chance
    )
    estimate = expected_chance_pairs(
        voters, NAIVE, dob_distribution=table(THREE_DAYS, P_HALF), person_id="person"
    )
    assert estimate.observed == 3  # record pairs: (a,a), (a,b) twice
    assert estimate.observed_between_people == 1  # people a and b
    assert estimate.name_pairs == 3  # three distinct people
    assert estimate.expected == pytest.approx(3 * 3 / 8)
    other = roll([("JOHN", "SMITH", "2000-01-01")] * 2, person=["a", "d"])
    cross = expected_chance_pairs(voters, NAIVE, other=other, person_id="person")
    assert cross.observed == 6  # 3 matching records x 2
    assert cross.observed_between_people == 3  # (a,d), (b,a), (b,d): not a with a
    assert cross.name_pairs == 6


def test_json_and_excess() -> None:
    voters = roll([("JOHN", "SMITH", "2000-01-01")] * 6)
    estimate = expected_chance_pairs(voters, NAIVE, dob_distribution=table(THREE_DAYS, P_HALF))
    assert estimate.observed == 15
    assert estimate.expected == pytest.approx(15 * 3 / 8)
    point, low, high = estimate.excess
    assert point == pytest.approx(15 - 45 / 8)
    assert low == 15 - estimate.high
    assert high == 15 - estimate.low
    record = estimate.to_json()
    assert record["expected_chance_pairs"] == estimate.expected
    assert record["interval"] == [estimate.low, estimate.high]
    assert record["effective_dob_days"] == pytest.approx(8 / 3)
    assert "coincidences + true duplicates" in record["note"]


# --- the birth-date distribution -------------------------------------------------------------


def test_estimate_year_times_day_of_year() -> None:
    dates = ["1999-01-10", "1999-12-20", "2000-01-10", "2000-02-29", "2000-12-20"]
    got = DobDistribution.estimate(roll([("A", "B", d) for d in dates])).table
    assert got["dob"].cast(pl.String).to_list() == sorted(dates)
    assert got["probability"].to_list() == pytest.approx([0.2] * 5)


def test_estimate_cuts_a_truncated_cohort() -> None:
    # 2002 only has January births (the list's edge): its mass stays on 10 January.
    dates = ["1999-01-10", "1999-12-20", "2001-01-10", "2001-12-20", "2002-01-10"]
    got = DobDistribution.estimate(roll([("A", "B", d) for d in dates])).table
    by_date = dict(zip(got["dob"].cast(pl.String), got["probability"], strict=True))
    assert by_date == pytest.approx(
        {
            "1999-01-10": 6 / 25,
            "1999-12-20": 4 / 25,
            "2001-01-10": 6 / 25,
            "2001-12-20": 4 / 25,
            "2002-01-10": 1 / 5,
        }
    )


def test_empirical_and_uniform() -> None:
    voters = roll([("A", "B", d) for d in ["2000-01-01", "2000-01-01", "2001-05-05"]])
    empirical = DobDistribution.empirical(voters).table
    assert empirical["probability"].to_list() == pytest.approx([2 / 3, 1 / 3])
    uniform = DobDistribution.uniform(date(2000, 1, 1), date(2000, 12, 31)).table
    assert uniform.height == 366
    assert uniform["probability"].sum() == pytest.approx(1)


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        (pl.DataFrame({"dob": ["2000-01-01"], "probability": [0.5]}), "probability"),
        (pl.DataFrame({"dob": ["2000-01-01", "2000-01-01"], "probability": [0.5] * 2}), None),
        (pl.DataFrame({"dob": ["2000-01-01"], "probability": [float("nan")]}), "probability"),
        (pl.DataFrame({"dob": ["2000-01-01"]}), "probability"),
        (pl.DataFrame({"dob": ["01/02/2000"], "probability": [1.0]}), "dob"),
    ],
)
def test_bad_distribution(frame: pl.DataFrame, field: str | None) -> None:
    with pytest.raises(InputError) as error:
        DobDistribution.from_frame(frame)
    assert error.value.field == field


def test_bad_input_names_the_field() -> None:
    voters = roll([("JOHN", "SMITH", "2000-01-01"), ("JOHN", "SMITH", "2000-13-01")])
    with pytest.raises(InputError, match="voter_id 'V1'") as error:
        expected_chance_pairs(voters, NAIVE)
    assert error.value.field == "dob"
    with pytest.raises(InputError) as error:
        observed_rule_pairs(voters, ("first_name", "middle_name"))
    assert error.value.field == "middle_name"
    for rule in [(), ("dob", "dob"), "dob"]:
        with pytest.raises(InputError):
            expected_chance_pairs(voters, rule)
    with pytest.raises(InputError):
        expected_chance_pairs(voters, ("last_name", "dob"), condition_on="first_name")
    with pytest.raises(InputError):
        expected_chance_pairs(voters, NAIVE, confidence=1.0)


# --- seeded simulation: the formula against repeated draws ------------------------------------

EPOCH = date(1970, 1, 1)


def realistic_dob(first: date, last: date, *, older: bool = False) -> DobDistribution:
    """Adult birth dates: cohort sizes with a baby boom, a seasonal day-of-year shape,
    holiday dips, fewer weekend births since 1975; ``older`` tilts towards early years."""
    days = np.arange((first - EPOCH).days, (last - EPOCH).days + 1)
    stamps = days.astype("datetime64[D]")
    years = stamps.astype("datetime64[Y]").astype(int) + 1970
    day_of_year = (stamps - stamps.astype("datetime64[Y]")).astype(int)
    month_day = np.char.add(
        np.char.zfill(((stamps.astype("datetime64[M]").astype(int) % 12) + 1).astype(str), 2),
        np.char.zfill(((stamps - stamps.astype("datetime64[M]")).astype(int) + 1).astype(str), 2),
    )
    weight = np.where(years < 1946, np.exp(-(1946 - years) / 12.0), 1.0)
    weight = weight * np.where((years >= 1946) & (years <= 1964), 1.35, 1.0)
    if older:
        weight = weight * np.exp(-(years - 1920) / 15.0)
    weight = weight * (1 + 0.06 * np.sin(2 * np.pi * (day_of_year - 150) / 365.25))
    weight = weight * np.where(np.isin(month_day, ["0101", "0704", "1224", "1225"]), 0.6, 1.0)
    weekend = (days + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    weight = weight * np.where(weekend & (years >= 1975), 0.8, 1.0)
    probability = weight / weight.sum()
    frame = pl.DataFrame({"dob": pl.Series(stamps).cast(pl.Date), "probability": probability})
    return DobDistribution.from_frame(frame, "realistic test distribution")


def zipf_names(rng: np.random.Generator, n: int, size: int, exponent: float) -> np.ndarray:
    weight = 1.0 / np.arange(1, size + 1) ** exponent
    return rng.choice(size, n, p=weight / weight.sum())


def coincidences(group: np.ndarray, day: np.ndarray) -> int:
    _, count = np.unique(group * 100_000 + day, return_counts=True)
    return int((count * (count - 1) // 2).sum())


def cross_coincidences(a: np.ndarray, b: np.ndarray) -> int:
    keys_a, count_a = np.unique(a, return_counts=True)
    keys_b, count_b = np.unique(b, return_counts=True)
    _, ia, ib = np.intersect1d(keys_a, keys_b, assume_unique=True, return_indices=True)
    return int((count_a[ia] * count_b[ib]).sum())


def covered(estimate_low: int, estimate_high: int, mean: float, variance: float) -> float:
    """The interval's own probability under its distribution (≥ 95 %, discrete)."""
    if variance > mean:
        size, p = mean**2 / (variance - mean), mean / variance
        dist = stats.nbinom(size, p)
    else:
        dist = stats.poisson(mean)
    return float(dist.cdf(estimate_high) - dist.cdf(estimate_low - 1))


def frame_of(first: np.ndarray, last: np.ndarray, dist: DobDistribution) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "first_name": pl.Series(first).cast(pl.String),
            "last_name": pl.Series(last).cast(pl.String),
            "dob": dist.table["dob"].gather(np.zeros(len(first), dtype=np.int64)),
        }
    )


REPS = 200


def test_simulation_within_one_list() -> None:
    rng = np.random.default_rng(20_081_101)
    dist = realistic_dob(date(1925, 1, 1), date(2006, 11, 5))
    p = dist.table["probability"].to_numpy()
    n = 80_000
    first, last = zipf_names(rng, n, 1_000, 1.0), zipf_names(rng, n, 5_000, 1.0)
    estimate = expected_chance_pairs(frame_of(first, last, dist), NAIVE, dob_distribution=dist)
    group = first.astype(np.int64) * 10_000 + last
    counts = np.array([coincidences(group, rng.choice(p.size, n, p=p)) for _ in range(REPS)])
    mean, variance = estimate.expected, estimate.variance
    assert 40 < mean < 150
    assert variance > mean
    assert abs(counts.mean() - mean) < 4 * math.sqrt(variance / REPS)
    assert counts.var(ddof=1) == pytest.approx(variance, rel=0.35)
    inside = np.mean((counts >= estimate.low) & (counts <= estimate.high))
    theory = covered(estimate.low, estimate.high, mean, variance)
    assert 0.95 <= theory < 0.98
    assert abs(inside - theory) < 3.5 * math.sqrt(theory * (1 - theory) / REPS)
    # the default estimate from one drawn list is close to the true collision probability
    frame = frame_of(first, last, dist).with_columns(
        dob=dist.table["dob"].gather(rng.choice(p.size, n, p=p))
    )
    assert observed_rule_pairs(frame, NAIVE) == coincidences(
        group, frame["dob"].cast(pl.Int64).to_numpy() + 30_000
    )
    guess = expected_chance_pairs(frame, NAIVE)
    assert guess.dob_collision_probability == pytest.approx(
        estimate.dob_collision_probability, rel=0.04
    )


def test_simulation_across_two_lists() -> None:
    rng = np.random.default_rng(20_200_456)
    voters = realistic_dob(date(1925, 1, 1), date(2006, 11, 5))
    deaths = realistic_dob(date(1920, 1, 1), date(2006, 11, 5), older=True)
    p, q = voters.table["probability"].to_numpy(), deaths.table["probability"].to_numpy()
    offset = (voters.table["dob"][0] - deaths.table["dob"][0]).days
    n, m = 60_000, 30_000
    first_a, last_a = zipf_names(rng, n, 1_000, 1.0), zipf_names(rng, n, 5_000, 1.0)
    first_b, last_b = zipf_names(rng, m, 1_000, 1.0), zipf_names(rng, m, 5_000, 1.0)
    estimate = expected_chance_pairs(
        frame_of(first_a, last_a, voters),
        NAIVE,
        other=frame_of(first_b, last_b, deaths),
        dob_distribution=voters,
        other_dob_distribution=deaths,
    )
    group_a = (first_a.astype(np.int64) * 10_000 + last_a) * 100_000
    group_b = (first_b.astype(np.int64) * 10_000 + last_b) * 100_000
    counts = np.array(
        [
            cross_coincidences(
                group_a + rng.choice(p.size, n, p=p) + offset, group_b + rng.choice(q.size, m, p=q)
            )
            for _ in range(REPS)
        ]
    )
    mean, variance = estimate.expected, estimate.variance
    assert 20 < mean < 150
    assert abs(counts.mean() - mean) < 4 * math.sqrt(variance / REPS)
    assert counts.var(ddof=1) == pytest.approx(variance, rel=0.35)
    inside = np.mean((counts >= estimate.low) & (counts <= estimate.high))
    theory = covered(estimate.low, estimate.high, mean, variance)
    assert abs(inside - theory) < 3.5 * math.sqrt(theory * (1 - theory) / REPS)


def test_birth_year_rule_is_strongly_over_dispersed() -> None:
    rng = np.random.default_rng(7)
    dist = realistic_dob(date(1925, 1, 1), date(2006, 11, 5))
    years = dist.table.group_by(year=pl.col("dob").dt.year()).agg(pl.col("probability").sum())
    p = years["probability"].to_numpy()
    n = 20_000
    first, last = zipf_names(rng, n, 300, 1.0), zipf_names(rng, n, 2_000, 1.0)
    rule = ("first_name", "last_name", "birth_year")
    estimate = expected_chance_pairs(frame_of(first, last, dist), rule, dob_distribution=dist)
    group = first.astype(np.int64) * 10_000 + last
    counts = np.array([coincidences(group, rng.choice(p.size, n, p=p)) for _ in range(REPS)])
    assert estimate.variance / estimate.expected > 1.2
    assert abs(counts.mean() - estimate.expected) < 4 * math.sqrt(estimate.variance / REPS)
    assert counts.var(ddof=1) == pytest.approx(estimate.variance, rel=0.35)
    inside = np.mean((counts >= estimate.low) & (counts <= estimate.high))
    assert 0.9 <= inside <= 0.99
    assert estimate.interval_method.startswith("negative binomial")


def test_first_names_that_date_people() -> None:
    # Each first name is popular in its own era: same-name people share birth years more
    # often than the list as a whole, and ignoring that understates coincidences.
    rng = np.random.default_rng(2020)
    dist = realistic_dob(date(1925, 1, 1), date(2006, 11, 5))
    table_ = dist.table.with_columns(year=pl.col("dob").dt.year())
    first_year, last_year = int(table_["year"].min()), int(table_["year"].max())  # type: ignore[arg-type]
    n, names = 40_000, 400
    first, last = zipf_names(rng, n, names, 1.0), zipf_names(rng, n, 3_000, 1.0)
    peak = rng.integers(first_year, last_year + 1, names)
    truth, observed, plain, conditioned = 0.0, [], [], []
    within = table_.with_columns(w=pl.col("probability") / pl.col("probability").sum().over("year"))
    year_index = (within["year"].to_numpy() - first_year).astype(np.int64)
    w = within["w"].to_numpy()
    s2_year = np.bincount(year_index, weights=w**2)  # Σ within-year share² per year
    spread = np.arange(first_year, last_year + 1)
    p_year = np.exp(-0.5 * ((spread[None, :] - peak[:, None]) / 8.0) ** 2)
    p_year /= p_year.sum(axis=1, keepdims=True)
    group = first.astype(np.int64) * 10_000 + last
    _, inverse, sizes = np.unique(group, return_inverse=True, return_counts=True)
    name_of_group = np.zeros(sizes.size, dtype=np.int64)
    name_of_group[inverse] = first
    truth = float((sizes * (sizes - 1) / 2 * (p_year[name_of_group] ** 2 @ s2_year)).sum())
    for _ in range(12):
        year = np.array([rng.choice(spread, p=p_year[f]) for f in range(names)], dtype=object)
        drawn_year = np.empty(n, dtype=np.int64)
        for f in range(names):
            members = np.flatnonzero(first == f)
            drawn_year[members] = rng.choice(spread, members.size, p=p_year[f])
        del year
        offsets = np.searchsorted(year_index, drawn_year - first_year)
        ends = np.searchsorted(year_index, drawn_year - first_year, side="right")
        day = offsets + (rng.random(n) * 0).astype(np.int64)
        cum = np.cumsum(w)
        start_mass = np.where(offsets > 0, cum[offsets - 1], 0.0)
        day = np.searchsorted(cum, start_mass + rng.random(n) * (cum[ends - 1] - start_mass))
        day = np.minimum(day, ends - 1)
        frame = frame_of(first, last, dist).with_columns(dob=within["dob"].gather(day))
        observed.append(coincidences(group, day))
        plain.append(expected_chance_pairs(frame, NAIVE).expected)
        conditioned.append(expected_chance_pairs(frame, NAIVE, condition_on="first_name").expected)
    assert np.mean(observed) == pytest.approx(truth, rel=0.1)
    assert np.mean(conditioned) == pytest.approx(truth, rel=0.05)
    assert np.mean(plain) < 0.6 * truth


# --- Σ(1 − p) over flagged pairs -------------------------------------------------------------


def recursion_pmf(rates: np.ndarray) -> np.ndarray:
    pmf = np.array([1.0])
    for q in rates:
        pmf = np.concatenate([pmf * (1 - q), [0.0]]) + np.concatenate([[0.0], pmf * q])
    return pmf


@given(st.lists(st.floats(0, 1), max_size=9))
def test_poisson_binomial_matches_enumeration(rates: list[float]) -> None:
    exact = np.zeros(len(rates) + 1)
    for outcome in itertools.product([0, 1], repeat=len(rates)):
        exact[sum(outcome)] += math.prod(
            q if o else 1 - q for q, o in zip(rates, outcome, strict=True)
        )
    assert poisson_binomial_pmf(rates) == pytest.approx(exact, abs=1e-12)


def test_poisson_binomial_matches_recursion_at_scale() -> None:
    rates = np.random.default_rng(3).beta(0.5, 8, 2_001)
    rates[:5] = [0.0, 1.0, 1.0, 0.0, 0.5]
    got = poisson_binomial_pmf(rates)
    assert got.size == 2_002
    assert np.max(np.abs(got - recursion_pmf(rates))) < 1e-13
    assert got[0] == 0.0
    assert got[1] == 0.0


def test_expected_false_matches_and_interval() -> None:
    probabilities = [0.9, 0.99, 1.0, 0.5, 0.999]
    assert expected_false_matches(probabilities) == pytest.approx(0.611)
    estimate = false_match_estimate(probabilities)
    assert estimate.expected == pytest.approx(0.611)
    assert estimate.variance == pytest.approx(0.09 + 0.0099 + 0.25 + 0.000999)
    assert (estimate.low, estimate.high) == (0, 2)
    assert estimate.method == "exact Poisson-binomial"
    record = estimate.to_json()
    assert record["interval"] == [0, 2]
    assert record["pairs"] == 5


def test_false_match_interval_exact_and_normal() -> None:
    p = np.random.default_rng(11).uniform(0.8, 1.0, 50_000)
    exact = false_match_estimate(p)
    cdf = np.cumsum(poisson_binomial_pmf(1 - p))
    assert cdf[exact.low - 1] < 0.025 <= cdf[exact.low]
    assert cdf[exact.high - 1] < 0.975 <= cdf[exact.high]
    normal = false_match_estimate(p, exact_limit=0)
    assert normal.method.startswith("normal")
    assert abs(normal.low - exact.low) <= 2
    assert abs(normal.high - exact.high) <= 2
    assert exact.expected == pytest.approx(np.sum(1 - p))


@pytest.mark.parametrize("bad", [[0.5, 1.2], [float("nan")], [-0.1]])
def test_false_matches_reject_bad_probabilities(bad: list[float]) -> None:
    with pytest.raises(InputError) as error:
        expected_false_matches(bad)
    assert error.value.field == "match_probability"
