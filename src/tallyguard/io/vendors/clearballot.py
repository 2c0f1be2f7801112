"""Clear Ballot ClearVote cast vote records (CSV).

Layout (Arlo ``server/api/cvrs.py::parse_clearballot_cvrs`` and its test data
``CLEARBALLOT_CVRS``): the columns ``RowNumber, BoxID, BoxPosition, BallotID,
PrecinctID, BallotStyleID, PrecinctStyleName, ScanComputerName, Status,
Remade``, then one column per choice named
``Choice_<id>_1:<Contest>:Vote For <k>:<Choice>:<Party>``. A choice cell is
``1`` (marked) or ``0``; every cell of a contest is empty when the contest is
not on the card's ballot style.

Mapping: the batch is (``ScanComputerName``, ``BoxID``), the position
``BoxPosition``, ``imprinted_id`` the ``BallotID``; ``cvr_id`` is
``ScanComputerName-BoxID-BoxPosition`` (like Dominion's
``Tabulator-Batch-Record``); ``ballot_style`` is ``BallotStyleID`` and
``unit_id`` ``PrecinctID``. Ranked-choice exports (a second number other than
1 in ``Choice_<id>_<n>``, arlo PR #2243) are refused rather than guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from tallyguard.io.csvfile import clean_cell
from tallyguard.io.vendors._common import (
    BadCellError,
    IdRegistry,
    VendorCvrRecord,
    contest_marks,
    normalise_name,
    parse_position,
    unique_names,
    whole,
)
from tallyguard.io.vendors._sources import single_table
from tallyguard.io.vendors._table import Table, column_index, data_rows, open_table

CHOICE_COLUMN = re.compile(
    r"^Choice_(?P<id>[^_:]*)_(?P<rank>\d+):(?P<contest>.*):Vote For (?P<n>\d+):"
    r"(?P<choice>.*):(?P<party>[^:]*)$"
)
_MARK_FIX = "each choice cell must be 1 (marked) or 0 (not marked), or empty if not on the ballot."


@dataclass(frozen=True)
class _Contest:
    name: str
    columns: tuple[int, ...]
    choices: tuple[str, ...]


@dataclass(frozen=True)
class _Layout:
    width: int
    box: int
    position: int
    scanner: int
    ballot_id: int | None
    style: int | None
    precinct: int | None
    contests: tuple[_Contest, ...]
    header: tuple[str, ...]


def _layout(
    table: Table, line: int, header: list[str], notes: list[str]
) -> tuple[_Layout, dict[str, int]]:
    width = len(header)
    while width and not header[width - 1]:
        width -= 1
    header = header[:width]
    columns: dict[str, list[int]] = {}
    choices: dict[str, list[str]] = {}
    allowed: dict[str, int] = {}
    for k, name in enumerate(header):
        if not name.startswith("Choice_"):
            continue
        match = CHOICE_COLUMN.match(name)
        if match is None:
            raise table.error(
                f"column {name!r} is not 'Choice_<id>_1:<Contest>:Vote For <k>:<Choice>:<Party>'.",
                line,
                name,
                "export the CVRs again from ClearVote without renaming columns.",
            )
        if match.group("rank") != "1":
            raise table.error(
                "ranked-choice Clear Ballot CVRs are not supported.",
                line,
                name,
                "audit ranked contests from a NIST SP 1500-103 export instead.",
            )
        contest = normalise_name(match.group("contest"))
        columns.setdefault(contest, []).append(k)
        choices.setdefault(contest, []).append(normalise_name(match.group("choice")))
        votes_for = whole(match.group("n"))
        if votes_for is None or votes_for < 1:
            raise table.error(
                f"'Vote For {match.group('n')}' is not a number of votes.",
                line,
                name,
                "export the CVRs again from ClearVote.",
            )
        allowed[contest] = votes_for
    if not columns:
        raise table.error(
            "no column starts with 'Choice_'.",
            line,
            None,
            "a Clear Ballot CVR file has one 'Choice_...' column per contest choice.",
        )

    def find(name: str, required: bool = True) -> int | None:
        return column_index(header, name, table, line, required=required)

    box, position, scanner = find("BoxID"), find("BoxPosition"), find("ScanComputerName")
    assert box is not None
    assert position is not None
    assert scanner is not None
    contests = tuple(
        _Contest(name, tuple(ks), unique_names(choices[name], name, notes))
        for name, ks in columns.items()
    )
    layout = _Layout(
        width=width,
        box=box,
        position=position,
        scanner=scanner,
        ballot_id=find("BallotID", required=False),
        style=find("BallotStyleID", required=False),
        precinct=find("PrecinctID", required=False),
        contests=contests,
        header=tuple(header),
    )
    return layout, allowed


@dataclass(frozen=True)
class ClearBallotCsv:
    """An opened Clear Ballot CVR file: contests from the header, records on demand."""

    path: Path
    contests: dict[str, tuple[str, ...]]
    votes_allowed: dict[str, int]
    notes: list[str]
    _table: Table = field(repr=False)
    _layout: _Layout = field(repr=False)

    def records(self) -> Iterator[VendorCvrRecord]:
        """Yield one record per row, checking each as it goes.

        Raises:
            InputError: naming line and column, for an empty ScanComputerName,
                BoxID or BoxPosition, a BoxPosition that is not a whole number
                >= 1, a repeated card, a cell other than 0/1/empty, or a
                contest only partly empty.
        """
        table, lay = self._table, self._layout
        ids = IdRegistry("the card ScanComputerName-BoxID-BoxPosition", "list each card once.")
        with closing(table.records()) as records:
            next(records, None)
            for line, cells in data_rows(table, records, lay.width):
                scanner = self._required(cells, lay.scanner, line)
                box = self._required(cells, lay.box, line)
                text = self._required(cells, lay.position, line)
                column = lay.header[lay.position]
                position = parse_position(text, file=table.name, line=line, field=column)
                cvr_id = f"{scanner}-{box}-{position}"
                ids.add(cvr_id, line, file=table.name, line=line, field=column)
                yield VendorCvrRecord(
                    cvr_id=cvr_id,
                    votes=self._votes(cells, line),
                    batch_name=box,
                    position=position,
                    imprinted_id=_cell(cells, lay.ballot_id),
                    ballot_style=_cell(cells, lay.style),
                    unit_id=_cell(cells, lay.precinct),
                    tabulator=scanner,
                )

    def _required(self, cells: list[str], index: int, line: int) -> str:
        value = clean_cell(cells[index])
        if not value:
            name = self._layout.header[index]
            raise self._table.error(f"the {name} is empty.", line, name, "fill it in.")
        return value

    def _votes(self, cells: list[str], line: int) -> dict[str, tuple[str, ...]]:
        votes: dict[str, tuple[str, ...]] = {}
        for contest in self._layout.contests:
            try:
                marked = contest_marks([cells[k] for k in contest.columns], contest.choices)
            except BadCellError as bad:
                column = self._layout.header[contest.columns[bad.index]]
                if bad.partial:
                    raise self._table.error(
                        f"contest {contest.name!r} is only partly filled in on this row.",
                        line,
                        column,
                        "leave every cell of a contest empty when it is not on the card.",
                    ) from None
                raise self._table.error(
                    f"{bad.value!r} is not a mark.", line, column, _MARK_FIX
                ) from None
            if marked is not None:
                votes[contest.name] = marked
        return votes


def _cell(cells: list[str], index: int | None) -> str | None:
    return None if index is None else (clean_cell(cells[index]) or None)


def read_clearballot(path: str | Path) -> ClearBallotCsv:
    """Open a Clear Ballot CVR CSV and parse its header.

    Returns:
        A :class:`ClearBallotCsv`: ``contests`` maps contest name to choices in
        column order; ``votes_allowed`` holds each contest's ``Vote For <k>``.

    Raises:
        InputError: a missing or unreadable file, no ``Choice_`` column, a
            choice column not in Clear Ballot's form, a ranked-choice export, or
            a missing BoxID/BoxPosition/ScanComputerName column (the closest
            header is named).
    """
    path = Path(path)
    table = open_table(single_table(path, "Clear Ballot CVR"))
    with closing(table.records()) as records:
        first = next(records, None)
    if first is None:
        raise table.error("the file is empty.", None, None, "export the CVRs again.")
    notes = list(table.notes)
    layout, allowed = _layout(table, first[0], [clean_cell(c) for c in first[1]], notes)
    contests = {c.name: c.choices for c in layout.contests}
    return ClearBallotCsv(path, contests, allowed, notes, table, layout)
