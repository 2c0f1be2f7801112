"""The simulated voter roll: determinism, rates, look-alikes, duplicates, deaths, realism."""

from __future__ import annotations

import json
import math
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from faker.providers.person.en_US import Provider as FakerPerson
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyguard.errors import InputError
from tallyguard.simulate import roll_names as rn
from tallyguard.simulate.roll import (
    DEATH_COLUMNS,
    FILES,
    MALE_SHARE_OF_NAME_CHANGES,
    VOTER_COLUMNS,
    RollConfig,
    SimulatedRoll,
    parse_roll_config,
    simulate_roll,
    write_roll,
)

TIMING: dict[str, float] = {}


@pytest.fixture(scope="module")
def roll() -> SimulatedRoll:
    """The default roll: 100,000 records, seed "1" (timed for the report)."""
    start = time.perf_counter()
    result = simulate_roll(RollConfig())
    TIMING["100k"] = time.perf_counter() - start
    return result


def osa(a: str, b: str) -> int:
    """Optimal-string-alignment (restricted Damerau-Levenshtein) distance."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def within_binomial(count: int, n: int, p: float, sds: float = 4.0) -> bool:
    return abs(count - n * p) <= sds * math.sqrt(n * p * (1 - p)) + 1


def records(roll: SimulatedRoll) -> pl.DataFrame:
    return roll.voters.join(roll.truth, on="voter_id")


def pair_rows(roll: SimulatedRoll, kind: str) -> pl.DataFrame:
    """Pairs of one kind with both voter records side by side (suffixes _l and _r)."""
    full = records(roll)
    left = full.select(pl.all().name.suffix("_l"))
    right = full.select(pl.all().name.suffix("_r"))
    chosen = roll.pairs.filter(pl.col("kind") == kind)
    return chosen.join(left, left_on="id_l", right_on="voter_id_l").join(
        right, left_on="id_r", right_on="voter_id_r"
    )


def test_same_seed_same_roll_and_other_seed_another() -> None:
    a, b = (
        simulate_roll(RollConfig(seed="x", records=3000)),
        simulate_roll(RollConfig(seed="x", records=3000)),
    )
    for name in ("voters", "deaths", "truth", "pairs", "death_truth"):
        assert getattr(a, name).equals(getattr(b, name)), name
    c = simulate_roll(RollConfig(seed="y", records=3000))
    assert not a.voters.equals(c.voters)
    assert not a.deaths.equals(c.deaths)


def test_columns_formats_and_sizes(roll: SimulatedRoll) -> None:
    voters, deaths = roll.voters, roll.deaths
    assert tuple(voters.columns) == VOTER_COLUMNS
    assert tuple(deaths.columns) == DEATH_COLUMNS
    assert voters.height == 100_000
    assert voters["voter_id"].n_unique() == voters.height
    assert deaths["record_id"].n_unique() == deaths.height
    assert voters["voter_id"].to_list() == sorted(voters["voter_id"].to_list())
    for column in ("dob", "registration_date"):
        assert voters[column].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    assert deaths["dob"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    assert set(voters["sex"].unique()) == {"F", "M"}
    assert set(voters["suffix"].unique()) == {"", "JR", "SR", "II", "III"}
    assert voters["zip"].str.contains(r"^\d{5}$").all()
    assert voters["address"].str.contains(r"^\d+ [A-Z0-9]+ [A-Z]+( APT \d+)?$").all()
    assert voters.select(pl.col(c).null_count() for c in VOTER_COLUMNS).sum_horizontal()[0] == 0
    truth = roll.truth
    assert truth["voter_id"].equals(voters["voter_id"])
    assert roll.person_id.n_unique() == (truth["registration"] == "original").sum()
    # every person lives at one address, and one household is at one address
    originals = records(roll).filter(pl.col("registration") == "original")
    by_home = originals.group_by("household_id").agg(pl.col("address", "city").n_unique())
    assert (by_home["address"] == 1).all()
    assert (by_home["city"] == 1).all()
    assert originals.select("address", "city").n_unique() == originals["household_id"].n_unique()


def test_counts_and_rates_within_binomial_tolerance(roll: SimulatedRoll) -> None:
    config, truth = roll.config, roll.truth
    n_total = config.records
    q = config.duplicate_rate / (1 + config.duplicate_rate)
    duplicates = truth.filter(pl.col("registration") == "duplicate")
    assert within_binomial(duplicates.height, n_total, q)
    people = n_total - duplicates.height
    assert len(roll.pairs_of("duplicate")) == duplicates.height
    assert within_binomial(len(roll.pairs_of("twin")), people // 2, config.twin_rate)
    assert within_binomial(len(roll.pairs_of("jr_sr")), people // 2, config.jr_sr_rate)
    dead = truth.filter(pl.col("deceased"))["person_id"].n_unique()
    assert within_binomial(dead, people, config.death_rate)
    strangers = int((roll.death_truth["person_id"] == "").sum())
    assert within_binomial(strangers, n_total, config.nonregistrant_death_rate)
    assert roll.deaths.height == dead + strangers

    d = duplicates.height
    causes = duplicates["cause"].value_counts()
    count = dict(zip(causes["cause"], causes["count"], strict=True))
    assert within_binomial(count["moved"], d, config.move_rate)
    assert within_binomial(count["name_change"], d, config.name_change_rate)
    flags = duplicates["variations"].str.split(";").explode().value_counts()
    seen = dict(zip(flags["variations"], flags["count"], strict=True))
    assert within_binomial(seen["typo_first"], d, config.typo_rate)
    assert within_binomial(seen["typo_last"], d, config.typo_rate)
    assert seen["surname_changed"] == count["name_change"]
    # only names with a nickname in the table can get one: at most the rate, most of it
    assert 0.6 * d * config.nickname_rate < seen["nickname"] <= d * config.nickname_rate * 1.2
    assert 0 < seen["dob_day_month_swapped"] < d * config.dob_swap_rate  # needs day <= 12


def test_twins_share_birth_surname_and_address_but_not_first_name(roll: SimulatedRoll) -> None:
    twins = pair_rows(roll, "twin")
    assert twins.height > 300
    for field in ("dob", "last_name", "address", "city", "zip", "household_id"):
        assert (twins[f"{field}_l"] == twins[f"{field}_r"]).all(), field
    assert (twins["first_name_l"] != twins["first_name_r"]).all()
    assert (twins["person_id_l"] != twins["person_id_r"]).all()
    same_initial = (twins["first_name_l"].str.head(1) == twins["first_name_r"].str.head(1)).mean()
    assert isinstance(same_initial, float)
    assert roll.config.twin_similar_rate <= same_initial < roll.config.twin_similar_rate + 0.15


def test_jr_sr_share_full_name_and_address_a_generation_apart(roll: SimulatedRoll) -> None:
    pairs = pair_rows(roll, "jr_sr")
    assert pairs.height > 400
    for field in ("first_name", "middle_name", "last_name", "address", "city"):
        assert (pairs[f"{field}_l"] == pairs[f"{field}_r"]).all(), field
    apart = pairs.select(
        (pl.col("dob_l").str.to_date() - pl.col("dob_r").str.to_date()).dt.total_days().abs()
    ).to_series()
    assert apart.cast(pl.Int64).min() >= 20 * 365  # type: ignore[operator]
    assert apart.cast(pl.Int64).max() <= 41 * 366  # type: ignore[operator]
    suffixes = pairs.select(pl.concat_list("suffix_l", "suffix_r").list.sort()).to_series()
    kinds = suffixes.to_list()
    assert all(pair in (["JR", "SR"], ["", "JR"], ["", "SR"]) for pair in kinds)
    missing = sum("" in pair for pair in kinds)
    assert within_binomial(missing, pairs.height, roll.config.suffix_missing_rate)
    older_is_sr = pairs.filter((pl.col("suffix_l") != "") & (pl.col("suffix_r") != "")).select(
        (pl.col("dob_l") < pl.col("dob_r")) == (pl.col("suffix_l") == "SR")
    )
    assert older_is_sr.to_series().all()


def test_name_changes_are_mostly_women(roll: SimulatedRoll) -> None:
    """Surname changes at marriage: about 5 in 84 are men's (Pew Research Center 2023)."""
    changed = records(roll).filter(pl.col("cause") == "name_change")
    men = int((changed["sex"] == "M").sum())
    assert within_binomial(men, changed.height, MALE_SHARE_OF_NAME_CHANGES)
    assert men < 0.12 * changed.height
    maiden = changed.filter(pl.col("variations").str.contains("maiden_name_as_middle"))
    assert (maiden["sex"] == "F").all()
    assert 0.3 * changed.height < maiden.height < 0.6 * changed.height


