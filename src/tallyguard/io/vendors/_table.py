"""CSV tables inside vendor exports, read with the rules of :mod:`tallyguard.io.csvfile`.

Vendor CSV files differ from tallyguard's own in two ways that
:func:`~tallyguard.io.csvfile.open_csv` does not cover: several header rows
(Dominion's four; ES&S ballots files' five metadata rows; Hart's
``#FormatVersion`` line) and files inside ZIP archives. :class:`Table` reads
any :class:`~tallyguard.io.vendors._sources.Member` as CSV with the same
defences - encoding fallback, delimiter sniffing (``,``, ``;`` or tab), CRLF,
Excel's ``="0012"`` (:func:`~tallyguard.io.csvfile.clean_cell`), trailing blank
rows - and the same errors, naming the member, the line and the column.
"""

from __future__ import annotations

import difflib
import io
import zlib
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from tallyguard.errors import InputError
from tallyguard.io.csvfile import clean_cell, csv_records, sniff_delimiter
from tallyguard.io.vendors._sources import Member, member_encoding, open_member

_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
_SNIFF_LINES = 5


@dataclass(frozen=True)
class Table:
    """A member read as CSV: its encoding, its delimiter and notes on how it was read."""

    member: Member
    encoding: str
    delimiter: str
    notes: list[str]

    @property
    def name(self) -> str:
        """The member's name, for messages."""
        return self.member.name

    def records(self) -> Generator[tuple[int, list[str]], None, None]:
        """Every raw record (cells as written) with the physical line it starts on."""
        with open_member(self.member) as raw:
            stream = io.TextIOWrapper(raw, encoding=self.encoding, newline=None)
            yield from csv_records(stream, self.delimiter, file=self.name)

    def error(self, message: str, line: int | None, field: str | None, fix: str) -> InputError:
        """An :class:`InputError` located in this table."""
        return InputError(message, file=self.name, line=line, field=field, fix=fix)

    def width_error(self, line: int, found: int, expected: int) -> InputError:
        """The error for a row with the wrong number of fields."""
        return self.error(
            f"the row has {found} fields but the header has {expected}.",
            line,
            None,
            f"check for a missing or extra {_NAMES[self.delimiter]}; put double quotes "
            "around values that contain one.",
        )


def open_table(member: Member) -> Table:
    """Detect the encoding and the delimiter of ``member`` (from its first lines)."""
    encoding, notes = member_encoding(member)
    with open_member(member) as raw:
        stream = io.TextIOWrapper(raw, encoding=encoding, newline=None)
        try:
            head = "".join(islice(stream, _SNIFF_LINES))
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
            raise InputError(f"cannot be read ({error}).", file=member.name) from None
    return Table(member, encoding, sniff_delimiter(head.replace("\n", " ")), list(notes))


def is_blank(cells: Sequence[str]) -> bool:
    """True when every cell is empty after cleaning."""
    return not any(clean_cell(cell) for cell in cells)


def data_rows(
    table: Table, records: Iterator[tuple[int, list[str]]], width: int
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line, raw cells)`` of the data rows left in ``records``, checked.

    Rows are cut to ``width`` fields; extra fields must be empty. Blank rows at
    the end are skipped; a blank row followed by data is an error, as is a row
    with fewer than ``width`` fields.
    """
    blank: int | None = None
    for line, cells in records:
        if is_blank(cells):
            blank = line if blank is None else blank
            continue
        if blank is not None:
            raise table.error(
                "blank row between data rows.",
                blank,
                None,
                "delete the blank row (only blank rows at the end of the file are ignored).",
            )
        if len(cells) != width:
            if len(cells) < width or not is_blank(cells[width:]):
                raise table.width_error(line, len(cells), width)
            cells = cells[:width]
        yield line, cells


def column_index(
    header: Sequence[str], name: str, table: Table, line: int, *, required: bool = True
) -> int | None:
    """Index of the column called ``name`` (ignoring case and runs of spaces).

    Raises:
        InputError: a required column is absent; the fix names the closest
            header entry (``difflib``) or lists the header.
    """
    key = " ".join(name.split()).casefold()
    for k, entry in enumerate(header):
        if " ".join(entry.split()).casefold() == key:
            return k
    if not required:
        return None
    named = [entry for entry in header if entry]
    close = difflib.get_close_matches(name, named, n=1, cutoff=0.6)
    fix = (
        f"rename the column {close[0]!r} to {name!r}."
        if close
        else f"add a column named {name!r} (the header has {', '.join(map(repr, named))})."
    )
    raise table.error(f"required column {name!r} is missing.", line, name, fix)
