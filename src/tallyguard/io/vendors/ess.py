"""ES&S cast vote records: the CVR CSV joined with its ballots file(s).

Layout (Arlo ``server/api/cvrs.py::parse_ess_cvrs`` and its test data
``ESS_CVR``, ``ESS_BALLOTS_WITH_MACHINE_COLUMN``):

* the **CVR file** has ``Cast Vote Record``, ``Precinct``, ``Ballot Style`` and
  other metadata columns, then one column per contest. A cell holds the choice
  name, ``overvote`` or ``undervote``; it is empty when the contest is not on
  the card. The contest columns start after the last known metadata column.
* one or more **ballots files** may open with five metadata rows (``Ballots``,
  the election tag, the county, the date, a blank row), then the header
  ``Cast Vote Record, Batch, Ballot Status, ..., Tabulator CVR, ..., Machine``.
  Rows whose first cell starts with ``Total`` are summaries and skipped.

The two are joined on ``Cast Vote Record`` (leading zeros ignored); every
card must be in both. ``Tabulator CVR`` is either ten digits (a four-digit
tabulator and the six-digit ballot number in the batch) or a 16-character
hexadecimal id printed on the ballot. The batch is (tabulator, ``Batch``),
where the tabulator is ``Machine`` if present, else the first four digits.
The position is the six-digit ballot number (unknown for hexadecimal ids);
``imprinted_id`` is the ``Tabulator CVR``; ``cvr_id`` is the ``Cast Vote
Record``. A file is taken for a ballots file when it starts with ``Ballots``
or has a ``Tabulator CVR`` column, unless it is named ``cvr.csv`` (Arlo's
hint for CVR files that carry a ``Tabulator CVR`` column, arlo #1952); a CVR
file with ``Tabulator CVR`` and ``Batch`` columns needs no ballots file.

ES&S does not say which choices an overvoted card marked: an ``overvote`` is
recorded as every choice of the contest marked, which any assorter reads as an
invalid vote. ES&S states no votes allowed; Arlo assumes vote-for-1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from tallyguard.errors import InputError
from tallyguard.io.csvfile import clean_cell
from tallyguard.io.vendors._common import IdRegistry, VendorCvrRecord, normalise_name
from tallyguard.io.vendors._ess_ballots import (
    BallotColumns,
    ballot_columns,
    cvr_key,
    folded,
    header_row,
    header_width,
    parse_ballot,
    read_ballots,
)
from tallyguard.io.vendors._sources import Member, expand
from tallyguard.io.vendors._table import Table, column_index, data_rows, open_table

KNOWN_METADATA = (
    "Election ID",
    "Audit Number",
    "Tabulator CVR",
    "Cast Vote Record",
    "Batch",
    "Ballot Status",
    "Precinct",
    "Precinct ID",
    "Ballot Style",
    "Ballot Style ID",
    "Machine",
)
_CVR_HINT = "cvr.csv"


@dataclass(frozen=True)
class _CvrLayout:
    skip: int  # records up to and including the header
    width: int
    cvr: int
    precinct: int | None
    style: int | None
    contests: dict[str, tuple[int, ...]]
    ballots: BallotColumns | None  # a single-file export carries the ballot columns


def _is_ballots_file(table: Table) -> bool:
    if table.member.basename.casefold() == _CVR_HINT:
        return False
    with closing(table.records()) as records:
        first = next(records, None)
    if first is None:
        return False
    cells = [folded(clean_cell(cell)) for cell in first[1]]
    return (bool(cells) and cells[0] == "ballots") or "tabulator cvr" in cells


def _cvr_layout(table: Table, standalone: bool) -> _CvrLayout:
    index, line, header = header_row(table)
    width = header_width(header)
    known = {folded(name) for name in KNOWN_METADATA}
    last = max(k for k, name in enumerate(header[:width]) if folded(name) in known)
    contests: dict[str, list[int]] = {}
    for k in range(last + 1, width):
        name = normalise_name(header[k])
        if not name:
            raise table.error(
                f"column {k + 1} has no contest name.", line, f"column {k + 1}", "name it."
            )
        contests.setdefault(name, []).append(k)
    if not contests:
        raise table.error(
            "no contest columns follow the metadata columns.",
            line,
            None,
            "export the CVR file with one column per contest.",
        )
    has_ballot_columns = all(
        column_index(header, name, table, line, required=False) is not None
        for name in ("Batch", "Tabulator CVR")
    )
    return _CvrLayout(
        skip=index + 1,
        width=width,
        cvr=_required(column_index(header, "Cast Vote Record", table, line)),
        precinct=column_index(header, "Precinct", table, line, required=False),
        style=column_index(header, "Ballot Style", table, line, required=False),
        contests={name: tuple(ks) for name, ks in contests.items()},
        ballots=ballot_columns(table, header, line) if has_ballot_columns and standalone else None,
    )


@dataclass(frozen=True)
class EssCvrs:
    """An ES&S export: the CVR file, its ballots files, contests and the joined records."""

    cvr_file: Member
    ballots_files: tuple[Member, ...]
    contests: dict[str, tuple[str, ...]]
    votes_allowed: dict[str, int]
    notes: list[str]
    _cvr: Table = field(repr=False)
    _layout: _CvrLayout = field(repr=False)
    _ballots: tuple[Table, ...] = field(repr=False)

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        with closing(self._cvr.records()) as records:
            for _ in islice(records, self._layout.skip):
                pass
            yield from data_rows(self._cvr, records, self._layout.width)

    def records(self) -> Iterator[VendorCvrRecord]:
        """Yield the CVR file's cards joined with the ballots files, in CVR-file order.

        Raises:
            InputError: a card missing from the ballots files or the CVR file
                (file and line named), a repeated ``Cast Vote Record``, or a bad
                ``Tabulator CVR``.
        """
        lay, table, padded = self._layout, self._cvr, [0]
        ballots = {} if lay.ballots else read_ballots(self._ballots, self.notes)
        ids = IdRegistry("Cast Vote Record", "each card appears once in the CVR file.")
        for line, cells in self._rows():
            number = clean_cell(cells[lay.cvr])
            if not number:
                raise table.error("the Cast Vote Record is empty.", line, "Cast Vote Record", "")
            key = cvr_key(number)
            ids.add(key, line, file=table.name, line=line, field="Cast Vote Record")
            if lay.ballots is not None:
                key, ballot = parse_ballot(table, lay.ballots, cells, line, padded)
            else:
                found = ballots.pop(key, None)
                if found is None:
                    raise table.error(
                        f"Cast Vote Record {number} is in no ballots file.",
                        line,
                        "Cast Vote Record",
                        "upload every ballots file of the export, from the same tabulation.",
                    )
                ballot = found
            yield VendorCvrRecord(
                cvr_id=key,
                votes=self._votes(cells, line),
                batch_name=ballot.batch,
                position=ballot.position,
                imprinted_id=ballot.imprinted,
                ballot_style=_cell(cells, lay.style),
                unit_id=_cell(cells, lay.precinct),
                tabulator=ballot.tabulator,
            )
        if ballots:
            key, left = next(iter(ballots.items()))
            raise InputError(
                f"Cast Vote Record {key} ({left.place}) is not in the CVR file; "
                f"{len(ballots)} card(s) of the ballots files have no CVR.",
                file=table.name,
                field="Cast Vote Record",
                fix="use the CVR file and ballots files of the same export.",
            )

    def _votes(self, cells: list[str], line: int) -> dict[str, tuple[str, ...]]:
        votes: dict[str, tuple[str, ...]] = {}
        for contest, columns in self._layout.contests.items():
            values = [normalise_name(clean_cell(cells[k])) for k in columns]
            if not any(values):
                continue
            choices = self.contests[contest]
            lowered = [value.casefold() for value in values]
            if "overvote" in lowered:
                votes[contest] = choices
                continue
            marked = {
                value
                for value, fold in zip(values, lowered, strict=True)
                if value and fold != "undervote"
            }
            votes[contest] = tuple(choice for choice in choices if choice in marked)
        return votes


def _required(index: int | None) -> int:
    assert index is not None
    return index


def _cell(cells: list[str], index: int | None) -> str | None:
    return None if index is None else (clean_cell(cells[index]) or None)


def _discover(export: EssCvrs) -> dict[str, tuple[str, ...]]:
    """Pass 1: every choice written in each contest column, sorted (as Arlo does)."""
    found: dict[str, dict[str, None]] = {name: {} for name in export._layout.contests}
    for _line, cells in export._rows():
        for contest, columns in export._layout.contests.items():
            for k in columns:
                value = normalise_name(clean_cell(cells[k]))
                if value and value.casefold() not in ("overvote", "undervote"):
                    found[contest].setdefault(value, None)
    return {contest: tuple(sorted(choices)) for contest, choices in found.items()}


def read_ess(source: str | Path | Sequence[str | Path]) -> EssCvrs:
    """Open an ES&S CVR export: a ZIP or folder of the files, or their paths.

    Returns:
        An :class:`EssCvrs`; ``contests`` maps each contest column to the
        choices found in it (first pass over the CVR file), sorted by name;
        ``votes_allowed`` is empty (ES&S does not state it).

    Raises:
        InputError: no CVR file, several CVR files, no ballots file (unless the
            CVR file has ``Batch`` and ``Tabulator CVR``), or a file whose
            header lacks a required column (the closest header is named).
    """
    members = [m for m in expand(source) if m.suffix() in (".csv", ".txt", ".gz")]
    if not members:
        raise InputError(
            "no CSV files found.", file=str(source), fix="point at the ES&S CVR export files."
        )
    tables = [open_table(member) for member in members]
    ballots = [t for t in tables if _is_ballots_file(t)]
    cvrs = [t for t in tables if t not in ballots]
    listed = (
        f"CVR files: {', '.join(t.member.basename for t in cvrs) or 'none'}; "
        f"ballots files: {', '.join(t.member.basename for t in ballots) or 'none'}."
    )
    if len(cvrs) != 1:
        raise InputError(
            f"expected one CVR file, found {len(cvrs)}. {listed}",
            file=str(source),
            fix=f"include exactly one CVR file; name it {_CVR_HINT} if it is taken for a "
            "ballots file.",
        )
    layout = _cvr_layout(cvrs[0], standalone=not ballots)
    if not ballots and layout.ballots is None:
        raise InputError(
            f"no ballots file: the CVR file alone does not say where each card is. {listed}",
            file=cvrs[0].name,
            fix="add the ballots file(s) (Cast Vote Record, Batch, Tabulator CVR) of the export.",
        )
    notes = [note for table in tables for note in table.notes]
    repeated = [name for name, ks in layout.contests.items() if len(ks) > 1]
    if repeated:
        notes.append(f"contest {repeated[0]!r} has several columns; each holds one choice")
    export = EssCvrs(
        cvrs[0].member,
        tuple(t.member for t in ballots),
        {},
        {},
        notes,
        cvrs[0],
        layout,
        tuple(ballots),
    )
    export.contests.update(_discover(export))
    return export
