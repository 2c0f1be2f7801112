"""The CSV audit report: Arlo-style sections, exact values, full-precision floats."""

from __future__ import annotations

from dataclasses import replace

from tallyguard import __version__
from tallyguard.audit.workflow.result import AuditResult
from tallyguard.report.audit_csv import SECTIONS, audit_report_csv, section_heading, sections_of

from .conftest import parse_sections, records
from .results import (
    BATCH_SEED,
    COMPARISON_SEED,
    GOVERNOR_P,
    GOVERNOR_ROUND_1_P,
    MAYOR_P,
    MEASURE_P,
    POLLING_SEED,
    SHERIFF_P,
)


def test_sections_in_order_separated_by_one_blank_line(any_result: AuditResult) -> None:
    text = audit_report_csv(any_result)
    assert "\r" not in text
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    headings = [line for line in text.split("\n") if line.startswith("########")]
    assert headings == [section_heading(name) for name in sections_of(any_result.kind)]
    for heading in headings[1:]:
        assert f"\n\n{heading}\n" in text
        assert f"\n\n\n{heading}" not in text
    assert list(parse_sections(text)) == list(sections_of(any_result.kind))


def test_batch_audits_list_sampled_batches() -> None:
    assert sections_of("batch")[5] == "SAMPLED BATCHES"
    assert sections_of("comparison") == sections_of("polling") == SECTIONS


def test_election_info_and_settings(comparison: AuditResult) -> None:
    sections = parse_sections(audit_report_csv(comparison))
    assert records(sections, "ELECTION INFO") == [
        {
            "Election Name": "State general election 2024",
            "Audit Name": "State comparison audit",
            "Software": f"tallyguard {__version__}",
        }
    ]
    assert records(sections, "AUDIT SETTINGS") == [
        {
            "Audit Name": "State comparison audit",
            "Audit Type": "comparison",
            "Risk Method": "alpha",
            "Risk Limit": "0.05",
            "Random Seed": COMPARISON_SEED,
            "Population": "200",
        }
    ]


def test_seed_is_text_not_a_number(polling: AuditResult, batch: AuditResult) -> None:
    # 20 digits must survive exactly (a float would print 3.1415926535897933e+19).
    for result, seed in ((polling, POLLING_SEED), (batch, BATCH_SEED)):
        settings = records(parse_sections(audit_report_csv(result)), "AUDIT SETTINGS")
        assert settings[0]["Random Seed"] == seed


def test_no_seed_is_an_empty_cell(unfinished: AuditResult) -> None:
    fresh = replace(unfinished, seed=None, rounds=(), sample=())
    sections = parse_sections(audit_report_csv(fresh))
    assert records(sections, "AUDIT SETTINGS")[0]["Random Seed"] == ""
    assert records(sections, "ROUNDS") == []
    assert sections["SAMPLED BALLOTS"][0][:3] == ["Draw", "Round", "Ticket Number"]
    assert len(sections["SAMPLED BALLOTS"]) == 1


def test_contests(comparison: AuditResult, polling: AuditResult) -> None:
    contests = records(parse_sections(audit_report_csv(comparison)), "CONTESTS")
    assert contests == [
        {
            "Contest Name": "Governor",
            "Targeted?": "Yes",
            "Winners": "Carol",
            "Total Ballot Cards": "200",
            "Population": "200",
            "Vote Totals": "Carol: 110; Dave: 70; Eve: 15",
            "Notes": "",
        },
        {
            "Contest Name": "Library Board",
            "Targeted?": "No",
            "Winners": "Ann; Ben",
            "Total Ballot Cards": "200",
            "Population": "200",
            "Vote Totals": "Ann: 120; Ben: 104; Cy: 96; Di: 60; Ed: 22",
            "Notes": "",
        },
    ]
    measure = records(parse_sections(audit_report_csv(polling)), "CONTESTS")[1]
    assert measure["Total Ballot Cards"] == "58"
    assert measure["Notes"].startswith("58 of the 60 cards")


def test_rounds_carry_full_precision_risks(comparison: AuditResult) -> None:
    rounds = records(parse_sections(audit_report_csv(comparison)), "ROUNDS")
    governor = [r for r in rounds if r["Contest Name"] == "Governor"]
    assert governor == [
        {
            "Round Number": "1",
            "Contest Name": "Governor",
            "Sample Size": "6",
            "Audited": "6",
            "Risk (P-Value)": "0.21347920382519264",
            "Risk Limit Met?": "No",
        },
        {
            "Round Number": "2",
            "Contest Name": "Governor",
            "Sample Size": "14",
            "Audited": "14",
            "Risk (P-Value)": "0.031415926535897934",
            "Risk Limit Met?": "Yes",
        },
    ]
    assert float(governor[0]["Risk (P-Value)"]) == GOVERNOR_ROUND_1_P
    assert float(governor[1]["Risk (P-Value)"]) == GOVERNOR_P
    assert [(r["Round Number"], r["Contest Name"]) for r in rounds] == [
        ("1", "Governor"),
        ("1", "Library Board"),
        ("2", "Governor"),
        ("2", "Library Board"),
    ]


def test_assertions_round_trip_exactly(any_result: AuditResult) -> None:
    rows = records(parse_sections(audit_report_csv(any_result)), "ASSERTIONS")
    assert len(rows) == len(any_result.assertions)
    for row, assertion in zip(rows, any_result.assertions, strict=True):
        assert row["Assertion"] == assertion.assertion
        assert float(row["P-Value"]) == assertion.p_value
        assert float(row["Margin"]) == assertion.margin
        assert row["Confirmed?"] == ("Yes" if assertion.confirmed else "No")
        assert int(row["Draws Measured"]) == len(assertion.p_values)