def test_household_members_have_distinct_first_names(roll: SimulatedRoll) -> None:
    """Only a JR shares his first name with someone at home (his father, the SR)."""
    originals = records(roll).filter(pl.col("registration") == "original")
    shared = originals.filter(pl.len().over("household_id", "first_name") > 1)
    assert set(shared["role"].unique()) <= {"sr", "jr"}
    assert shared.height == 2 * len(roll.pairs_of("jr_sr"))


def test_twins_are_not_named_by_nickname_forms_of_one_name(roll: SimulatedRoll) -> None:
    twins = pair_rows(roll, "twin")
    for a, b in zip(twins["first_name_l"], twins["first_name_r"], strict=True):
        assert b not in rn.related_names(a), (a, b)


def _swapped(day: str) -> str:
    y, m, d = day.split("-")
    return f"{y}-{d}-{m}"


def test_duplicates_are_the_same_person_with_their_recorded_variations(
    roll: SimulatedRoll,
) -> None:
    full = records(roll)
    original = full.filter(pl.col("registration") == "original")
    second = full.filter(pl.col("registration") == "duplicate")
    rows = second.join(original, on="person_id", suffix="_o").to_dicts()
    assert len(rows) == second.height  # every second record has its first registration
    checked = 0
    for r in rows:
        v = set(r["variations"].split(";")) - {""}
        if "nickname" in v and "typo_first" not in v:
            assert r["first_name"] in rn.nicknames_of(r["first_name_o"])
        elif "typo_first" in v and "nickname" not in v:
            assert osa(r["first_name"], r["first_name_o"]) == 1
        elif not v & {"nickname", "typo_first"}:
            assert r["first_name"] == r["first_name_o"]
        if "typo_last" in v and "surname_changed" not in v:
            assert osa(r["last_name"], r["last_name_o"]) == 1
        elif "surname_changed" in v:
            assert r["last_name"] != r["last_name_o"]
            assert r["cause"] == "name_change"
        else:
            assert r["last_name"] == r["last_name_o"]
        if "maiden_name_as_middle" in v:
            assert r["middle_name"] == r["last_name_o"]
            assert r["sex"] == "F"
        elif "middle_dropped" in v:
            assert r["middle_name"] == "" != r["middle_name_o"]
        else:
            assert r["middle_name"] == r["middle_name_o"]
        want = "" if "suffix_dropped" in v else r["suffix_o"]
        assert r["suffix"] == want
        assert r["suffix_o"] != "" or "suffix_dropped" not in v
        assert r["dob"] == (_swapped(r["dob_o"]) if "dob_day_month_swapped" in v else r["dob_o"])
        assert r["dob"] != r["dob_o"] or "dob_day_month_swapped" not in v
        assert r["registration_date"] >= r["registration_date_o"]
        home = (r["address"], r["city"]) == (r["address_o"], r["city_o"])
        if r["cause"] == "moved":
            assert not home
        elif r["cause"] == "clerical":
            days = date.fromisoformat(r["registration_date"]) - date.fromisoformat(
                r["registration_date_o"]
            )
            assert home
            assert days <= timedelta(days=30)
        assert r["sex"] == r["sex_o"]
        assert r["household_id"] == r["household_id_o"]
        checked += 1
    assert checked > 1500


