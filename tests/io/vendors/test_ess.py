"""ES&S: the CVR file joined with its ballots files (Arlo's examples), ZIPs, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tallyguard.errors import InputError
from tallyguard.io.vendors import VendorCvrRecord, read_ess
from tests.io.vendors.helpers import data_file, make_zip, tally

ARLO = ("formats", "arlo-vendor-cvr-examples")
CVR = "Cast Vote Record,Precinct,Ballot Style,Mayor,Measure A\n"
BALLOTS = "Cast Vote Record,Batch,Ballot Status,Tabulator CVR,Audit Number\n"


def arlo_files(shared_data: Path) -> list[Path]:
    return [
        data_file(shared_data, *ARLO, "ess_cvr.csv"),
        data_file(shared_data, *ARLO, "ess_ballots_with_machine_column.csv"),
    ]


def check_arlo_example(records: list[VendorCvrRecord]) -> None:
    count, cards, votes = tally(records)
    assert count == 14
    assert cards == {"Contest 1": 14, "Contest 2": 14}
    # Contest 1: 6 + 6 votes, one undervote (card 3) and one overvote (card 4, both marked)
    assert votes == {
        "Contest 1": {"Choice 1-1": 7, "Choice 1-2": 7},
        "Contest 2": {"Choice 2-1": 8, "Choice 2-2": 4, "Choice 2-3": 2},
    }
    assert records[2].votes["Contest 1"] == ()
    assert records[3].votes["Contest 1"] == ("Choice 1-1", "Choice 1-2")
    assert records[0] == VendorCvrRecord(
        cvr_id="1",
        votes={"Contest 1": ("Choice 1-2",), "Contest 2": ("Choice 2-1",)},
        batch_name="BATCH1",
        position=None,  # a hexadecimal Tabulator CVR gives no position
        imprinted_id="02bc1dc7bc1e7774",
        ballot_style="bs",
        unit_id="p",
        tabulator="0001",
    )
    assert (records[4].tabulator, records[4].position, records[4].imprinted_id) == (
        "0002",
        3172,
        "0002003172",
    )
    assert [r.cvr_id for r in records][-2:] == ["13", "15"]


def test_arlo_example_as_two_paths(shared_data: Path) -> None:
    export = read_ess(arlo_files(shared_data))
    assert export.contests == {
        "Contest 1": ("Choice 1-1", "Choice 1-2"),
        "Contest 2": ("Choice 2-1", "Choice 2-2", "Choice 2-3"),
    }
    assert export.votes_allowed == {}
    assert export.cvr_file.basename == "ess_cvr.csv"
    check_arlo_example(list(export.records()))


def test_arlo_example_in_a_zip(shared_data: Path, tmp_path: Path) -> None:
    cvr, ballots = arlo_files(shared_data)
    archive = make_zip(tmp_path / "ess.zip", {"export/CVR.csv": cvr, "export/ballots.csv": ballots})
    export = read_ess(archive)
    assert export.ballots_files[0].name.endswith("ess.zip/export/ballots.csv")
    check_arlo_example(list(export.records()))


def test_the_cvr_file_alone_fails_precisely(shared_data: Path) -> None:
    with pytest.raises(InputError, match="no ballots file") as caught:
        read_ess(arlo_files(shared_data)[0])
    assert "ballots files: none" in caught.value.message


def test_a_ballots_file_alone_fails_precisely(shared_data: Path) -> None:
    with pytest.raises(InputError, match="expected one CVR file, found 0"):
        read_ess(arlo_files(shared_data)[1])


def write(folder: Path, cvr: str, ballots: str | None) -> Path:
    folder.mkdir()
    (folder / "cvrs.csv").write_text(cvr, encoding="utf-8")
    if ballots is not None:
        (folder / "ballots.csv").write_text(ballots, encoding="utf-8")
    return folder


def test_ten_digit_ids_without_machine_and_lost_zeros(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "x",
        CVR + "1,P1,S1,Ann,Yes\n2,P1,S1,undervote,\n3,P1,S1,Bo,No\n",
        "Ballots\nGEN1\nCounty\nDate\n,\n"
        + BALLOTS
        + "1,B7,ok,0003000012,9\n2,B7,ok,3000013,9\n3,B7,ok,0003000014,9\n"
        + "Total,,,,\n",
    )
    export = read_ess(folder)
    records = list(export.records())
    assert [(r.tabulator, r.batch_name, r.position) for r in records] == [
        ("0003", "B7", 12),
        ("0003", "B7", 13),
        ("0003", "B7", 14),
    ]
    assert records[1].votes == {"Mayor": ()}  # Measure A is not on card 2
    assert any("leading zeros" in note for note in export.notes)
    assert any("'Total'" in note for note in export.notes)


def test_missing_and_extra_cards(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "a", CVR + "1,P,S,Ann,Yes\n2,P,S,Bo,No\n", BALLOTS + "1,B,ok,0001000001,9\n"
    )
    with pytest.raises(InputError, match="Cast Vote Record 2 is in no ballots file") as caught:
        list(read_ess(folder).records())
    assert caught.value.line == 3
    folder = write(
        tmp_path / "b",
        CVR + "1,P,S,Ann,Yes\n",
        BALLOTS + "1,B,ok,0001000001,9\n2,B,ok,0001000002,9\n",
    )
    with pytest.raises(InputError, match=r"Cast Vote Record 2 \(ballots.csv, line 3\) is not in"):
        list(read_ess(folder).records())


def test_hexadecimal_ids_need_a_machine_column(tmp_path: Path) -> None:
    folder = write(tmp_path / "x", CVR + "1,P,S,Ann,Yes\n", BALLOTS + "1,B,ok,02bc1dc7bc1e7774,9\n")
    with pytest.raises(InputError, match="Machine column") as caught:
        list(read_ess(folder).records())
    assert (caught.value.line, caught.value.field) == (2, "Tabulator CVR")


def test_single_file_export_and_cvr_csv_hint(tmp_path: Path) -> None:
    folder = tmp_path / "single"
    folder.mkdir()
    (folder / "cvr.csv").write_text(
        "Cast Vote Record,Batch,Tabulator CVR,Precinct,Ballot Style,Mayor\n"
        "7,B1,0002000005,P,S,Ann\n8,B1,0002000006,P,S,overvote\n",
        encoding="utf-8",
    )
    export = read_ess(folder)
    records = list(export.records())
    assert export.contests == {"Mayor": ("Ann",)}
    assert [(r.cvr_id, r.tabulator, r.position) for r in records] == [
        ("7", "0002", 5),
        ("8", "0002", 6),
    ]


def test_leading_zeros_of_cast_vote_record_are_ignored_in_the_join(tmp_path: Path) -> None:
    folder = write(tmp_path / "x", CVR + "0007,P,S,Ann,Yes\n", BALLOTS + "7,B,ok,0001000001,9\n")
    assert [r.cvr_id for r in read_ess(folder).records()] == ["7"]


def test_repeated_card_in_the_cvr_file(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "x", CVR + "1,P,S,Ann,Yes\n1,P,S,Bo,No\n", BALLOTS + "1,B,ok,0001000001,9\n"
    )
    with pytest.raises(InputError, match=r"'1' appears twice \(line 2 and line 3\)"):
        list(read_ess(folder).records())
