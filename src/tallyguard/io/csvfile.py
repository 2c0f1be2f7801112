"""Defensive reading of the CSV files election officials export.

Files follow RFC 4180 (https://www.rfc-editor.org/rfc/rfc4180) as written by
spreadsheets and vendor software, with the deviations officials' uploads really
have (the same list Arlo's ``server/util/csv_parse.py`` copes with):

* encoding: UTF-8 with or without a byte-order mark; Windows-1252 (Excel's
  "CSV" on Western Windows) when the bytes are not valid UTF-8, recorded in
  :attr:`CsvFile.notes`; UTF-16 with a BOM (Excel's "Unicode text");
* line ends: CRLF, LF or bare CR; a ``.gz`` suffix means gzip-compressed;
* delimiter: ``,``, ``;`` or tab, sniffed from the header line;
* cells: surrounding whitespace is stripped and Excel's text guard ``="0012"``
  is unwrapped to ``0012``;
* rows: fully blank rows at the end are ignored; a blank row between data rows
  is an error, as is a header with no rows, a repeated column name or a row with
  the wrong number of fields.

Every problem is an :class:`~tallyguard.errors.InputError` naming the file, the
1-based physical line and the column.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import zlib
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tallyguard.errors import InputError
from tallyguard.io.textfile import detect_encoding, open_binary

_DELIMITERS = {",": 2, ";": 1, "\t": 0}  # value = preference when counts tie
QUOTING_FIX = (
    "put double quotes around a value containing the delimiter, a quote or a line break, "
    'and double any " inside it.'
)
_WHOLE = re.compile(r"[0-9]+")
#: No vote or ballot count has more digits (and Python refuses int() beyond 4,300).
MAX_COUNT_DIGITS = 18
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:([,.\u00a0\u202f' ])[0-9]{3})+")
_DECIMAL = re.compile(r"[0-9]*[.,][0-9]+")
_YES = frozenset({"y", "yes", "true", "1"})
_NO = frozenset({"n", "no", "false", "0"})


def clean_cell(value: str) -> str:
    """Strip surrounding whitespace and unwrap Excel's ``="..."`` text guard."""
    value = value.strip()
    if len(value) >= 3 and value.startswith('="') and value.endswith('"'):
        value = value[2:-1].strip()
    return value


def csv_records(
    stream: IO[str], delimiter: str, *, file: str | Path
) -> Generator[tuple[int, list[str]], None, None]:
    """Raw CSV records of ``stream``, each with the physical line it starts on.

    Broken quoting, and bytes that cannot be read or decoded part way through (a
    cut-short ``.gz`` or ZIP member), are :class:`InputError` naming ``file`` and
    the line.
    """
    reader = csv.reader(stream, delimiter=delimiter, strict=True)
    end = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InputError(
                f"the quoting is broken ({error}).", file=file, line=end + 1, fix=QUOTING_FIX
            ) from None
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
            raise InputError(
                f"cannot be read past line {end} ({error}).",
                file=file,
                fix="export the file again.",
            ) from None
        start, end = end + 1, reader.line_num
        yield start, row