def test_death_records_match_their_registrants(roll: SimulatedRoll) -> None:
    config = roll.config
    full = records(roll)
    original = full.filter(pl.col("registration") == "original")
    deaths = roll.deaths.join(roll.death_truth, on="record_id")
    registrants = deaths.filter(pl.col("person_id") != "").join(
        original, on="person_id", suffix="_v"
    )
    assert registrants.height == (deaths["person_id"] != "").sum()
    as_of = config.as_of.isoformat()
    earliest = (config.as_of - timedelta(days=config.death_window_days)).isoformat()
    assert deaths["date_of_death"].is_between(earliest, as_of, closed="left").all()
    for r in registrants.to_dicts():
        v = set(r["variations"].split(";")) - {""}
        assert r["dob"] == (_swapped(r["dob_v"]) if "dob_day_month_swapped" in v else r["dob_v"])
        assert osa(r["first_name"], r["first_name_v"]) == ("typo_first" in v)
        assert osa(r["last_name"], r["last_name_v"]) == ("typo_last" in v)
        if "middle_dropped" in v:
            assert r["middle_name"] == ""
        else:  # the roll shows the full middle name, its initial or nothing
            assert r["middle_name"].startswith(r["middle_name_v"])
    # each death pair joins a deceased registrant's record to the record of its death,
    # after every registration of that person
    deaths_by_id = roll.deaths.join(roll.death_truth, on="record_id")
    joined = roll.pairs.filter(pl.col("kind") == "death").join(
        full, left_on="id_l", right_on="voter_id"
    )
    joined = joined.join(deaths_by_id, left_on="id_r", right_on="record_id", suffix="_d")
    assert (joined["person_id"] == joined["person_id_d"]).all()
    assert joined["deceased"].all()
    assert (joined["date_of_death"] > joined["registration_date"]).all()
    assert joined.height == full.filter(pl.col("deceased")).height


