"""The defensive CSV layer: encodings, delimiters, Excel quirks, exact error text."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tallyguard.errors import InputError
from tallyguard.io.csvfile import find_column, open_csv, parse_count, parse_flag


def write(tmp_path: Path, data: bytes, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    return list(open_csv(path).rows())


def test_bom_and_crlf(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbfBatch Name,Number of Ballots\r\nA,1\r\nB,2\r\n")
    csv = open_csv(path)
    assert csv.header == ("Batch Name", "Number of Ballots")
    assert (csv.delimiter, csv.encoding, csv.notes) == (",", "utf-8-sig", [])
    assert list(csv.rows()) == [
        (2, {"Batch Name": "A", "Number of Ballots": "1"}),
        (3, {"Batch Name": "B", "Number of Ballots": "2"}),
    ]


def test_bare_cr_line_ends(tmp_path: Path) -> None:
    path = write(tmp_path, b"a,b\r1,2\r3,4\r")
    assert rows(path) == [(2, {"a": "1", "b": "2"}), (3, {"a": "3", "b": "4"})]


@pytest.mark.parametrize(
    ("data", "delimiter"),
    [
        (b"a;b\n1;2\n", ";"),
        (b"a\tb\n1\t2\n", "\t"),
        (b'"Name, full";Count\nx;2\n', ";"),
        (b"only\n1\n", ","),
    ],
)
def test_delimiter_is_sniffed_from_the_header(tmp_path: Path, data: bytes, delimiter: str) -> None:
    assert open_csv(write(tmp_path, data)).delimiter == delimiter


def test_cp1252_fallback_is_noted(tmp_path: Path) -> None:
    path = write(tmp_path, "Name,Count\nAlvarez,1\nPeña,3\n".encode("cp1252"))
    csv = open_csv(path)
    assert csv.encoding == "cp1252"
    assert list(csv.rows())[1] == (3, {"Name": "Peña", "Count": "3"})
    assert csv.notes == [
        "file.csv: not valid UTF-8 (first non-UTF-8 byte on line 3); read as Windows-1252 "
        "(cp1252) - check that accented names look right"
    ]


def test_utf8_names_are_not_mistaken_for_cp1252(tmp_path: Path) -> None:
    path = write(tmp_path, "Name,Count\nPeña,3\n".encode())
    csv = open_csv(path)
    assert (csv.encoding, csv.notes) == ("utf-8-sig", [])
    assert list(csv.rows()) == [(2, {"Name": "Peña", "Count": "3"})]


def test_neither_utf8_nor_cp1252(tmp_path: Path) -> None:
    path = write(tmp_path, b"Name,Count\nx,1\nbad\x81,2\n")
    with pytest.raises(InputError) as caught:
        open_csv(path)
    assert (caught.value.line, caught.value.message) == (
        3,
        "is neither UTF-8 nor Windows-1252 text.",
    )


def test_utf16_with_tabs(tmp_path: Path) -> None:
    path = write(tmp_path, "Name\tCount\r\nPeña\t3\r\n".encode("utf-16"))
    csv = open_csv(path)
    assert (csv.encoding, csv.delimiter) == ("utf-16", "\t")
    assert list(csv.rows()) == [(2, {"Name": "Peña", "Count": "3"})]


def test_gzip(tmp_path: Path) -> None:
    path = write(tmp_path, gzip.compress(b"a,b\n1,2\n"), "file.csv.gz")
    assert rows(path) == [(2, {"a": "1", "b": "2"})]


def test_excel_guard_and_whitespace(tmp_path: Path) -> None:
    path = write(tmp_path, b'  Batch Name , Count \n="0012",  7 \n"=""0013""",="8"\n')
    assert rows(path) == [
        (2, {"Batch Name": "0012", "Count": "7"}),
        (3, {"Batch Name": "0013", "Count": "8"}),
    ]


def test_trailing_blank_rows_are_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, b"a,b\r\n1,2\r\n\r\n,\r\n  ,  \r\n")
    assert rows(path) == [(2, {"a": "1", "b": "2"})]


def test_blank_row_in_the_middle(tmp_path: Path) -> None:
    path = write(tmp_path, b"a,b\n1,2\n , \n3,4\n")
    with pytest.raises(InputError) as caught:
        rows(path)
    assert str(caught.value) == (
        f"{path}, line 3: blank row between data rows. Fix: delete the blank row "
        "(only blank rows at the end of the file are ignored)."
    )


def test_quoted_line_break_keeps_physical_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, b'a,b\r\n"x\r\ny",2\r\n3,4\r\n')
    assert rows(path) == [(2, {"a": "x\ny", "b": "2"}), (4, {"a": "3", "b": "4"})]


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"", None, "the file is empty."),
        (b"\na,b\n1,2\n", 1, "the first line is blank."),
        (b"a,b\n", 1, "the file has a header but no data rows."),
        (b"a,b\r\n\r\n,\r\n", 1, "the file has a header but no data rows."),
        (b"a,b,A\n1,2,3\n", 1, "the column name 'A' appears twice (columns 1 and 3)."),
    ],
)
def test_bad_files(tmp_path: Path, data: bytes, line: int | None, message: str) -> None:
    with pytest.raises(InputError) as caught:
        open_csv(write(tmp_path, data))
    assert (caught.value.line, caught.value.message) == (line, message)