def sniff_delimiter(line: str) -> str:
    """The delimiter (``,``, ``;`` or tab) used most often outside quotes in ``line``."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    inside = False
    for char in line:
        if char == '"':
            inside = not inside
        elif not inside and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: (counts[d], _DELIMITERS[d]))
    return best if counts[best] else ","


def find_column(
    header: Sequence[str], name: str, *, file: str | Path, required: bool = True
) -> str | None:
    """The header entry equal to ``name`` ignoring case (and runs of spaces).

    Args:
        header: the column names to search.
        name: the column wanted.
        file: named in the error.
        required: raise if absent (else return ``None``).

    Raises:
        InputError: a required column is missing; the fix suggests the closest
            header (``difflib.get_close_matches``) or lists the header.
    """
    key = " ".join(name.split()).casefold()
    for entry in header:
        if " ".join(entry.split()).casefold() == key:
            return entry
    if not required:
        return None
    lowered = {entry.casefold(): entry for entry in header}
    close = difflib.get_close_matches(key, list(lowered), n=1, cutoff=0.6)
    if close:
        fix = f"rename the column {lowered[close[0]]!r} to {name!r}."
    else:
        shown = ", ".join(repr(entry) for entry in header)
        fix = f"add a column named {name!r} (the header has {shown})."
    raise InputError(
        f"required column {name!r} is missing.", file=file, line=1, field=name, fix=fix
    )


def require_column(header: Sequence[str], name: str, *, file: str | Path) -> str:
    """Like :func:`find_column` for a required column, typed as always found."""
    found = find_column(header, name, file=file)
    assert found is not None
    return found


def parse_count(value: str, *, file: str | Path, line: int | None, field: str) -> int:
    """Parse a whole, non-negative count written with the digits 0-9 only.

    Args:
        value: the cleaned cell; ``file``, ``line`` and ``field`` locate it.

    Raises:
        InputError: for ``"1,234"`` (a thousands separator), ``"12.0"`` (a
            decimal), ``"-3"``, ``""`` or anything else; the fix says how to
            write the number.
    """

    def error(message: str, fix: str) -> InputError:
        return InputError(message, file=file, line=line, field=field, fix=fix)

    if _WHOLE.fullmatch(value):
        if len(value.lstrip("0")) > MAX_COUNT_DIGITS:
            raise error(
                f"{value[:20]}... has {len(value)} digits.",
                "check the cell: no count is that large.",
            )
        return int(value)

    if not value:
        raise error("the count is missing.", "write the count (0 if there were none).")
    if value.startswith("-") and _WHOLE.fullmatch(value[1:]):
        raise error(f"{value!r} is negative.", "counts cannot be below 0.")
    digits = re.sub(r"[^0-9]", "", value)
    grouped = _THOUSANDS.fullmatch(value)
    if grouped and grouped.group(1) != ".":
        raise error(
            f"{value!r} contains a thousands separator ({grouped.group(1)!r}).",
            f"write the count as digits only, e.g. {digits} (format the column as a plain number).",
        )
    if grouped:
        raise error(
            f"{value!r} is not a whole number.",
            f"write the count as digits only: {digits} if '.' separates thousands here.",
        )
    if _DECIMAL.fullmatch(value):
        raise error(
            f"{value!r} is not a whole number.",
            "counts are whole numbers: write them without a decimal point or comma.",
        )
    raise error(f"{value!r} is not a whole number.", "write the count with the digits 0-9 only.")


def parse_flag(value: str, *, file: str | Path, line: int | None, field: str) -> bool | None:
    """Parse a yes/no flag (Arlo's manifest ``CVR`` column is ``Y``/``N``).

    Returns:
        ``True`` for Y/Yes/True/1, ``False`` for N/No/False/0 (any case),
        ``None`` for an empty cell.

    Raises:
        InputError: anything else, located by ``file``, ``line``, ``field``.
    """
    folded = value.casefold()
    if not folded:
        return None
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    raise InputError(
        f"{value!r} is not a yes/no value.", file=file, line=line, field=field, fix="write Y or N."
    )


@dataclass(frozen=True)
class CsvFile:
    """An opened, sniffed CSV file; iterate its data rows with :meth:`rows`.

    ``header`` holds the cleaned column names: an unnamed column in the middle
    is called ``column_<k>`` (1-based) and unnamed columns at the end (Excel's
    trailing delimiters) are dropped, their cells must then be empty.
    """

    path: Path
    encoding: str
    delimiter: str
    header: tuple[str, ...]
    width: int
    header_lines: int
    notes: list[str]

    def column(self, name: str, *, required: bool = True) -> str | None:
        """The actual header name for ``name`` (case-insensitive); see :func:`find_column`."""
        return find_column(self.header, name, file=self.path, required=required)

    def text(self) -> str:
        """The whole decoded text with line ends normalised to ``\\n``."""
        with self._open_text() as stream:
            return stream.read()

    def _open_text(self) -> IO[str]:
        return io.TextIOWrapper(open_binary(self.path), encoding=self.encoding, newline=None)

    def records(self) -> Generator[tuple[int, list[str]], None, None]:
        """Every raw record (header included) with the physical line it starts on."""
        with self._open_text() as stream:
            yield from csv_records(stream, self.delimiter, file=self.path)

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield ``(line, {column: cleaned cell})`` for every data row, streaming."""
        positions = [(name, k) for k, name in enumerate(self.header)]
        for line, cells in self.checked_rows():
            yield line, {name: cells[k] for name, k in positions}

    def checked_rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yield ``(line, cleaned cells)`` of data rows after the structural checks."""
        blank: int | None = None
        rows = self.records()
        next(rows, None)
        for line, raw in rows:
            cells = [clean_cell(cell) for cell in raw]
            if not any(cells):
                blank = line if blank is None else blank
                continue
            if blank is not None:
                raise self.blank_row_error(blank)
            if len(cells) != self.width:
                raise self.width_error(line, len(cells))
            for k in range(len(self.header), self.width):
                if cells[k]:
                    raise InputError(
                        f"a value ({cells[k]!r}) sits in column {k + 1}, which has no name.",
                        file=self.path,
                        line=line,
                        fix="give the column a name in the header, or delete the value.",
                    )
            yield line, cells

    def blank_row_error(self, line: int) -> InputError:
        """The error for a blank row between data rows."""
        return InputError(
            "blank row between data rows.",
            file=self.path,
            line=line,
            fix="delete the blank row (only blank rows at the end of the file are ignored).",
        )

    def width_error(self, line: int, fields: int) -> InputError:
        """The error for a row whose number of fields differs from the header's."""
        return InputError(
            f"the row has {fields} fields but the header has {self.width}.",
            file=self.path,
            line=line,
            fix=(
                f"check for a missing or extra {_name(self.delimiter)}; put double quotes "
                "around values that contain one."
            ),
        )


def _name(delimiter: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter]


def _read_header(
    path: Path, records: Iterator[tuple[int, list[str]]]
) -> tuple[list[str], int, int]:
    """Cleaned header names, the raw width and the header's last line."""
    first = next(records, None)
    if first is None:
        raise InputError("the file is empty.", file=path, fix="export the data again.")
    raw_header = [clean_cell(cell) for cell in first[1]]
    if not any(raw_header):
        raise InputError(
            "the first line is blank.", file=path, line=1, fix="put the header row on line 1."
        )
    named = len(raw_header)
    while not raw_header[named - 1]:
        named -= 1
    header = [name or f"column_{k + 1}" for k, name in enumerate(raw_header[:named])]
    seen: dict[str, int] = {}
    for k, name in enumerate(header):
        key = " ".join(name.split()).casefold()
        if key in seen:
            raise InputError(
                f"the column name {name!r} appears twice (columns {seen[key] + 1} and {k + 1}).",
                file=path,
                line=1,
                field=name,
                fix="rename or delete one of the two columns.",
            )
        seen[key] = k
    header_lines = 0
    for line, raw in records:
        header_lines = header_lines or line - 1
        if any(clean_cell(cell) for cell in raw):
            break
    else:
        raise InputError(
            "the file has a header but no data rows.", file=path, line=1, fix="add the data rows."
        )
    return header, len(raw_header), header_lines


def open_csv(path: str | Path) -> CsvFile:
    """Open ``path``: detect encoding and delimiter, read and check the header.

    Returns:
        The :class:`CsvFile`; its rows are read lazily by :meth:`CsvFile.rows`.

    Raises:
        InputError: a missing, empty or binary (spreadsheet) file, bytes that
            are neither UTF-8 nor Windows-1252, a repeated column name
            (ignoring case) or a header without any data row.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found.", file=path, fix="check the path and the file name.")
    encoding, notes = detect_encoding(path)
    with io.TextIOWrapper(open_binary(path), encoding=encoding, newline=None) as stream:
        delimiter = sniff_delimiter(stream.readline())
    probe = CsvFile(path, encoding, delimiter, (), 0, 1, notes)
    with closing(probe.records()) as records:
        header, width, header_lines = _read_header(path, records)
    return CsvFile(path, encoding, delimiter, tuple(header), width, header_lines, notes)