def test_name_frequencies_follow_the_census_weights(roll: SimulatedRoll) -> None:
    people = records(roll).filter(pl.col("registration") == "original")
    n = people.height
    surnames = FakerPerson.last_names
    total = sum(surnames.values())
    # a household shares its surname: the variance grows by about E[m^2]/E[m]
    size = people.group_by("household_id").len()["len"].to_numpy()
    design = float((size**2).mean() / size.mean())
    for name in ("Smith", "Johnson", "Garcia"):
        p = surnames[name] / total
        share = (people["last_name"] == name.upper()).mean()
        assert isinstance(share, float)
        assert abs(share - p) <= 4 * math.sqrt(design * p * (1 - p) / n), name
    women = people.filter(pl.col("sex") == "F")
    weights = FakerPerson.first_names_female
    p = weights["Mary"] / sum(weights.values())
    share = (women["first_name"] == "MARY").mean()
    assert isinstance(share, float)
    assert abs(share - p) <= 4 * math.sqrt(p * (1 - p) / women.height)


def test_adult_ages_thin_out_after_seventy(roll: SimulatedRoll) -> None:
    people = records(roll).filter(pl.col("registration") == "original")
    as_of = roll.config.as_of
    assert str(people["dob"].min()) > as_of.replace(year=as_of.year - 101).isoformat()
    assert str(people["dob"].max()) <= as_of.replace(year=as_of.year - 18).isoformat()
    age = people.select(
        (pl.lit(as_of) - pl.col("dob").str.to_date()).dt.total_days() / 365.2425
    ).to_series()
    per_year = np.histogram(age.to_numpy(), bins=[20, 70, 90, 101])[0] / [50, 20, 11]
    assert per_year[0] > 1.5 * per_year[1] > 0
    assert per_year[0] > 8 * per_year[2] > 0


