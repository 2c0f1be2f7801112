"""The polars fast path applies the same rules as the row iterator, with the same lines."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tallyguard.errors import InputError
from tallyguard.io.csvfile import open_csv
from tallyguard.io.frames import first_duplicate, read_string_frame, whole_numbers


def frame_of(tmp_path: Path, data: bytes) -> pl.DataFrame:
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    return read_string_frame(open_csv(path)).frame


def error_of(tmp_path: Path, data: bytes) -> InputError:
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        read_string_frame(open_csv(path))
    return caught.value


def test_cells_are_cleaned_and_trailing_blanks_dropped(tmp_path: Path) -> None:
    frame = frame_of(tmp_path, b'\xef\xbb\xbf id ;n;;\r\n="0012"; 7 ;;\r\nb;;;\r\n;;;\r\n\r\n')
    assert frame.columns == ["id", "n"]
    assert frame.rows() == [("0012", "7"), ("b", "")]


def test_quoted_values_and_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b'a,b\n"x, y",1\n"two\nlines",2\n3,"4"\n')
    strings = read_string_frame(open_csv(path))
    assert strings.frame.rows() == [("x, y", "1"), ("two\nlines", "2"), ("3", "4")]
    assert [strings.line_of(i) for i in range(3)] == [2, 3, 5]
    assert not strings.simple


@pytest.mark.parametrize(
    ("data", "line", "start"),
    [
        (b"a,b\n1,2\n\n3,4\n", 3, "blank row between data rows"),
        (b'a,b\n"1",2\n\n3,4\n', 3, "blank row between data rows"),
        (b"a,b\n1,2\n3\n", 3, "the row has 1 fields but the header has 2"),
        (b'a,b\n"1",2\n3\n', 3, "the row has 1 fields but the header has 2"),
        (b"a,b\n1,2\n3,4,5\n", 3, "the row has 3 fields but the header has 2"),
        (b"a,b,\n1,2,\n3,4,x\n", 3, "a value ('x') sits in column 3"),
        (b'a,b\n1,2\n"x"y,4\n', 3, "the quoting is broken"),
    ],
)
def test_structural_errors_match_the_row_iterator(
    tmp_path: Path, data: bytes, line: int, start: str
) -> None:
    error = error_of(tmp_path, data)
    assert (error.line, error.message[: len(start)]) == (line, start)
    path = tmp_path / "t.csv"
    with pytest.raises(InputError) as caught:
        list(open_csv(path).rows())
    assert str(caught.value) == str(error)


def test_whole_numbers() -> None:
    values = pl.Series("n", ["3", "0012", "40"])
    assert whole_numbers(values, file="f", field="n", line_of=lambda i: i + 2).to_list() == [
        3,
        12,
        40,
    ]
    with pytest.raises(InputError) as caught:
        whole_numbers(pl.Series("n", ["3", "1,234"]), file="f", field="n", line_of=lambda i: i + 2)
    assert (caught.value.line, caught.value.message) == (
        3,
        "'1,234' contains a thousands separator (',').",
    )
    with pytest.raises(InputError) as caught:
        whole_numbers(
            pl.Series("n", ["", "3"]), file="f", field="n", line_of=lambda i: None, hint="Or not."
        )
    assert (caught.value.line, caught.value.message, caught.value.fix) == (
        None,
        "data row 1: the count is missing.",
        "write the count (0 if there were none). Or not.",
    )
    with pytest.raises(InputError, match="too large"):
        whole_numbers(pl.Series("n", ["9" * 30]), file="f", field="n", line_of=lambda i: 2)


def test_first_duplicate() -> None:
    assert first_duplicate(pl.Series(["a", "b", "c"])) is None
    assert first_duplicate(pl.Series(["a", "b", "c", "b", "a"])) == (1, 3)
    assert first_duplicate(pl.Series(["a", None, None])) is None