def test_polling_assertions(polling: AuditResult) -> None:
    rows = records(parse_sections(audit_report_csv(polling)), "ASSERTIONS")
    assert rows == [
        {
            "Contest Name": "Mayor",
            "Assertion": "Mayor: Alice beats Bob",
            "Winner": "Alice",
            "Loser": "Bob",
            "Margin": "0.26666666666666666",
            "P-Value": repr(MAYOR_P),
            "Confirmed?": "Yes",
            "Draws Measured": "10",
        },
        {
            "Contest Name": "Measure A",
            "Assertion": "Measure A: Yes beats No",
            "Winner": "Yes",
            "Loser": "No",
            "Margin": "0.06666666666666667",
            "P-Value": repr(MEASURE_P),
            "Confirmed?": "No",
            "Draws Measured": "10",
        },
    ]


def test_sampled_ballots(comparison: AuditResult) -> None:
    sections = parse_sections(audit_report_csv(comparison))
    header = sections["SAMPLED BALLOTS"][0]
    assert header[-2:] == ["Audit Result: Governor", "Audit Result: Library Board"]
    rows = records(sections, "SAMPLED BALLOTS")
    assert [r["Draw"] for r in rows] == [str(n) for n in range(1, 15)]
    assert [r["Round"] for r in rows] == ["1"] * 6 + ["2"] * 8
    third = rows[2]
    assert third == {
        "Draw": "3",
        "Round": "1",
        "Ticket Number": comparison.sample[2].ticket,
        "Jurisdiction": "Baker County",
        "Tabulator": "TAB-2",
        "Batch Name": "Batch 13",
        "Ballot Position": "10",
        "Container": "",
        "Imprinted ID": "2-13-10",
        "Audited?": "Yes",
        "Audit Result: Governor": "BLANK",
        "Audit Result: Library Board": "Ben;Cy",
    }


def test_unaudited_draws_have_empty_readings(unfinished: AuditResult) -> None:
    rows = records(parse_sections(audit_report_csv(unfinished)), "SAMPLED BALLOTS")
    assert [r["Audited?"] for r in rows] == ["Yes"] * 4 + ["No"] * 6
    assert rows[4]["Audit Result: Mayor"] == "Alice"  # recorded for one contest only
    assert rows[4]["Audit Result: Measure A"] == ""
    assert rows[9]["Audit Result: Mayor"] == ""


CAROL_BLANK = ("Carol", "BLANK", "1")  # reported, audited, overstatement
DAVE_CAROL = ("Dave", "Carol", "-2")


def test_discrepancies_reported_before_audited(comparison: AuditResult) -> None:
    rows = parse_sections(audit_report_csv(comparison))["DISCREPANCIES"]
    assert rows == [
        [
            "Draw",
            "Round",
            "Jurisdiction",
            "Tabulator",
            "Batch Name",
            "Ballot Position",
            "Imprinted ID",
            "Contest Name",
            "Reported",
            "Audited",
            "Overstatement",
        ],
        ["3", "1", "Baker County", "TAB-2", "Batch 13", "10", "2-13-10", "Governor", *CAROL_BLANK],
        ["9", "2", "Baker County", "TAB-2", "Batch 11", "28", "", "Governor", *DAVE_CAROL],
    ]


def test_batch_report(batch: AuditResult) -> None:
    sections = parse_sections(audit_report_csv(batch))
    batches = records(sections, "SAMPLED BATCHES")
    assert batches[1]["Batch Name"] == "Precinct 6"
    assert batches[1]["Ballot Position"] == "0"
    assert batches[1]["Audit Result: Sheriff"] == "Frank: 509; Grace: 383"
    assert records(sections, "DISCREPANCIES") == [
        {
            "Draw": "2",
            "Round": "1",
            "Jurisdiction": "Carroll County",
            "Tabulator": "",
            "Batch Name": "Precinct 6",
            "Ballot Position": "0",
            "Imprinted ID": "",
            "Contest Name": "Sheriff",
            "Reported": "Frank: 512; Grace: 380",
            "Audited": "Frank: 509; Grace: 383",
            "Overstatement": "6",
        }
    ]
    assert records(sections, "ROUNDS")[0]["Risk (P-Value)"] == repr(SHERIFF_P)


def test_polling_has_an_empty_discrepancy_section(polling: AuditResult) -> None:
    sections = parse_sections(audit_report_csv(polling))
    assert len(sections["DISCREPANCIES"]) == 1  # the header row only


def test_names_with_commas_quotes_and_newlines_survive() -> None:
    from .results import polling_result

    awkward = 'Mayor, "at large"\nSeat 2'
    result = polling_result(mayor=awkward, choice="O'Neil, Jr.")
    sections = parse_sections(audit_report_csv(result))
    assert records(sections, "CONTESTS")[0]["Contest Name"] == awkward
    assert records(sections, "CONTESTS")[0]["Winners"] == "O'Neil, Jr."
    assert sections["SAMPLED BALLOTS"][0][-2] == f"Audit Result: {awkward}"


def test_same_result_same_bytes(any_result: AuditResult) -> None:
    assert audit_report_csv(any_result) == audit_report_csv(any_result)
