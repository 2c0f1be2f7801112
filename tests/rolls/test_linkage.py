"""link() on small hand-made rolls: leads, exclusions, input errors, and the refit of λ."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from tallyguard.errors import InputError
from tallyguard.rolls.exclusions import (
    DEFAULT_RULES,
    apply_exclusions,
    distant_birth_years,
    household_member,
    same_dob_different_first_name,
    suffix_conflict,
)
from tallyguard.rolls.linkage import LinkageResult, TrainingPlan, link, match_prior, prepare_roll
from tallyguard.simulate.roll import RollConfig, simulate_roll

COLUMNS = ("voter_id", "first_name", "middle_name", "last_name", "suffix", "dob", "sex",
           "address", "city", "zip")  # fmt: skip

#: Hand-made families, with surnames absent from the census table behind the background.
FAMILIES = [
    # a father and son of one full name at one address
    ("X001", "WALTER", "QUINCE", "ZABROWSKI", "SR", "1950-03-02", "M", "12 ORCHID LN"),
    ("X002", "WALTER", "QUINCE", "ZABROWSKI", "JR", "1978-07-19", "M", "12 ORCHID LN"),
    # twin sisters with similar first names
    ("X003", "KAYLA", "ROSE", "VANTERPOOL", None, "1990-05-05", "F", "40 ELM CT"),
    ("X004", "KAYLEE", "MAE", "VANTERPOOL", None, "1990-05-05", "F", "40 ELM CT"),
    # one man registered twice, after a move
    ("X005", "TOBIAS", "JAMES", "FENWICKE", None, "1985-11-23", "M", "7 BIRCH RD"),
    ("X006", "TOBIAS", "JAMES", "FENWICKE", None, "1985-11-23", "M", "310 HILL ST APT 4"),
]


def hand_rows() -> pl.DataFrame:
    rows = [(*row, "SPRINGTOWN", "27001") for row in FAMILIES]
    return pl.DataFrame(rows, schema=list(COLUMNS), orient="row")


def background(records: int = 3000) -> pl.DataFrame:
    """A simulated roll for the model to learn from, empty strings read as missing."""
    voters = simulate_roll(RollConfig(records=records, seed="linkage-unit")).voters
    return voters.select([pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in COLUMNS])


@pytest.fixture(scope="module")
def result() -> LinkageResult:
    frame = pl.concat([background(), hand_rows()])
    return link(frame, None, mode="dedupe", seed=3)


def pair(frame: pl.DataFrame, a: str, b: str) -> pl.DataFrame:
    return frame.filter(
        ((pl.col("id_l") == a) & (pl.col("id_r") == b))
        | ((pl.col("id_l") == b) & (pl.col("id_r") == a))
    )


def test_a_moved_duplicate_is_a_lead(result: LinkageResult) -> None:
    lead = pair(result.leads, "X005", "X006")
    assert lead.height == 1
    assert lead["match_probability"][0] > 0.99
    assert lead["gamma_first_name"][0] == 6  # exact match, the top of seven levels
    assert lead["gamma_last_name"][0] == 6  # exact match, the top of seven levels
    assert result.clusters is not None
    clusters = result.clusters.filter(pl.col("voter_id").is_in(["X005", "X006"]))
    assert clusters["cluster_id"].n_unique() == 1


def test_look_alikes_are_never_leads(result: LinkageResult) -> None:
    assert pair(result.leads, "X001", "X002").height == 0
    assert pair(result.leads, "X003", "X004").height == 0
    twins = pair(result.pairs, "X003", "X004")
    if twins.height:  # similar names, one birth date, one address: scored, then set aside
        assert twins["exclusion"][0] == "same_dob_different_first_name"
        assert "KAYLA" in twins["exclusion_reason"][0]


def test_result_shape(result: LinkageResult) -> None:
    pairs = result.pairs
    assert pairs.columns[:4] == ["id_l", "id_r", "match_probability", "match_weight"]
    assert pairs.columns[-3:] == ["match_key", "exclusion", "exclusion_reason"]
    for name in result.comparisons:
        assert f"gamma_{name}" in pairs.columns
        assert f"mw_{name}" in pairs.columns
    assert set(result.comparisons) >= {"first_name", "last_name", "dob", "residence", "sex"}
    assert (pairs["match_probability"] >= result.threshold).all()
    assert (pairs["id_l"] < pairs["id_r"]).all()  # dedupe pairs are listed once
    assert result.leads.height + result.excluded.height == pairs.height
    assert result.n_left == result.n_right == 3006
    lam = result.model["probability_two_random_records_match"]
    assert 0 < lam < 1e-2
    labels = result.level_labels()
    assert labels["last_name"][4] == "Surname is the other record's middle name"
    assert labels["last_name"][1] == "Surnames differ, both records of men"


def test_exclusion_rules_on_hand_made_pairs() -> None:
    roll = prepare_roll(hand_rows(), "left")
    pairs = pl.DataFrame({"id_l": ["X001", "X003", "X005", "X003"],
                          "id_r": ["X002", "X004", "X006", "X005"]})  # fmt: skip
    out = apply_exclusions(pairs, roll, roll)
    assert out["exclusion"].to_list() == [
        "suffix_conflict",
        "same_dob_different_first_name",
        None,
        "conflicting_birth_dates",
    ]
    assert out["exclusion_reason"][0] == "suffix SR vs JR: different generations"
    assert (
        out["exclusion_reason"][3]
        == "born 1990-05-05 and 1985-11-23: not one recording error apart"
    )
    # each rule alone, in the order of DEFAULT_RULES
    rules = (suffix_conflict(), same_dob_different_first_name(), household_member())
    alone = [apply_exclusions(pairs, roll, roll, [r])["exclusion"].to_list() for r in rules]
    assert alone[0] == ["suffix_conflict", None, None, None]
    assert alone[1] == [None, "same_dob_different_first_name", None, None]
    assert alone[2] == ["household_member", "household_member", None, None]
    assert [r.name for r in DEFAULT_RULES] == [
        "suffix_conflict",
        "distant_birth_years",
        "same_dob_different_first_name",
        "household_member",
        "conflicting_birth_dates",
    ]


def test_household_member_spares_typos_and_swapped_dates() -> None:
    rows = [
        ("A1", "ANNA", "LUND", "1970-03-04", "5 OAK ST"),
        ("A2", "ANNA", "LUND", "1970-04-03", "5 OAK ST"),  # day and month swapped
        ("A3", "ANA", "LUND", "1970-03-05", "5 OAK ST"),  # two typing errors
        ("A4", "ERIK", "LUND", "1968-11-20", "5 OAK ST"),  # her husband
        ("A5", "ANNA", "LUND", "1968-11-20", "9 ELM ST"),  # another home
        ("A6", "JOSE", "LUND", "1970-04-03", "5 OAK ST"),  # a brother, born on a swapped date
    ]
    roll = pl.DataFrame(
        rows, schema=["voter_id", "first_name", "last_name", "dob", "address"], orient="row"
    )
    pairs = pl.DataFrame(
        {"id_l": ["A1", "A1", "A1", "A4", "A1"], "id_r": ["A2", "A3", "A4", "A5", "A6"]}
    )
    out = apply_exclusions(pairs, roll, roll, [household_member()])
    assert out["exclusion"].to_list() == [None, None, "household_member", None, "household_member"]
    assert out["exclusion_reason"][2] == (
        "both at 5 OAK ST: ANNA born 1970-03-04 and ERIK born 1968-11-20, "
        "likely members of one household"
    )


def test_father_and_son_born_on_one_day_of_the_year_are_not_a_typo() -> None:
    roll = pl.DataFrame(
        {
            "voter_id": ["F1", "F2", "F3", "F4"],
            "first_name": ["JUSTIN"] * 4,
            "suffix": ["JR", None, None, None],
            "dob": ["1974-08-25", "1944-08-25", "1974-08-25", "1944-08-25"],
            "birth_year": [1974, 1944, 1974, 1944],
        }
    )
    pairs = pl.DataFrame({"id_l": ["F1", "F3"], "id_r": ["F2", "F4"]})
    out = apply_exclusions(pairs, roll, roll, [distant_birth_years()])
    # one digit apart: a typo for two unsuffixed records, a father and son otherwise
    assert out["exclusion"].to_list() == ["distant_birth_years", None]


def test_nickname_variants_are_not_twins() -> None:
    roll = prepare_roll(
        pl.DataFrame(
            {
                "voter_id": ["N1", "N2", "N3"],
                "first_name": ["ZACHARY", "ZACK", "ZOE"],
                "last_name": ["WARD", "WARD", "WARD"],
                "dob": ["1998-05-23"] * 3,
            }
        ),
        "left",
    )
    assert "ZACK" in roll["first_name_variants"][0].to_list()
    pairs = pl.DataFrame({"id_l": ["N1", "N1"], "id_r": ["N2", "N3"]})
    out = apply_exclusions(pairs, roll, roll, [same_dob_different_first_name()])
    assert out["exclusion"].to_list() == [None, "same_dob_different_first_name"]


@pytest.mark.parametrize(
    ("ids", "message", "line"),
    [
        (["V1", "V2", "V1"], "appears more than once", 3),
        (["V1", None, "V3"], "empty voter_id", 2),
    ],
)
def test_bad_voter_ids_are_input_errors(ids: list[str | None], message: str, line: int) -> None:
    frame = pl.DataFrame({"voter_id": ids, "first_name": ["A", "B", "C"]})
    with pytest.raises(InputError, match=message) as caught:
        link(frame, None, mode="dedupe", seed=1)
    assert caught.value.field == "voter_id"
    assert caught.value.line == line


def test_missing_voter_id_column_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no voter_id column"):
        link(pl.DataFrame({"first_name": ["A"]}), None, mode="dedupe", seed=1)


@pytest.mark.parametrize("threshold", [0.0, 1.0, 1.5, -0.2])
def test_threshold_must_be_a_probability(threshold: float) -> None:
    frame = hand_rows()
    with pytest.raises(InputError, match="strictly between 0 and 1") as caught:
        link(frame, None, mode="dedupe", seed=1, threshold=threshold)
    assert caught.value.field == "threshold"


def test_dedupe_takes_one_roll_and_link_two() -> None:
    frame = hand_rows()
    with pytest.raises(InputError, match="dedupe takes one roll") as caught:
        link(frame, frame, mode="dedupe", seed=1)
    assert caught.value.field == "right"
    with pytest.raises(InputError, match="dedupe takes one roll"):
        link(frame, None, mode="link", seed=1)
    with pytest.raises(InputError, match="unknown mode"):
        link(frame, None, mode="merge", seed=1)  # type: ignore[arg-type]


def test_match_prior_solves_the_em_equation_by_hand() -> None:
    """Two pairs with Bayes factor K = 99 among N = 10, from λ0 = 0.1.

    Each weight is log2(λ0/(1−λ0) · K) = log2 11. The fixed point of
    λ = (1/N) Σ p_i(λ), p_i = 99λ/(1 + 98λ), is 1 + 98λ = 2·99/10, so λ = 18.8/98.
    """
    weights = np.full(2, math.log2(11.0))
    assert match_prior(weights, 0.1, 10) == pytest.approx(18.8 / 98, rel=1e-8)
    # weights of 0 mean K = (1 − λ0)/λ0 = 9, and λ = 0.2 · 9λ/(1 + 8λ) gives λ = 0.1 again
    assert match_prior(np.zeros(2), 0.1, 10) == pytest.approx(0.1, rel=1e-8)
    # one overwhelming pair among a million: λ is one in a million
    assert match_prior([60.0], 1e-3, 1_000_000) == pytest.approx(1e-6, rel=1e-6)
    # no scored pairs: λ falls to its floor
    assert match_prior([], 0.1, 10) == 1e-12


def test_training_plan_defaults_keep_households_out_of_em() -> None:
    plan = TrainingPlan()
    assert plan.refit_prior is False
    assert plan.em_fix_prior is True
    rules = [
        r for entry in plan.em_blocking for r in ((entry,) if isinstance(entry, str) else entry)
    ]
    # the session that estimates the date-of-birth m values leaves households out
    assert sum("household_key" in rule for rule in rules) == 2
    assert not any("l.dob" in rule for rule in rules if "household_key" in rule)
