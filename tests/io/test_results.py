"""Unit-level results tables: CSV and Parquet, column maps, exact errors, real data."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from tallyguard.errors import InputError
from tallyguard.io.results import RESULTS_ID_COLUMNS, inconsistent_units, read_results
from tallyguard.model import UnitResult

HEADER = ",".join(RESULTS_ID_COLUMNS) + ",Ana Peña,Bo\n"
ROWS = "U1,North,J1,100,80,80,2,50,28\nU2,North,J1,200,150,149,0,100,49\nU3,,,50,40,40,1,20,19\n"


def write(tmp_path: Path, text: str, name: str = "results.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_canonical_csv(tmp_path: Path) -> None:
    table = read_results(write(tmp_path, HEADER + ROWS))
    assert table.choices == ("Ana Peña", "Bo")
    assert table.frame.schema == pl.Schema(
        {
            "unit_id": pl.String,
            "region": pl.String,
            "jurisdiction": pl.String,
            "electorate": pl.Int64,
            "ballots_issued": pl.Int64,
            "ballots_cast": pl.Int64,
            "invalid": pl.Int64,
            "Ana Peña": pl.Int64,
            "Bo": pl.Int64,
        }
    )
    assert table.frame.row(2) == ("U3", None, None, 50, 40, 40, 1, 20, 19)
    assert list(table.units())[:1] == [
        UnitResult("U1", 100, 80, 80, {"Ana Peña": 50, "Bo": 28}, 2, "North", "J1")
    ]


def test_optional_columns_absent_cp1252_semicolons(tmp_path: Path) -> None:
    text = 'Unit_ID;Electorate;Ballots_Issued;Ballots_Cast;Peña\r\n7;10;9;9;="9"\r\n;;;;\r\n'
    table = read_results(write(tmp_path, text, encoding="cp1252"))
    assert table.choices == ("Peña",)
    assert table.frame.row(0) == ("7", None, None, 10, 9, 9, None, 9)
    assert "Windows-1252" in table.notes[0]
    assert list(table.units()) == [UnitResult("7", 10, 9, 9, {"Peña": 9})]


def test_column_map_and_choices(tmp_path: Path) -> None:
    text = "Precinct,Registered,Ballots,Notes,Alice,Bob\nP1,10,8,late,5,3\nP2,20,15,,9,6\n"
    path = write(tmp_path, text)
    column_map = {
        "unit_id": "precinct",
        "electorate": "Registered",
        "ballots_issued": "Ballots",
        "ballots_cast": "Ballots",
        "A": "Alice",
    }
    table = read_results(path, column_map, choices=["A", "Bob"])
    assert table.choices == ("A", "Bob")
    assert table.frame.row(1) == ("P2", None, None, 20, 15, 15, None, 9, 6)
    with pytest.raises(InputError) as caught:
        read_results(path, column_map)
    assert str(caught.value) == (
        f"{path}, line 2, field 'Notes': 'late' is not a whole number. Fix: write the count "
        "with the digits 0-9 only. If the column is not a choice, pass choices=[...]."
    )
    text = "Precinct,Registered,Ballots,Alice,Bob\nP1,10,8,5,3\n"
    renamed = read_results(write(tmp_path, text), column_map)
    assert renamed.choices == ("A", "Bob")


def test_missing_required_column_suggests_the_closest(tmp_path: Path) -> None:
    path = write(tmp_path, "unit_id,electorate,ballots_isued,ballots_cast,A\nU1,1,1,1,1\n")
    with pytest.raises(InputError) as caught:
        read_results(path)
    assert str(caught.value) == (
        f"{path}, line 1, field 'ballots_issued': required column 'ballots_issued' is missing. "
        "Fix: rename the column 'ballots_isued' to 'ballots_issued'."
    )
    with pytest.raises(InputError) as caught:
        read_results(path, {"ballots_issued": "Issued"})
    assert caught.value.field == "Issued"


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ('"1,234"', "'1,234' contains a thousands separator (',')."),
        ("-4", "'-4' is negative."),
        ("", "the count is missing."),
        ("12.0", "'12.0' is not a whole number."),
    ],
)
def test_bad_counts_name_line_and_column(tmp_path: Path, cell: str, message: str) -> None:
    path = write(
        tmp_path, HEADER + ROWS.replace("U2,North,J1,200,150,149", f"U2,North,J1,200,150,{cell}")
    )
    with pytest.raises(InputError) as caught:
        read_results(path)
    assert (caught.value.line, caught.value.field, caught.value.message) == (
        3,
        "ballots_cast",
        message,
    )


def test_line_numbers_after_a_quoted_line_break(tmp_path: Path) -> None:
    text = HEADER + 'U1,"North\nside",J1,100,80,80,2,50,28\nU2,North,J1,200,150,149,0,x,49\n'
    with pytest.raises(InputError) as caught:
        read_results(write(tmp_path, text))
    assert (caught.value.line, caught.value.field) == (4, "Ana Peña")


def test_duplicate_units_name_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + ROWS + "U2,South,J2,1,1,1,0,1,0\n")
    with pytest.raises(InputError) as caught:
        read_results(path)
    assert str(caught.value) == (
        f"{path}, line 5, field 'unit_id': unit 'U2' appears twice (line 3 and line 5). "
        "Fix: each unit must appear once; merge or rename the rows."
    )
    with pytest.raises(InputError, match=r"the unit id is empty \(line 3\)"):
        read_results(write(tmp_path, HEADER + ROWS.replace("U2,", ",")))


def test_no_choices_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="there are no choice columns"):
        read_results(write(tmp_path, "unit_id,electorate,ballots_issued,ballots_cast\nU,1,1,1\n"))
    with pytest.raises(InputError, match=r"unknown results file type '\.xlsx'"):
        read_results(write(tmp_path, HEADER + ROWS, name="r.xlsx"))


def test_parquet(tmp_path: Path) -> None:
    frame = read_results(write(tmp_path, HEADER + ROWS)).frame
    frame.write_parquet(tmp_path / "r.parquet")
    assert read_results(tmp_path / "r.parquet").frame.equals(frame)
    floats = frame.with_columns(pl.col("Bo").cast(pl.Float64))
    floats.write_parquet(tmp_path / "f.parquet")
    assert read_results(tmp_path / "f.parquet").frame.equals(frame)
    holes = frame.with_columns(pl.Series("Bo", [28, None, 19], dtype=pl.Int64))
    holes.write_parquet(tmp_path / "h.parquet")
    with pytest.raises(InputError) as caught:
        read_results(tmp_path / "h.parquet")
    assert (caught.value.line, caught.value.field, caught.value.message) == (
        None,
        "Bo",
        "data row 2: the count is missing.",
    )
    halves = frame.with_columns(pl.Series("Bo", [28.0, 48.5, 19.0]))
    halves.write_parquet(tmp_path / "x.parquet")
    with pytest.raises(InputError, match=r"data row 2: '48\.5' is not a whole number"):
        read_results(tmp_path / "x.parquet")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="is not a readable Parquet file"):
        read_results(tmp_path / "bad.parquet")


def test_inconsistent_units(tmp_path: Path) -> None:
    rows = (
        "U1,,,100,80,80,2,50,28\n"  # consistent
        "U2,,,100,80,81,0,50,40\n"  # votes 90 > cast 81; cast 81 > issued 80
        "U3,,,100,120,90,5,50,30\n"  # issued 120 > electorate 100
    )
    table = read_results(write(tmp_path, HEADER + rows))
    assert inconsistent_units(table).rows() == [
        ("U2", "sum(votes)+invalid > ballots_cast", 9),
        ("U2", "ballots_cast > ballots_issued", 1),
        ("U3", "ballots_issued > electorate", 20),
    ]
    clean = read_results(write(tmp_path, HEADER + ROWS))
    assert inconsistent_units(clean).schema == pl.Schema(
        {"unit_id": pl.String, "rule": pl.String, "excess": pl.Int64}
    )
    assert inconsistent_units(clean).height == 0


ALBANIA = {
    "unit_id": "column_1",
    "region": "Prefectures",
    "jurisdiction": "Communes",
    "electorate": "Registered",
    "ballots_issued": "Ballots",
    "ballots_cast": "Ballots",
}


def test_albania_2013(shared_data: Path) -> None:
    path = shared_data / "forensics/albania_2013_parliament_precincts.csv"
    with pytest.raises(InputError) as caught:
        read_results(path, ALBANIA)
    assert (caught.value.line, caught.value.field, caught.value.message) == (
        876,
        "C011",
        "'NA' is not a whole number.",
    )
    table = read_results(path, ALBANIA, choices=["C050", "C040"])
    assert table.frame.height == 5508
    assert table.frame.row(0) == ("1", "SHKODER", "SHKODER_GRUEMIRE", 678, 374, 374, None, 95, 0)
    assert int(table.frame["C050"].sum()) == 528925


def test_russia_2012_at_full_size(shared_data: Path, tmp_path: Path) -> None:
    """95,415 polling stations, rewritten in the canonical layout, read back exactly."""
    with gzip.open(shared_data / "forensics/russia_2012.csv.gz") as stream:
        raw = pl.read_csv(stream.read())
    c = raw.columns
    canonical = raw.select(
        pl.concat_str(
            [pl.col("region"), pl.col("tik"), pl.col("uik").cast(pl.String)], separator="|"
        ).alias("unit_id"),
        pl.col("region"),
        pl.col("tik").alias("jurisdiction"),
        pl.col(c[3]).alias("electorate"),
        (pl.col(c[5]) + pl.col(c[6]) + pl.col(c[7])).alias("ballots_issued"),
        (pl.col(c[9]) + pl.col(c[10])).alias("ballots_cast"),
        pl.col(c[11]).alias("invalid"),
        *[pl.col(name) for name in c[21:26]],
    )
    canonical.write_csv(tmp_path / "russia.csv")
    table = read_results(tmp_path / "russia.csv")
    assert table.frame.height == 95415
    assert table.choices == tuple(c[21:26])
    assert table.frame.equals(canonical)
