"""Dominion CSV exports: Arlo's and ColoradoRLA's examples, Arlo's fixture elections, errors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tallyguard.errors import InputError
from tallyguard.io.vendors import VendorCvrRecord, read_dominion_csv
from tests.io.vendors.helpers import data_file, make_zip, tally

ARLO = ("formats", "arlo-vendor-cvr-examples")
CONTESTS = {
    "Contest 1": ("Choice 1-1", "Choice 1-2"),
    "Contest 2": ("Choice 2-1", "Choice 2-2", "Choice 2-3"),
}

HEADER = (
    "Test Election,5.2.16.1,,,,,,,,\r\n"
    ",,,,,,,Mayor (Vote For=1),Mayor (Vote For=1),Mayor (Vote For=1)\r\n"
    ",,,,,,,Ann,Bo,Cy\r\n"
    "CvrNumber,TabulatorNum,BatchId,RecordId,ImprintedId,PrecinctPortion,BallotType,,,\r\n"
)


def write(tmp_path: Path, rows: str, header: str = HEADER, name: str = "cvr.csv") -> Path:
    path = tmp_path / name
    path.write_bytes((header + rows).encode("utf-8"))
    return path


@pytest.mark.parametrize(
    "name", ["dominion_cvr_export.csv", "dominion_cvr_with_leading_equal_signs.csv"]
)
def test_arlo_examples(shared_data: Path, name: str) -> None:
    export = read_dominion_csv(data_file(shared_data, *ARLO, name))
    assert (export.election, export.version) == ("Test Audit CVR Upload", "5.2.16.1")
    assert export.contests == CONTESTS
    assert export.votes_allowed == {"Contest 1": 1, "Contest 2": 2}
    records = list(export.records())
    count, cards, votes = tally(records)
    assert count == 14
    assert cards == {"Contest 1": 11, "Contest 2": 14}
    assert votes == {
        "Contest 1": {"Choice 1-1": 8, "Choice 1-2": 4},
        "Contest 2": {"Choice 2-1": 13, "Choice 2-2": 6, "Choice 2-3": 8},
    }
    assert records[0] == VendorCvrRecord(
        cvr_id="TABULATOR1-BATCH1-1",
        votes={"Contest 1": ("Choice 1-2",), "Contest 2": ("Choice 2-1", "Choice 2-2")},
        batch_name="BATCH1",
        position=1,
        imprinted_id="1-1-1",
        ballot_style="COUNTY",
        unit_id="12345",
        tabulator="TABULATOR1",
    )
    # card 11 overvotes both contests: every mark is kept; card 13 is blank in Contest 2.
    assert records[10].votes == {
        "Contest 1": ("Choice 1-1", "Choice 1-2"),
        "Contest 2": ("Choice 2-1", "Choice 2-2", "Choice 2-3"),
    }
    assert records[12].votes == {"Contest 2": ()}
    batch = [r.position for r in records if (r.tabulator, r.batch_name) == ("TABULATOR2", "BATCH2")]
    assert batch == [1, 2, 4, 5, 6]
    assert [r.cvr_id for r in records[-3:]] == [
        "TABULATOR2-BATCH2-4",
        "TABULATOR2-BATCH2-5",
        "TABULATOR2-BATCH2-6",
    ]


def test_leading_equal_signs_give_the_same_records(shared_data: Path) -> None:
    plain = read_dominion_csv(data_file(shared_data, *ARLO, "dominion_cvr_export.csv"))
    guarded = read_dominion_csv(
        data_file(shared_data, *ARLO, "dominion_cvr_with_leading_equal_signs.csv")
    )
    assert list(plain.records()) == list(guarded.records())


def test_coloradorla_arapahoe_export(shared_data: Path) -> None:
    path = data_file(
        shared_data, "formats", "coloradorla", "arapahoe-regent-3-clear-d52-CVR_Export.csv"
    )
    export = read_dominion_csv(path)
    assert (export.election, export.version) == ("2016 Arapahoe General Election", "5.2.13.9")
    regent = "Regent of the University of Colorado - At Large"
    assert export.contests == {
        regent: ("Clear Winner", "Distant Loser"),
        "COUNTY COMMISSIONER DISTRICT 3": ("Jeff Baker", "Janet Lee Cook"),
        "Proposition 107 (Statutory)": ("YES", "NO"),
    }
    assert set(export.votes_allowed.values()) == {1}
    records = list(export.records())
    count, cards, votes = tally(records)
    assert count == 165
    assert cards == {regent: 165, "COUNTY COMMISSIONER DISTRICT 3": 46,
                     "Proposition 107 (Statutory)": 95}  # fmt: skip
    assert votes[regent] == {"Clear Winner": 123, "Distant Loser": 14}
    assert votes["COUNTY COMMISSIONER DISTRICT 3"] == {"Jeff Baker": 12, "Janet Lee Cook": 27}
    assert votes["Proposition 107 (Statutory)"] == {"YES": 30, "NO": 31}
    assert Counter(r.counting_group for r in records) == {"Mail": 140, "In Person": 25}
    assert len({(r.tabulator, r.batch_name) for r in records}) == 5
    assert records[0].cvr_id == "3-800-1"
    assert records[0].unit_id == "1260303104-51 (104-51)"


ARLO_FIXTURES = {
    # file -> records (= lines - 4 header rows)
    ("small-election", "Kendall Park - cvrs.csv"): 500,
    ("small-election", "Mount Olive - cvrs.csv"): 31,
    ("small-election", "Siletz - cvrs.csv"): 57,
    ("small-election", "Waurika - cvrs.csv"): 226,
    ("small-election", "Worthington Hills - cvrs.csv"): 694,
    ("medium-election", "Acton - cvrs.csv"): 3128,
    ("medium-election", "Black Hallows - cvrs.csv"): 3156,
    ("medium-election", "Lindow - cvrs.csv"): 7173,
    ("medium-election", "Wolford - cvrs.csv"): 4857,
    ("medium-election", "Yellowseed - cvrs.csv"): 1686,
}


@pytest.mark.parametrize(("election", "name"), sorted(ARLO_FIXTURES))
def test_arlo_fixture_cvrs_load(shared_data: Path, election: str, name: str) -> None:
    export = read_dominion_csv(data_file(shared_data, "rla", "arlo", election, name))
    count, _cards, _votes = tally(export.records())
    assert count == ARLO_FIXTURES[(election, name)]
    assert export.version == "5.2.16.1"
    assert export.notes == []


@pytest.mark.parametrize("election", ["small-election", "medium-election"])
def test_arlo_fixture_totals_match_the_generator_spec(shared_data: Path, election: str) -> None:
    """Arlo's fixture generator (``*.spec.json``) states each contest's tally; the CVRs of
    all jurisdictions, without the overvoted cards it adds, must give exactly that tally."""
    folder = data_file(shared_data, "rla", "arlo", election)
    spec = json.loads(next(folder.glob("*.spec.json")).read_text(encoding="utf-8"))
    cards: Counter[str] = Counter()
    valid: dict[str, Counter[str]] = {}
    for path in sorted(folder.glob("* - cvrs.csv")):
        export = read_dominion_csv(path)
        for record in export.records():
            for contest, marks in record.votes.items():
                cards[contest] += 1
                if len(marks) <= export.votes_allowed[contest]:
                    valid.setdefault(contest, Counter()).update(marks)
    for contest in spec["contests"]:
        name = contest["name"]
        assert cards[name] == contest["total_ballots_cast"]
        expected = {choice: n for choice, n in contest["tally"].items() if n}
        assert dict(valid[name]) == expected


def test_one_header_row_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "1,T,B,1,x,p,s,1,0,0\r\n", header=HEADER.split("\r\n", 3)[3])
    with pytest.raises(InputError, match="one header row") as caught:
        read_dominion_csv(path)
    assert caught.value.line == 1


def test_missing_column_suggests_the_closest(tmp_path: Path) -> None:
    header = HEADER.replace("TabulatorNum", "TabulatorNo")
    with pytest.raises(InputError, match="TabulatorNum") as caught:
        read_dominion_csv(write(tmp_path, "1,T,B,1,x,p,s,1,0,0\r\n", header=header))
    assert caught.value.line == 4
    assert "'TabulatorNo'" in str(caught.value.fix)


@pytest.mark.parametrize(
    ("row", "message", "field"),
    [
        ("1,T,B,1,x,p,s,1,0,2\r\n", "'2' is not a mark", "Mayor / Cy"),
        ("1,T,B,1,x,p,s,1,,0\r\n", "only partly filled in", "Mayor / Bo"),
        ("1,T,B,x1,x,p,s,1,0,0\r\n", "'x1' is not a whole number", "RecordId"),
        ("1,T,B,0,x,p,s,1,0,0\r\n", "numbered from 1", "RecordId"),
        ("1,,B,1,x,p,s,1,0,0\r\n", "TabulatorNum is empty", "TabulatorNum"),
    ],
)
def test_bad_rows_name_line_and_column(tmp_path: Path, row: str, message: str, field: str) -> None:
    export = read_dominion_csv(write(tmp_path, "1,T,B,9,x,p,s,0,1,0\r\n" + row))
    with pytest.raises(InputError, match=message) as caught:
        list(export.records())
    assert (caught.value.line, caught.value.field) == (6, field)


def test_repeated_card_names_both_lines(tmp_path: Path) -> None:
    export = read_dominion_csv(write(tmp_path, "1,T,B,1,,,,1,0,0\r\n2,T,B,1,,,,0,1,0\r\n"))
    with pytest.raises(InputError, match=r"'T-B-1' appears twice \(line 5 and line 6\)"):
        list(export.records())


def test_repeated_write_in_columns_are_numbered(tmp_path: Path) -> None:
    header = HEADER.replace("Ann,Bo,Cy", "Ann,Write-in,Write-in").replace(
        "Vote For=1", "Vote For=2"
    )
    export = read_dominion_csv(write(tmp_path, "1,T,B,1,,,,1,0,1\r\n", header=header))
    assert export.contests == {"Mayor": ("Ann", "Write-in", "Write-in (2)")}
    assert export.votes_allowed == {"Mayor": 2}
    assert [r.votes for r in export.records()] == [{"Mayor": ("Ann", "Write-in (2)")}]
    assert any("Write-in" in note for note in export.notes)


def test_contest_without_vote_for_is_noted(tmp_path: Path) -> None:
    header = HEADER.replace(" (Vote For=1)", "")
    export = read_dominion_csv(write(tmp_path, "1,T,B,1,,,,1,0,0\r\n", header=header))
    assert export.contests == {"Mayor": ("Ann", "Bo", "Cy")}
    assert export.votes_allowed == {}
    assert any("Vote For" in note for note in export.notes)


def test_unique_voting_identifier_replaces_imprinted_id(tmp_path: Path) -> None:
    header = HEADER.replace("ImprintedId", "UniqueVotingIdentifier")
    export = read_dominion_csv(write(tmp_path, "1,T,B,1,ABC123,,,1,0,0\r\n", header=header))
    assert [r.imprinted_id for r in export.records()] == ["ABC123"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_dominion_csv(tmp_path / "nope.csv")


def test_zip_holding_the_export(tmp_path: Path) -> None:
    plain = write(tmp_path, "1,T,B,1,x,p,s,1,0,0\r\n")
    archive = make_zip(tmp_path / "export.zip", {"CVR_Export.csv": plain})
    export = read_dominion_csv(archive)
    assert [r.cvr_id for r in export.records()] == ["T-B-1"]
    two = make_zip(tmp_path / "two.zip", {"a.csv": plain, "b.csv": plain})
    with pytest.raises(InputError, match=r"should hold one Dominion CVR CSV file; it holds 2"):
        read_dominion_csv(two)
