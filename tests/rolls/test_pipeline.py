"""The rolls modes from lists to leads: lead table, figures, claims, safeguards."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from tallyguard.errors import InputError
from tallyguard.rolls.pipeline import (
    RollsRun,
    RollsSettings,
    claim_table,
    quiet_period_note,
    run_rolls,
)
from tallyguard.simulate.roll import RollConfig, SimulatedRoll, simulate_roll, write_roll


@pytest.fixture(scope="module")
def roll_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulatedRoll, Path]:
    roll = simulate_roll(RollConfig(records=4_000, seed="pipeline"))
    folder = tmp_path_factory.mktemp("roll")
    write_roll(roll, folder)
    return roll, folder


@pytest.fixture(scope="module")
def dedupe(roll_dir: tuple[SimulatedRoll, Path]) -> RollsRun:
    return run_rolls([roll_dir[1] / "voters.csv"], RollsSettings(mode="dedupe"))


def test_lead_table_columns_and_order(dedupe: RollsRun) -> None:
    leads = dedupe.leads
    assert leads.columns[:7] == [
        "id_l", "id_r", "match_probability", "match_weight", "exclusion", "exclusion_reason",
        "step",
    ]  # fmt: skip
    assert {"first_name_l", "first_name_r", "dob_l", "gamma_dob", "level_dob", "mw_dob"} <= set(
        leads.columns
    )
    assert (leads["match_probability"] >= 0.95).all()
    # leads first (by falling probability), then the pairs set aside
    flags = leads["exclusion"].is_not_null().to_list()
    assert flags == sorted(flags)
    flagged = dedupe.flagged["match_probability"].to_list()
    assert flagged == sorted(flagged, reverse=True)
    assert dedupe.flagged["step"].str.contains("notice").all()
    assert not leads["step"].str.contains("(?i)remove").any()


def test_dates_of_birth_are_masked_unless_asked(
    dedupe: RollsRun, roll_dir: tuple[SimulatedRoll, Path]
) -> None:
    assert dedupe.leads["dob_l"].str.contains(r"^\d{4}-\*\*-\*\*$").all()
    shown = run_rolls(
        [roll_dir[1] / "voters.csv"], RollsSettings(mode="dedupe", show_pii=True)
    ).leads
    assert shown["dob_l"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()


def test_summary_figures_are_those_of_the_parts(dedupe: RollsRun) -> None:
    summary = dedupe.summary()
    assert summary["pairs_flagged"] == dedupe.flagged.height
    assert summary["pairs_flagged"] + summary["pairs_excluded"] == dedupe.leads.height
    expected = float((1 - dedupe.flagged["match_probability"]).sum())
    assert summary["expected_false_matches"] == pytest.approx(expected)
    low, high = summary["false_match_interval"]
    assert low <= expected < high + 1  # an interval of whole counts
    assert summary["chance_rule"] == ["first_name", "last_name", "dob"]
    assert summary["naive_rule_pairs"] == dedupe.chance.observed
    assert sum(summary["exclusions"].values()) == summary["pairs_excluded"]
    assert summary["wording"] == "leads for review"
    assert summary["inputs"][0]["rows"] == dedupe.lists[0].frame.height
    assert summary["inputs"][0]["issues"] == {"no_name": 0, "part_name": 0, "bad_dob": 0}


def test_naive_rule_pairs_counted_from_the_file(
    dedupe: RollsRun, roll_dir: tuple[SimulatedRoll, Path]
) -> None:
    voters = pl.read_csv(roll_dir[1] / "voters.csv", infer_schema=False)
    groups = (
        voters.drop_nulls(["first_name", "last_name", "dob"])
        .group_by(
            pl.col("first_name").str.to_uppercase(), pl.col("last_name").str.to_uppercase(), "dob"
        )
        .len()
    )
    pairs = int((groups["len"] * (groups["len"] - 1) // 2).sum())
    assert dedupe.chance.observed == pairs


def test_deceased_links_the_death_file(roll_dir: tuple[SimulatedRoll, Path]) -> None:
    roll, folder = roll_dir
    run = run_rolls([folder / "voters.csv", folder / "deaths.csv"], RollsSettings(mode="deceased"))
    truth = set(roll.pairs_of("death"))
    found = set(zip(run.flagged["id_l"].to_list(), run.flagged["id_r"].to_list(), strict=True))
    assert len(found & truth) >= 0.9 * len(truth)
    assert len(found - truth) <= max(1, 0.01 * len(found))
    assert run.summary()["steps"][0].startswith("verify against the death record")


def _claims_frames() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    roll = pl.DataFrame(
        {
            "voter_id": ["V1", "V2", "V3", "V4"],
            "first_name": ["ANN", "ANN", "ANN", "BOB"],
            "last_name": ["LEE", "LEE", "LEE", "KAY"],
            "dob": ["1980-01-01", "1980-01-01", "1990-05-05", "1970-02-02"],
        }
    )
    claims = pl.DataFrame(
        {
            "voter_id": ["C1", "C2", "C3"],
            "first_name": ["ANN", "BOB", "EVE"],
            "last_name": ["LEE", "KAY", "ROE"],
            "dob": ["1980-01-01", "1970-02-02", "1960-03-03"],
        }
    )
    leads = pl.DataFrame(
        {
            "id_l": ["C1", "C1", "C2"],
            "id_r": ["V1", "V2", "V4"],
            "match_probability": [0.97, 0.96, 0.99],
            "exclusion": [None, None, "suffix_conflict"],
        }
    )
    return claims, roll, leads


def test_claim_table_by_hand() -> None:
    table = claim_table(*_claims_frames())
    rows = {row["claim_id"]: row for row in table.iter_rows(named=True)}
    # ANN LEE 1980-01-01: two roll records share name and date; three share the name;
    # the date is 2 of the roll's 4 dates of birth, so chance alone gives 3 x 1/2
    assert rows["C1"]["naive_matches"] == 2
    assert rows["C1"]["same_name"] == 3
    assert rows["C1"]["chance_expected"] == pytest.approx(1.5)
    assert rows["C1"]["best_id"] == "V1"
    assert rows["C1"]["coincidence_probability"] == pytest.approx(0.03)
    # BOB KAY's only lead was set aside: no support, so counted as a coincidence
    assert rows["C2"]["best_id"] is None
    assert rows["C2"]["set_aside"] == "suffix_conflict"
    assert rows["C2"]["coincidence_probability"] == 1.0
    assert rows["C3"]["naive_matches"] == 0
    assert rows["C3"]["chance_expected"] == 0.0


def test_quiet_period_note() -> None:
    election = dt.date(2026, 11, 3)
    assert quiet_period_note(election, dt.date(2026, 8, 5)) is None  # 90 days before
    note = quiet_period_note(election, dt.date(2026, 8, 6))  # 89 days before
    assert note is not None
    assert "89 days" in note
    assert "quiet period" in note


def test_wrong_number_of_lists_is_an_input_error(roll_dir: tuple[SimulatedRoll, Path]) -> None:
    with pytest.raises(InputError, match="link reads 2 list"):
        run_rolls([roll_dir[1] / "voters.csv"], RollsSettings(mode="link"))


def test_settings_round_trip() -> None:
    settings = RollsSettings(
        mode="link",
        threshold=0.9,
        seed=4,
        election_date=dt.date(2026, 11, 3),
        as_of=dt.date(2026, 6, 1),
        columns=({"voter_id": "ID"}, {}),
    )
    assert RollsSettings.from_json(settings.to_json()) == settings


def test_naive_claims_list_coincidences_within_the_interval(tmp_path: Path) -> None:
    """A claimant matches the death file to the roll on first name, last name and birth
    year (public files often carry the year only) and calls every hit a dead voter.
    The check must estimate how many of those claims name nobody on the roll: the truth
    (death records of people never registered) lies within its 95 % interval."""
    roll = simulate_roll(RollConfig(records=30_000, seed="claims"))
    write_roll(roll, tmp_path)
    year = pl.col("dob").str.slice(0, 4).alias("year")
    hits = roll.deaths.with_columns(year).join(
        roll.voters.select("first_name", "last_name", year),
        on=["first_name", "last_name", "year"],
        how="semi",
    )
    hits.select(
        claim_id="record_id", first_name="first_name", last_name="last_name", dob="dob"
    ).write_csv(tmp_path / "claims.csv")
    truth = hits.join(roll.death_truth, on="record_id")
    coincidences = int((truth["person_id"] == "").sum())
    run = run_rolls(
        [tmp_path / "claims.csv", tmp_path / "voters.csv"], RollsSettings(mode="check-claims")
    )
    summary = run.summary()["claims"]
    assert summary["claims"] == hits.height
    assert coincidences >= 3  # the test has something to estimate
    low, high = summary["coincidence_interval"]
    assert low <= coincidences <= high
    assert abs(summary["expected_coincidences"] - coincidences) <= 0.5 * coincidences + 2


def test_review_sample_calibration(
    dedupe: RollsRun, roll_dir: tuple[SimulatedRoll, Path], tmp_path: Path
) -> None:
    roll, folder = roll_dir
    truth = {tuple(sorted(pair)) for pair in roll.pairs_of("duplicate")}
    leads = dedupe.flagged.head(30)
    labels = [
        (a, b, "yes" if tuple(sorted((a, b))) in truth else "no")
        for a, b in zip(leads["id_l"], leads["id_r"], strict=True)
    ]
    review = tmp_path / "review.csv"
    review.write_text(
        "id_l,id_r,is_match\n" + "".join(f"{a},{b},{m}\n" for a, b, m in labels),
        encoding="utf-8",
    )
    run = run_rolls([folder / "voters.csv"], RollsSettings(mode="dedupe", review=str(review)))
    calibration = run.summary()["calibration"]
    assert calibration["n_reviewed"] == 30
    assert calibration["observed_false"] == sum(m == "no" for _, _, m in labels)
    expected = float((1 - leads["match_probability"]).sum())
    assert calibration["expected_false"] == pytest.approx(expected)
    assert calibration["verdict"] in ("consistent", "over-confident", "under-confident")

    review.write_text("id_l,id_r,is_match\nV1,V2,maybe\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 2.*is_match.*'maybe'"):
        run_rolls([folder / "voters.csv"], RollsSettings(mode="dedupe", review=str(review)))


def test_chance_rule_on_birth_year(dedupe: RollsRun, roll_dir: tuple[SimulatedRoll, Path]) -> None:
    """A looser rule (birth year instead of date) finds more pairs by chance than the naive one."""
    loose = run_rolls(
        [roll_dir[1] / "voters.csv"],
        RollsSettings(mode="dedupe", chance_rule=("first_name", "last_name", "birth_year")),
    )
    assert loose.chance.rule == ("first_name", "last_name", "birth_year")
    assert loose.chance.expected > 100 * dedupe.chance.expected
    assert loose.chance.observed >= dedupe.chance.observed