def test_wrong_number_of_fields(tmp_path: Path) -> None:
    path = write(tmp_path, b"a,b\n1,2\n1,2,3\n")
    with pytest.raises(InputError) as caught:
        rows(path)
    assert str(caught.value) == (
        f"{path}, line 3: the row has 3 fields but the header has 2. Fix: check for a "
        "missing or extra comma; put double quotes around values that contain one."
    )


def test_broken_quoting(tmp_path: Path) -> None:
    path = write(tmp_path, b'a,b\n1,2\n"x"y,2\n')
    with pytest.raises(InputError) as caught:
        rows(path)
    assert caught.value.line == 3
    assert caught.value.message.startswith("the quoting is broken")


def test_unnamed_columns(tmp_path: Path) -> None:
    csv = open_csv(write(tmp_path, b",b,,\n1,2,,\n"))
    assert (csv.header, csv.width) == (("column_1", "b"), 4)
    assert list(csv.rows()) == [(2, {"column_1": "1", "b": "2"})]
    with pytest.raises(InputError) as caught:
        rows(write(tmp_path, b"a,b,\n1,2,x\n"))
    assert (caught.value.line, caught.value.message) == (
        2,
        "a value ('x') sits in column 3, which has no name.",
    )


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (
            b"PK\x03\x04rest",
            "this is an Excel .xlsx workbook (or another ZIP archive), not a CSV file.",
        ),
        (b"\xd0\xcf\x11\xe0rest", "this is an Excel .xls workbook, not a CSV file."),
    ],
)
def test_spreadsheets_are_recognised(tmp_path: Path, data: bytes, what: str) -> None:
    with pytest.raises(InputError) as caught:
        open_csv(write(tmp_path, data))
    assert caught.value.message == what
    assert "save it as 'CSV UTF-8" in str(caught.value.fix)


def test_nul_bytes_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="NUL bytes"):
        open_csv(write(tmp_path, b"a,b\n1,\x002\n"))
    with pytest.raises(InputError, match="file not found"):
        open_csv(tmp_path / "absent.csv")


def test_find_column_ignores_case_and_suggests_the_closest_header() -> None:
    header = ("batch  name", "Number of Balots")
    assert find_column(header, "Batch Name", file="m.csv") == "batch  name"
    assert find_column(header, "CVR", file="m.csv", required=False) is None
    with pytest.raises(InputError) as caught:
        find_column(header, "Number of Ballots", file="m.csv")
    assert str(caught.value) == (
        "m.csv, line 1, field 'Number of Ballots': required column 'Number of Ballots' is "
        "missing. Fix: rename the column 'Number of Balots' to 'Number of Ballots'."
    )
    with pytest.raises(InputError) as caught:
        find_column(("x", "y"), "Tabulator", file="m.csv")
    assert caught.value.fix == "add a column named 'Tabulator' (the header has 'x', 'y')."


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("17", 17), ("0012", 12)])
def test_parse_count(text: str, value: int) -> None:
    assert parse_count(text, file="f.csv", line=4, field="n") == value


@pytest.mark.parametrize(
    ("text", "message", "fix"),
    [
        (
            "1,234",
            "'1,234' contains a thousands separator (',').",
            "write the count as digits only, e.g. 1234 (format the column as a plain number).",
        ),
        (
            "1 234 567",
            "'1 234 567' contains a thousands separator (' ').",
            "write the count as digits only, e.g. 1234567 (format the column as a plain number).",
        ),
        (
            "1.234",
            "'1.234' is not a whole number.",
            "write the count as digits only: 1234 if '.' separates thousands here.",
        ),
        (
            "12.0",
            "'12.0' is not a whole number.",
            "counts are whole numbers: write them without a decimal point or comma.",
        ),
        ("-3", "'-3' is negative.", "counts cannot be below 0."),
        ("", "the count is missing.", "write the count (0 if there were none)."),
        ("twelve", "'twelve' is not a whole number.", "write the count with the digits 0-9 only."),
        ("١٢", "'١٢' is not a whole number.", "write the count with the digits 0-9 only."),
    ],
)
def test_parse_count_errors(text: str, message: str, fix: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_count(text, file="f.csv", line=4, field="n")
    error = caught.value
    assert (error.file, error.line, error.field, error.message, error.fix) == (
        "f.csv",
        4,
        "n",
        message,
        fix,
    )


def test_parse_flag() -> None:
    flags = [parse_flag(v, file="f", line=2, field="CVR") for v in ("Y", "n", "Yes", "NO", "")]
    assert flags == [True, False, True, False, None]
    with pytest.raises(InputError) as caught:
        parse_flag("maybe", file="f", line=2, field="CVR")
    assert (
        str(caught.value)
        == "f, line 2, field 'CVR': 'maybe' is not a yes/no value. Fix: write Y or N."
    )


def test_absurdly_long_counts_are_input_errors() -> None:
    assert parse_count("0" * 30 + "7", file="f.csv", line=2, field="n") == 7
    with pytest.raises(InputError, match="5000 digits"):
        parse_count("9" * 5_000, file="f.csv", line=2, field="n")