def coincidences(roll: SimulatedRoll) -> tuple[float, float, int]:
    """Chance same-first-last-DOB pairs among distinct people: expected (naive, unbiased), seen.

    Expected = sum over names of C(n, 2) times the chance that two people share a
    birth date; the naive estimate sum_d p_d^2 counts each person with itself
    (bias ~1/N), the unbiased one is sum_d c_d (c_d - 1) / (N (N - 1)).
    """
    people = records(roll).filter(pl.col("registration") == "original")
    n = people.group_by("first_name", "last_name").len()["len"].to_numpy().astype(float)
    name_pairs = float((n * (n - 1) / 2).sum())
    c = people["dob"].value_counts()["count"].to_numpy().astype(float)
    size = people.height
    naive = name_pairs * float(((c / size) ** 2).sum())
    unbiased = name_pairs * float((c * (c - 1)).sum()) / (size * (size - 1))
    groups = people.group_by("first_name", "last_name", "dob").agg(pl.col("person_id").n_unique())
    k = groups["person_id"].to_numpy()
    return naive, unbiased, int((k * (k - 1) // 2).sum())


def test_chance_name_and_birthday_matches_follow_the_birthday_problem(
    roll: SimulatedRoll,
) -> None:
    results = [coincidences(roll)]
    results += [coincidences(simulate_roll(RollConfig(seed=s))) for s in ("2", "3", "4")]
    naive, unbiased, seen = (sum(col) for col in zip(*results, strict=True))
    print(f"\nchance same-name-and-DOB pairs in 4 rolls of 100k: {results}")
    print(f"expected naive {naive:.2f}, unbiased {unbiased:.2f}, observed {seen}")
    assert 1 < naive / unbiased < 1.4  # sum p_d^2 over-states by roughly N / (N sum p_d^2)
    assert all(1 < u < 10 for _, u, _ in results)  # small at 100k records
    assert abs(seen - unbiased) <= 4 * math.sqrt(unbiased)
    assert unbiased / 2 <= max(seen, 1) <= 2 * unbiased


def test_write_roll_round_trips(tmp_path: Path) -> None:
    roll = simulate_roll(RollConfig(seed="w", records=2000))
    written = write_roll(roll, tmp_path / "roll")
    assert [p.relative_to(tmp_path / "roll").as_posix() for p in written] == list(FILES)
    read = pl.read_csv(tmp_path / "roll" / "voters.csv", infer_schema=False).fill_null("")
    assert read.equals(roll.voters)
    deaths = pl.read_csv(tmp_path / "roll" / "deaths.csv", infer_schema=False).fill_null("")
    assert deaths.equals(roll.deaths)
    pairs = pl.read_csv(tmp_path / "roll" / "truth" / "pairs.csv", infer_schema=False)
    assert pairs.height == roll.pairs.height
    assert set(pl.read_csv(tmp_path / "roll" / "truth" / "voters.csv").columns) >= {
        "voter_id", "person_id", "look_alike",
    }  # fmt: skip
    config = json.loads((tmp_path / "roll" / "truth" / "config.json").read_text())
    assert simulate_roll(parse_roll_config(config)).voters.equals(roll.voters)
    assert not list((tmp_path / "roll").rglob("*.partial"))


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"records": 10}, "records"),
        ({"duplicate_rate": 0.9}, "duplicate_rate"),
        ({"colour": "blue"}, "colour"),
        ({"move_rate": 0.9, "name_change_rate": 0.2}, None),
    ],
)
def test_bad_parameters_are_input_errors(raw: dict[str, object], field: str | None) -> None:
    with pytest.raises(InputError) as caught:
        parse_roll_config(raw, source="roll.json")
    assert caught.value.file == "roll.json"
    assert caught.value.field == field


@given(
    word=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12),
    seed=st.integers(0, 2**32),
)
def test_a_typo_is_one_edit(word: str, seed: int) -> None:
    edited = rn.one_edit(np.array([word, word], dtype=rn.NAME), np.random.default_rng(seed))
    assert all(osa(word, str(e)) == 1 for e in edited)


@given(day=st.integers(-25_000, 25_000))
def test_day_month_swap_is_an_involution_on_valid_dates(day: int) -> None:
    once, ok = rn.swap_day_month(np.array([day], dtype=np.int64))
    twice, _ = rn.swap_day_month(once)
    original = date(1970, 1, 1) + timedelta(days=day)
    if ok[0]:
        swapped = date(1970, 1, 1) + timedelta(days=int(once[0]))
        assert (swapped.year, swapped.month, swapped.day) == (
            original.year, original.day, original.month,
        )  # fmt: skip
        assert twice[0] == day
    else:
        assert once[0] == day
        assert original.day > 12 or original.day == original.month


@settings(max_examples=15)
@given(
    records_=st.integers(100, 4000),
    seed=st.text(min_size=1, max_size=8),
    twin=st.floats(0, 0.2),
    jr=st.floats(0, 0.2),
    dup=st.floats(0, 0.5),
)
def test_small_rolls_keep_their_invariants(
    records_: int, seed: str, twin: float, jr: float, dup: float
) -> None:
    config = RollConfig(
        seed=seed, records=records_, twin_rate=twin, jr_sr_rate=jr, duplicate_rate=dup
    )
    roll = simulate_roll(config)
    assert roll.voters.height == records_
    assert roll.voters["voter_id"].n_unique() == records_
    for kind, same in (("twin", "dob"), ("jr_sr", "first_name")):
        rows = pair_rows(roll, kind)
        assert (rows[f"{same}_l"] == rows[f"{same}_r"]).all()
        assert (rows["address_l"] == rows["address_r"]).all()
        assert (rows["person_id_l"] != rows["person_id_r"]).all()
    dups = pair_rows(roll, "duplicate")
    assert (dups["person_id_l"] == dups["person_id_r"]).all()
    assert dups.height == (roll.truth["registration"] == "duplicate").sum()


def test_timing_of_100k_records(roll: SimulatedRoll) -> None:
    """Reported, not asserted: the time to draw the default 100,000-record roll."""
    print(f"\nsimulate_roll(100,000 records): {TIMING.get('100k', float('nan')):.2f} s")
    assert roll.voters.height == 100_000
