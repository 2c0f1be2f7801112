"""ES&S ballots files: where each card of an ES&S CVR export is (batch, tabulator, position).

See :mod:`tallyguard.io.vendors.ess` for the format (Arlo
``server/api/cvrs.py::parse_ess_cvrs``): optional five metadata rows starting
``Ballots``, then ``Cast Vote Record, Batch, ..., Tabulator CVR, ..., Machine``.
``Tabulator CVR`` is ten digits (tabulator, six-digit ballot number) or a
16-character hexadecimal id; Excel drops leading zeros of the ten-digit form,
which are restored (and noted).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from itertools import islice

from tallyguard.io.csvfile import clean_cell
from tallyguard.io.vendors._table import Table, column_index, data_rows

_PREAMBLE_ROWS = 10

_TEN_DIGITS = re.compile(r"[0-9]{10}")
_HEX = re.compile(r"[0-9a-fA-F]{16}")


@dataclass(frozen=True)
class Ballot:
    batch: str
    tabulator: str
    position: int | None
    imprinted: str
    place: str  # "<file>, line N" for messages


@dataclass(frozen=True)
class BallotColumns:
    cvr: int
    batch: int
    tabulator_cvr: int
    machine: int | None


def cvr_key(number: str) -> str:
    """Join key of a ``Cast Vote Record``: leading zeros dropped from numbers."""
    return (number.lstrip("0") or "0") if number.isascii() and number.isdigit() else number


def header_row(table: Table) -> tuple[int, int, list[str]]:
    """The header row (after any ``Ballots`` preamble): records before it, its line, names."""
    with closing(table.records()) as records:
        rows = list(islice(records, _PREAMBLE_ROWS))
    if not rows:
        raise table.error("the file is empty.", None, None, "export it again.")
    for index, (line, cells) in enumerate(rows):
        names = [clean_cell(cell) for cell in cells]
        if any(folded(name) == "cast vote record" for name in names):
            return index, line, names
    line, cells = rows[0]
    column_index([clean_cell(c) for c in cells], "Cast Vote Record", table, line)
    raise table.error(  # pragma: no cover - column_index raised
        "no 'Cast Vote Record' column.", line, "Cast Vote Record", "export the file again."
    )


def folded(name: str) -> str:
    """A column name compared ignoring case and runs of white space (as ``column_index``)."""
    return " ".join(name.split()).casefold()


def ballot_columns(table: Table, header: list[str], line: int) -> BallotColumns:
    def find(name: str, required: bool = True) -> int | None:
        return column_index(header, name, table, line, required=required)

    cvr, batch, tab = find("Cast Vote Record"), find("Batch"), find("Tabulator CVR")
    assert cvr is not None
    assert batch is not None
    assert tab is not None
    return BallotColumns(cvr, batch, tab, find("Machine", required=False))


def _parse_tabulator_cvr(
    table: Table, value: str, machine: str | None, line: int, padded: list[int]
) -> tuple[str, int | None]:
    """(tabulator, position) from a ``Tabulator CVR`` (and ``Machine``) value."""
    if value.isascii() and value.isdigit() and len(value) < 10:
        value = value.zfill(10)
        padded[0] += 1
    if _TEN_DIGITS.fullmatch(value):
        return (machine or value[:4]), int(value[4:])
    if _HEX.fullmatch(value) and machine:
        return machine, None
    fix = (
        "Tabulator CVR should be ten digits (tabulator and ballot number) or a 16-character "
        "hexadecimal id; if the file was opened in Excel, export it again from ES&S."
    )
    if _HEX.fullmatch(value):
        fix = "hexadecimal Tabulator CVR ids need a Machine column naming the tabulator."
    raise table.error(f"{value!r} is not a valid Tabulator CVR.", line, "Tabulator CVR", fix)


def read_ballots(tables: Sequence[Table], notes: list[str]) -> dict[str, Ballot]:
    ballots: dict[str, Ballot] = {}
    totals, padded = 0, [0]
    for table in tables:
        index, line, header = header_row(table)
        columns = ballot_columns(table, header, line)
        with closing(table.records()) as records:
            for _ in islice(records, index + 1):
                pass
            for row_line, cells in data_rows(table, records, header_width(header)):
                if clean_cell(cells[0]).casefold().startswith("total"):
                    totals += 1
                    continue
                key, ballot = parse_ballot(table, columns, cells, row_line, padded)
                first = ballots.get(key)
                if first is not None:
                    raise table.error(
                        f"Cast Vote Record {key} appears twice ({first.place} and line "
                        f"{row_line}).",
                        row_line,
                        "Cast Vote Record",
                        "list every card once across the ballots files.",
                    )
                ballots[key] = ballot
    if totals:
        notes.append(f"skipped {totals} 'Total' summary row(s) in the ballots file(s)")
    if padded[0]:
        notes.append(
            f"{padded[0]} Tabulator CVR value(s) had lost their leading zeros (Excel); "
            "zero-padded to ten digits"
        )
    return ballots


def parse_ballot(
    table: Table, columns: BallotColumns, cells: list[str], line: int, padded: list[int]
) -> tuple[str, Ballot]:
    number = clean_cell(cells[columns.cvr])
    batch = clean_cell(cells[columns.batch])
    tabulator_cvr = clean_cell(cells[columns.tabulator_cvr])
    machine = clean_cell(cells[columns.machine]) if columns.machine is not None else None
    for value, name in (
        (number, "Cast Vote Record"),
        (batch, "Batch"),
        (tabulator_cvr, "Tabulator CVR"),
    ):
        if not value:
            raise table.error(f"the {name} is empty.", line, name, "fill it in.")
    tabulator, position = _parse_tabulator_cvr(table, tabulator_cvr, machine, line, padded)
    place = f"{table.member.basename}, line {line}"
    return cvr_key(number), Ballot(batch, tabulator, position, tabulator_cvr, place)


def header_width(header: list[str]) -> int:
    width = len(header)
    while width and not header[width - 1]:
        width -= 1
    return width
