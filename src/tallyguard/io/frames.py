"""Column-wise reading of a checked CSV file into polars, for large tables.

The fast path parses the decoded text with polars (every column as a string)
and applies the same rules as :meth:`CsvFile.checked_rows` vectorised: cells
are stripped and unwrapped from ``="..."``, trailing blank rows are dropped,
blank rows between data rows and rows with the wrong number of fields are
errors. Line numbers for error messages are worked out only when an error is
raised: row ``i`` is on line ``header_lines + 1 + i`` unless a quoted value
spans lines, in which case the file is re-scanned.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from tallyguard.errors import InputError
from tallyguard.io.csvfile import CsvFile, parse_count

_REEXPORT = "export the file again as CSV."
LineOf = Callable[[int], int | None]


def _clean(name: str) -> pl.Expr:
    stripped = pl.col(name).str.strip_chars()
    guarded = (
        stripped.str.starts_with('="')
        & stripped.str.ends_with('"')
        & (stripped.str.len_chars() >= 3)
    )
    inner = stripped.str.slice(2, stripped.str.len_chars() - 3).str.strip_chars()
    return pl.when(guarded).then(inner).otherwise(stripped).alias(name)


@dataclass(frozen=True)
class StringFrame:
    """A CSV file's data rows as strings, one column per header name."""

    csv: CsvFile
    frame: pl.DataFrame
    simple: bool

    def line_of(self, index: int) -> int:
        """The physical line on which data row ``index`` (0-based) starts."""
        if self.simple:
            return self.csv.header_lines + 1 + index
        with closing(self.csv.records()) as records:
            next(records)
            for k, (line, _cells) in enumerate(records):
                if k == index:
                    return line
        raise IndexError(index)


def _split_body(csv: CsvFile, text: str) -> str:
    position = 0
    for _ in range(csv.header_lines):
        position = text.index("\n", position) + 1
    return text[position:]


def _scan(csv: CsvFile) -> bool:
    """Check field counts record by record; True if no record spans two lines."""
    records = csv.records()
    next(records)
    one_line = True
    for k, (line, cells) in enumerate(records):
        one_line = one_line and line == csv.header_lines + 1 + k
        if len(cells) != csv.width and any(cell.strip() for cell in cells):
            _raise_first_problem(csv)
    return one_line


def _raise_first_problem(csv: CsvFile) -> None:
    for _ in csv.checked_rows():
        pass


def read_string_frame(csv: CsvFile) -> StringFrame:
    """Read every data row of ``csv`` as cleaned strings (see the module docstring)."""
    body = _split_body(csv, csv.text())
    simple = _scan(csv) if '"' in body else True
    internal = [f"c{k}" for k in range(csv.width)]
    try:
        raw = pl.read_csv(
            body.encode("utf-8"),
            has_header=False,
            separator=csv.delimiter,
            schema=dict.fromkeys(internal, pl.String),
            empty_string_is_null=False,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        _raise_first_problem(csv)
        raise InputError("could not be parsed as CSV.", file=csv.path, fix=_REEXPORT) from None
    frame = raw.select([_clean(name) for name in internal])
    strings = StringFrame(csv, frame, simple)
    blank = frame.select(pl.all_horizontal([pl.col(c) == "" for c in internal])).to_series()
    last = int((~blank).arg_true()[-1])
    if '"' not in body:
        lines = pl.Series(body.split("\n")[: frame.height])
        fields = lines.str.count_matches(csv.delimiter, literal=True) + 1
        wrong = (fields != csv.width) & ~blank
        if wrong.any():
            index = int(wrong.arg_true()[0])
            raise csv.width_error(strings.line_of(index), int(fields[index]))
    gaps = blank.head(last).arg_true()
    if len(gaps):
        raise csv.blank_row_error(strings.line_of(int(gaps[0])))
    if any((frame[internal[k]] != "").any() for k in range(len(csv.header), csv.width)):
        _raise_first_problem(csv)
    names = [pl.col(internal[k]).alias(name) for k, name in enumerate(csv.header)]
    return StringFrame(csv, frame.head(last + 1).select(names), simple)


def whole_numbers(
    values: pl.Series, *, file: str | Path, field: str, line_of: LineOf, hint: str = ""
) -> pl.Series:
    """Cast a string column of counts to Int64, raising :func:`parse_count`'s error.

    The first bad value is reported on line ``line_of(row index)``; when that
    is ``None`` (a Parquet file) the message names the 1-based data row instead.
    ``hint`` is appended to the fix.
    """
    bad = ~values.str.contains(r"^[0-9]+$").fill_null(False)
    if bad.any():
        index = int(bad.arg_true()[0])
        line = line_of(index)
        try:
            parse_count(values[index] or "", file=file, line=line, field=field)
        except InputError as error:
            message = (
                error.message if line is not None else f"data row {index + 1}: {error.message}"
            )
            fix = f"{error.fix} {hint}".strip()
            raise InputError(message, file=file, line=line, field=field, fix=fix) from None
    counts = values.cast(pl.Int64, strict=False)
    if counts.null_count():
        index = int(counts.is_null().arg_true()[0])
        raise InputError(
            f"{values[index]!r} is too large to be a count.",
            file=file,
            line=line_of(index),
            field=field,
            fix="check the value.",
        )
    return counts.alias(values.name)


def first_duplicate(values: pl.Series) -> tuple[int, int] | None:
    """Row indices of the first two equal non-null values, or ``None``."""
    duplicated = values.is_duplicated() & values.is_not_null()
    if not duplicated.any():
        return None
    second = int((values.is_first_distinct().not_() & duplicated).arg_true()[0])
    first = int((values == values[second]).arg_true()[0])
    return first, second
