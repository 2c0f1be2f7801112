"""Dominion Democracy Suite cast vote records: the CSV export (and, re-exported, the JSON).

The CSV export (``CVR_Export.csv``) opens with four header rows (Arlo
``server/api/cvrs.py::parse_dominion_cvrs``; ColoradoRLA
``test/zoo/arapahoe-regent-3-clear-d52-CVR_Export.csv``, Democracy Suite
5.2.13.9):

1. the election name and the software version, e.g. ``5.2.16.1``;
2. the contest of each choice column, written ``Contest Name (Vote For=N)``;
3. the choice of each column;
4. the column names ``CvrNumber, TabulatorNum, BatchId, RecordId, ImprintedId``
   (or ``UniqueVotingIdentifier``), optionally ``CountingGroup``, then
   ``PrecinctPortion, BallotType``, followed by the party code of each choice.

Each data row is one ballot card: ``1`` (marked) or ``0`` per choice, every
cell of a contest empty when the contest is not on the card's ballot style.
Some exports guard cells as ``="0012"`` (Arlo's
``DOMINION_CVRS_WITH_LEADING_EQUAL_SIGNS``); those are unwrapped.

Mapping: the batch is (``TabulatorNum``, ``BatchId``), the card's position in
it is ``RecordId``, ``cvr_id`` is ``TabulatorNum-BatchId-RecordId`` (the id
SHANGRLA's ``Dominion.read_cvrs`` builds), ``imprinted_id`` is ``ImprintedId``
else ``UniqueVotingIdentifier``, ``ballot_style`` is ``BallotType``,
``unit_id`` is ``PrecinctPortion`` and ``counting_group`` is ``CountingGroup``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from tallyguard.errors import InputError
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
from tallyguard.io.vendors.dominion_json import DominionJson, read_dominion_json

__all__ = ["DominionCsv", "DominionJson", "read_dominion_csv", "read_dominion_json"]

HEADER_ROWS = 4
_CONTEST = re.compile(r"^(?P<name>.*?)\s*\(\s*vote\s*for\s*=\s*(?P<n>\d+)\s*\)$", re.IGNORECASE)
_MARK_FIX = "each choice cell must be 1 (marked) or 0 (not marked), or empty if not on the ballot."
_PARTLY_EMPTY_FIX = (
    "leave every cell of a contest empty when it is not on the card's ballot style; "
    "otherwise write 0 or 1 in each."
)
_FOUR_ROWS = (
    "a Dominion CVR export has four header rows (election and version; contests "
    "'Name (Vote For=N)'; choices; column names): export it again from Democracy Suite."
)


@dataclass(frozen=True)
class _Contest:
    name: str
    columns: tuple[int, ...]
    choices: tuple[str, ...]
    headers: tuple[str, ...]  # "Contest / Choice" per column, for messages


@dataclass(frozen=True)
class _Layout:
    tabulator: int
    batch: int
    record: int
    imprinted: int | None
    unique_voting_id: int | None
    counting_group: int | None
    precinct_portion: int | None
    ballot_type: int | None
    contests: tuple[_Contest, ...]
    width: int


@dataclass(frozen=True)
class DominionCsv:
    """An opened Dominion CSV export: contests from the header, records on demand."""

    path: Path
    election: str | None
    version: str | None
    contests: dict[str, tuple[str, ...]]
    votes_allowed: dict[str, int]
    notes: list[str]
    _table: Table = field(repr=False)
    _layout: _Layout = field(repr=False)

    def records(self) -> Iterator[VendorCvrRecord]:
        """Yield one :class:`VendorCvrRecord` per data row, checking each as it goes.

        Raises:
            InputError: naming the line and column, for an empty TabulatorNum,
                BatchId or RecordId, a RecordId that is not a whole number >= 1,
                a repeated ``Tabulator-Batch-Record`` id (both lines named), a
                choice cell other than 0/1/empty, or a contest only partly empty.
        """
        table, lay = self._table, self._layout
        ids = IdRegistry("the CVR id (TabulatorNum-BatchId-RecordId)", "each card appears once.")
        with closing(table.records()) as records:
            for _ in islice(records, HEADER_ROWS):
                pass
            for line, cells in data_rows(table, records, lay.width):
                yield self._record(cells, line, ids)

    def _record(self, cells: list[str], line: int, ids: IdRegistry) -> VendorCvrRecord:
        lay = self._layout
        tabulator = self._required(cells, lay.tabulator, "TabulatorNum", line)
        batch = self._required(cells, lay.batch, "BatchId", line)
        record = cells[lay.record]
        position = whole(record)
        if position is None or position < 1:
            record = self._required(cells, lay.record, "RecordId", line)
            position = parse_position(record, file=self._table.name, line=line, field="RecordId")
        cvr_id = f"{tabulator}-{batch}-{position}"
        ids.add(cvr_id, line, file=self._table.name, line=line, field="RecordId")
        votes: dict[str, tuple[str, ...]] = {}
        for contest in lay.contests:
            try:
                marked = contest_marks([cells[k] for k in contest.columns], contest.choices)
            except BadCellError as bad:
                raise self._cell_error(contest, bad, line) from None
            if marked is not None:
                votes[contest.name] = marked
        imprinted = _optional(cells, lay.imprinted) or _optional(cells, lay.unique_voting_id)
        return VendorCvrRecord(
            cvr_id=cvr_id,
            votes=votes,
            batch_name=batch,
            position=position,
            imprinted_id=imprinted,
            ballot_style=_optional(cells, lay.ballot_type),
            unit_id=_optional(cells, lay.precinct_portion),
            tabulator=tabulator,
            counting_group=_optional(cells, lay.counting_group),
        )

    def _required(self, cells: list[str], index: int, name: str, line: int) -> str:
        value = clean_cell(cells[index])
        if not value:
            raise self._table.error(
                f"the {name} is empty.",
                line,
                name,
                "every card needs TabulatorNum, BatchId "
                "and RecordId to be found among the paper ballots.",
            )
        return value

    def _cell_error(self, contest: _Contest, bad: BadCellError, line: int) -> InputError:
        column = contest.headers[bad.index]
        if bad.partial:
            return self._table.error(
                f"contest {contest.name!r} is only partly filled in on this row.",
                line,
                column,
                _PARTLY_EMPTY_FIX,
            )
        return self._table.error(f"{bad.value!r} is not a mark.", line, column, _MARK_FIX)


def _optional(cells: list[str], index: int | None) -> str | None:
    if index is None:
        return None
    return clean_cell(cells[index]) or None


def _trimmed(cells: Sequence[str]) -> list[str]:
    cleaned = [clean_cell(cell) for cell in cells]
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    return cleaned


def _header_rows(table: Table) -> list[tuple[int, list[str]]]:
    with closing(table.records()) as records:
        rows = list(islice(records, HEADER_ROWS + 1))
    if not rows:
        raise table.error("the file is empty.", None, None, "export the CVRs again.")
    first = [clean_cell(cell).casefold() for cell in rows[0][1]]
    if "tabulatornum" in first or "cvrnumber" in first:
        raise table.error(
            "the file has one header row, without the election, contest and choice rows.",
            1,
            None,
            _FOUR_ROWS,
        )
    if len(rows) <= HEADER_ROWS:
        raise table.error(
            f"the file has {len(rows)} row(s); a Dominion CVR export has 4 header rows "
            "and then one row per card.",
            rows[-1][0],
            None,
            _FOUR_ROWS,
        )
    return rows[:HEADER_ROWS]


def _contests(
    table: Table, rows: list[tuple[int, list[str]]], first: int, width: int, notes: list[str]
) -> tuple[tuple[_Contest, ...], dict[str, int]]:
    (contest_line, contest_row), (choice_line, choice_row) = rows[1], rows[2]
    contest_cells = [normalise_name(c) for c in _trimmed(contest_row)] + [""] * width
    choice_cells = [normalise_name(c) for c in _trimmed(choice_row)] + [""] * width
    columns: dict[str, list[int]] = {}
    allowed: dict[str, int] = {}
    unparsed: list[str] = []
    for k in range(first, width):
        header = contest_cells[k]
        if not header:
            raise table.error(
                f"column {k + 1} has the choice {choice_cells[k]!r} but no contest.",
                contest_line,
                f"column {k + 1}",
                "write the contest, 'Name (Vote For=N)', above every choice.",
            )
        match = _CONTEST.match(header)
        name = match.group("name") if match else header
        if match and whole(match.group("n")):
            allowed[name] = int(match.group("n"))
        elif name not in unparsed:
            unparsed.append(name)
        if not choice_cells[k]:
            raise table.error(
                f"column {k + 1} of contest {name!r} has no choice name.",
                choice_line,
                f"column {k + 1}",
                "write the choice name in the third header row.",
            )
        columns.setdefault(name, []).append(k)
    for name in unparsed:
        if name not in allowed:
            notes.append(f"contest {name!r} has no '(Vote For=N)'; the votes allowed are unknown")
    contests = []
    for name, ks in columns.items():
        choices = unique_names([choice_cells[k] for k in ks], name, notes)
        headers = tuple(f"{name} / {choice}" for choice in choices)
        contests.append(_Contest(name, tuple(ks), choices, headers))
    return tuple(contests), allowed


def _layout(
    table: Table, rows: list[tuple[int, list[str]]], notes: list[str]
) -> tuple[_Layout, dict[str, int]]:
    contest_row = _trimmed(rows[1][1])
    first = next((k for k, cell in enumerate(contest_row) if cell), None)
    if first is None:
        raise table.error(
            "the second header row names no contest.",
            rows[1][0],
            None,
            _FOUR_ROWS,
        )
    width = max(len(contest_row), len(_trimmed(rows[2][1])))
    line, names = rows[3][0], [clean_cell(cell) for cell in rows[3][1][:first]]

    def find(name: str, required: bool = False) -> int | None:
        return column_index(names, name, table, line, required=required)

    imprinted, unique_voting_id = find("ImprintedId"), find("UniqueVotingIdentifier")
    if imprinted is None and unique_voting_id is None:
        notes.append(
            f"{table.member.basename}: no ImprintedId or UniqueVotingIdentifier column; "
            "cards can be found by batch and position only"
        )
    contests, allowed = _contests(table, rows, first, width, notes)
    tabulator, batch, record = (find(n, True) for n in ("TabulatorNum", "BatchId", "RecordId"))
    assert tabulator is not None
    assert batch is not None
    assert record is not None
    layout = _Layout(
        tabulator=tabulator,
        batch=batch,
        record=record,
        imprinted=imprinted,
        unique_voting_id=unique_voting_id,
        counting_group=find("CountingGroup"),
        precinct_portion=find("PrecinctPortion"),
        ballot_type=find("BallotType"),
        contests=contests,
        width=width,
    )
    return layout, allowed


def read_dominion_csv(path: str | Path) -> DominionCsv:
    """Open a Dominion Democracy Suite CVR export (CSV) and read its four header rows.

    Args:
        path: the ``CVR_Export.csv`` file (``.csv.gz`` too), or a ZIP holding it.

    Returns:
        A :class:`DominionCsv`: ``contests`` maps contest name to choices in
        column order (repeated names numbered), ``votes_allowed`` holds each
        ``(Vote For=N)``; :meth:`DominionCsv.records` streams the cards.

    Raises:
        InputError: a missing or unreadable file, a header that is not
            Dominion's four rows (what is wrong is named), a choice without a
            contest or name, or a missing TabulatorNum/BatchId/RecordId column
            (the fix names the closest header entry).
    """
    path = Path(path)
    table = open_table(single_table(path, "Dominion CVR"))
    notes = list(table.notes)
    rows = _header_rows(table)
    layout, allowed = _layout(table, rows, notes)
    first_row = _trimmed(rows[0][1])
    election = first_row[0] if first_row else None
    version = first_row[1] if len(first_row) > 1 else None
    contests = {c.name: c.choices for c in layout.contests}
    return DominionCsv(path, election, version, contests, allowed, notes, table, layout)
