"""Reading voter, death and claims lists: mapping, cleaning, rows reported not dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tallyguard.errors import InputError
from tallyguard.rolls.load import load_list, parse_column_options

VOTERS = """VoterID,First,Middle,Last,Suffix,BirthDate,Sex,Street,City,Zip
V1,José,A.,García Jr.,,1980-02-29,m,1 Main St,Springfield,12345-6789
V2,bill,,Smith,,02/03/1970,M,2 Oak Ave,Springfield,12345
V3,,,,,1970-01-01,F,,,
V4,Ann,,O'Neil,,not a date,F,3 Elm,Shelbyville,54321
V5,,,Nguyen,,1991-07-04,F,,,
"""
MAPPING = [
    "voter_id=VoterID",
    "first_name=First",
    "middle_name=Middle",
    "last_name=Last",
    "dob=BirthDate",
    "address=Street",
]


def test_voters_are_cleaned_and_every_problem_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "voters.csv"
    path.write_text(VOTERS, encoding="utf-8")
    loaded = load_list(path, columns=parse_column_options(MAPPING))
    frame = loaded.frame
    assert frame["voter_id"].to_list() == ["V1", "V2", "V4", "V5"]
    assert frame["first_name"].to_list() == ["JOSE", "BILL", "ANN", None]
    assert frame["last_name"].to_list() == ["GARCIA", "SMITH", "O'NEIL", "NGUYEN"]
    assert frame["suffix"].to_list() == ["JR", None, None, None]
    assert frame["middle_name"].to_list() == ["A", None, None, None]
    assert frame["dob"].to_list() == ["1980-02-29", "1970-02-03", None, "1991-07-04"]
    assert frame["birth_year"].to_list() == [1980, 1970, None, 1991]
    assert frame["zip"].to_list() == ["12345", "12345", "54321", None]
    assert frame["sex"].to_list() == ["M", "M", "F", "F"]
    issues = [(i.record_id, i.line, i.issue) for i in loaded.issues]
    assert issues == [("V3", 4, "no_name"), ("V4", 5, "bad_dob"), ("V5", 6, "part_name")]
    assert loaded.rows == 5


def test_bad_input_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("voter_id,first_name,last_name,dob\nA,X,Y,2000-01-01\nA,Z,W,2000-01-02\n")
    with pytest.raises(InputError, match=r"dup.csv, line 3, field 'voter_id'.*appears twice"):
        load_list(path)
    path.write_text("id,first_name,last_name,dob\nA,X,Y,2000-01-01\n")
    with pytest.raises(InputError, match=r"voter_id"):
        load_list(path)
    with pytest.raises(InputError, match=r"not a column of a deaths list"):
        load_list(path, "deaths", columns={"voter_id": "id"})
    with pytest.raises(InputError, match=r"not canonical=source"):
        parse_column_options(["dob"])


def test_febrl_reads_with_a_mapping(shared_data: Path) -> None:
    loaded = load_list(
        shared_data / "rolls" / "febrl" / "dataset3.csv",
        columns={
            "voter_id": "rec_id",
            "first_name": "given_name",
            "last_name": "surname",
            "dob": "date_of_birth",
            "zip": "postcode",
        },
    )
    assert loaded.rows == 5000
    assert loaded.frame.height + loaded.issue_counts()["no_name"] == 5000
    assert loaded.frame["dob"].drop_nulls().str.len_chars().max() == 10
