"""tallyguard's flat cast-vote-record CSV: one row per ballot card.

Layout (``docs/simulator.md``; written by ``tallyguard simulate``): the ID
columns :data:`CVR_ID_COLUMNS` (only ``cvr_id`` is required; names are matched
ignoring case), then one column per contest choice named
``"<contest name>:<choice name>"`` (:func:`choice_column`; the name is split on
its first colon, so contest names never contain one). A choice cell is ``1``
(marked), ``0`` (not marked) or empty when the contest is not on the card's
ballot style; then every cell of that contest on the row must be empty. This is
the shape of a Dominion CVR export (NIST SP 1500-103 §2 calls a card's contest
list its ballot style) flattened to one header row.

The file is read through :mod:`tallyguard.io.csvfile`, so encoding, delimiter,
BOM, ``="..."`` cells and blank rows are handled there.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from tallyguard.errors import InputError
from tallyguard.io.csvfile import CsvFile, find_column, open_csv, parse_count
from tallyguard.io.frames import LineOf, first_duplicate, read_string_frame, whole_numbers
from tallyguard.model import CvrRecord

CVR_ID_COLUMNS = (
    "cvr_id",
    "jurisdiction",
    "unit_id",
    "batch_name",
    "position",
    "imprinted_id",
    "ballot_style",
)
_MARK_FIX = "write 1 for a mark and 0 for no mark (leave empty only if not on the ballot)."
_PARTLY_EMPTY_FIX = (
    "leave every cell of a contest empty when it is not on the card's ballot style; "
    "otherwise write 0 or 1 in each."
)


def choice_column(contest: str, choice: str) -> str:
    """The column name of ``choice`` in ``contest``: ``"<contest>:<choice>"``."""
    if ":" in contest:
        raise ValueError(f"contest name {contest!r} contains ':', which the CVR CSV reserves")
    return f"{contest}:{choice}"


@dataclass(frozen=True)
class _Layout:
    ids: dict[str, str]  # canonical ID column -> header name
    contests: dict[str, tuple[str, ...]]  # contest -> choices, in column order
    columns: dict[str, tuple[str, ...]]  # contest -> header names, same order


def _layout(csv: CsvFile) -> _Layout:
    find_column(csv.header, "cvr_id", file=csv.path)
    ids: dict[str, str] = {}
    choices: dict[str, list[str]] = {}
    columns: dict[str, list[str]] = {}
    for name in csv.header:
        canonical = find_column(CVR_ID_COLUMNS, name, file=csv.path, required=False)
        if canonical is not None:
            ids[canonical] = name
            continue
        contest, colon, choice = name.partition(":")
        contest, choice = contest.strip(), choice.strip()
        if not colon or not contest or not choice:
            close = difflib.get_close_matches(name.casefold(), CVR_ID_COLUMNS, n=1)
            fix = (
                f"rename it to {close[0]!r}."
                if close
                else "name choice columns '<contest name>:<choice name>'; the ID columns are "
                f"{', '.join(CVR_ID_COLUMNS)}."
            )
            raise InputError(
                f"column {name!r} is neither an ID column nor a '<contest>:<choice>' column.",
                file=csv.path,
                line=1,
                field=name,
                fix=fix,
            )
        choices.setdefault(contest, []).append(choice)
        columns.setdefault(contest, []).append(name)
    if not choices:
        raise InputError(
            "there are no contest choice columns.",
            file=csv.path,
            line=1,
            fix="add one column per choice, named '<contest name>:<choice name>'.",
        )
    return _Layout(
        ids,
        {contest: tuple(names) for contest, names in choices.items()},
        {contest: tuple(names) for contest, names in columns.items()},
    )


@dataclass(frozen=True)
class CvrCsv:
    """An opened CVR CSV: its contests, and its records streamed on demand."""

    path: Path
    contests: dict[str, tuple[str, ...]]
    notes: tuple[str, ...]
    _csv: CsvFile = field(repr=False)
    _layout: _Layout = field(repr=False)

    def records(self) -> Iterator[CvrRecord]:
        """Yield one :class:`CvrRecord` per data row, checking each row as it goes.

        Raises :class:`InputError` (file, line, column) for a missing or repeated
        ``cvr_id``, a cell other than ``1``/``0``/empty, a contest that is only
        partly empty, or a ``position`` that is not a whole number >= 1.
        """
        ids, path = self._layout.ids, self.path
        contests = [
            (contest, choices, self._layout.columns[contest])
            for contest, choices in self.contests.items()
        ]
        seen: dict[str, int] = {}
        for line, row in self._csv.rows():
            cvr_id = row[ids["cvr_id"]]
            if not cvr_id:
                raise InputError("the cvr_id is empty.", file=path, line=line, field=ids["cvr_id"])
            if cvr_id in seen:
                raise InputError(
                    f"cvr_id {cvr_id!r} appears twice (lines {seen[cvr_id]} and {line}).",
                    file=path,
                    line=line,
                    field=ids["cvr_id"],
                    fix="give every ballot card its own cvr_id.",
                )
            seen[cvr_id] = line
            votes = _votes(row, contests, path, line)
            yield CvrRecord(
                cvr_id=cvr_id,
                votes=votes,
                jurisdiction=_text(row, ids, "jurisdiction"),
                batch_name=_text(row, ids, "batch_name"),
                position=_position(row, ids, path, line),
                imprinted_id=_text(row, ids, "imprinted_id"),
                ballot_style=_text(row, ids, "ballot_style"),
                unit_id=_text(row, ids, "unit_id"),
            )


def _votes(
    row: dict[str, str],
    contests: list[tuple[str, tuple[str, ...], tuple[str, ...]]],
    path: Path,
    line: int,
) -> dict[str, tuple[str, ...]]:
    votes: dict[str, tuple[str, ...]] = {}
    for contest, choices, names in contests:
        cells = [row[name] for name in names]
        if not any(cells):
            continue
        marked: list[str] = []
        for choice, name, cell in zip(choices, names, cells, strict=True):
            if cell == "1":
                marked.append(choice)
            elif cell == "":
                message = f"contest {contest!r} is only partly filled in on this row."
                fix = _PARTLY_EMPTY_FIX
                raise InputError(message, file=path, line=line, field=name, fix=fix)
            elif cell != "0":
                message = f"{cell!r} is not a mark."
                raise InputError(message, file=path, line=line, field=name, fix=_MARK_FIX)
        votes[contest] = tuple(marked)
    return votes


def _text(row: dict[str, str], ids: dict[str, str], name: str) -> str | None:
    column = ids.get(name)
    return (row[column] or None) if column is not None else None


def _position(row: dict[str, str], ids: dict[str, str], path: Path, line: int) -> int | None:
    column = ids.get("position")
    if column is None or not row[column]:
        return None
    position = parse_count(row[column], file=path, line=line, field=column)
    if position < 1:
        raise InputError(
            "positions are numbered from 1.", file=path, line=line, field=column, fix="renumber."
        )
    return position


def read_cvr_csv(path: str | Path) -> CvrCsv:
    """Open a CVR CSV and check its header; rows are read by :meth:`CvrCsv.records`.

    Returns:
        A :class:`CvrCsv` whose ``contests`` maps contest name -> choices in
        column order.

    Raises:
        InputError: an unreadable file (see :func:`open_csv`), no ``cvr_id``
            column (the fix names the closest header), a column that is neither
            an ID column nor ``<contest>:<choice>``, or no choice columns.
    """
    csv = open_csv(path)
    layout = _layout(csv)
    return CvrCsv(csv.path, layout.contests, tuple(csv.notes), csv, layout)


def read_cvr_frame(path: str | Path) -> pl.DataFrame:
    """Read a whole CVR CSV into a polars frame, checked as :meth:`CvrCsv.records` does.

    Returns:
        :data:`CVR_ID_COLUMNS` as ``String`` (``position`` as ``Int64``; an
        absent ID column is all null), then one ``UInt8`` column per choice
        named by :func:`choice_column`, null where the contest is not on the card.

    Raises:
        InputError: as :func:`read_cvr_csv` and :meth:`CvrCsv.records`, with
            the same messages and line numbers.
    """
    csv = open_csv(path)
    layout = _layout(csv)
    strings = read_string_frame(csv)
    frame, line_of = strings.frame, strings.line_of
    columns: list[pl.Series] = []
    for name in CVR_ID_COLUMNS:
        source = layout.ids.get(name)
        if source is None:
            columns.append(pl.Series(name, [None] * frame.height, dtype=pl.String))
            continue
        values = frame[source]
        if name == "cvr_id":
            _check_ids(values, csv, source, line_of)
        if name == "position":
            columns.append(_positions(values, csv.path, source, line_of))
            continue
        columns.append(values.replace("", None).alias(name))
    for contest, names in layout.columns.items():
        cells = frame.select(names)
        for name in names:
            bad = ~cells[name].is_in(["", "0", "1"])
            if bad.any():
                index = int(bad.arg_true()[0])
                raise InputError(
                    f"{cells[name][index]!r} is not a mark.",
                    file=csv.path,
                    line=line_of(index),
                    field=name,
                    fix=_MARK_FIX,
                )
        empty = cells.select(pl.sum_horizontal([pl.col(n) == "" for n in names])).to_series()
        partial = (empty > 0) & (empty < len(names))
        if partial.any():
            index = int(partial.arg_true()[0])
            where = next(n for n in names if cells[n][index] == "")
            raise InputError(
                f"contest {contest!r} is only partly filled in on this row.",
                file=csv.path,
                line=line_of(index),
                field=where,
                fix=_PARTLY_EMPTY_FIX,
            )
        for name, choice in zip(names, layout.contests[contest], strict=True):
            series = cells[name].replace("", None).cast(pl.UInt8)
            columns.append(series.alias(choice_column(contest, choice)))
    return pl.DataFrame(columns)


def _positions(values: pl.Series, path: Path, column: str, line_of: LineOf) -> pl.Series:
    present = (values != "").arg_true()
    counts = whole_numbers(
        values.gather(present), file=path, field=column, line_of=lambda i: line_of(int(present[i]))
    )
    low = (counts < 1).arg_true()
    if len(low):
        line = line_of(int(present[int(low[0])]))
        raise InputError(
            "positions are numbered from 1.", file=path, line=line, field=column, fix="renumber."
        )
    empty = pl.Series("position", [None] * len(values), dtype=pl.Int64)
    return empty.scatter(present, counts)


def _check_ids(values: pl.Series, csv: CsvFile, column: str, line_of: LineOf) -> None:
    empty = values == ""
    if empty.any():
        line = line_of(int(empty.arg_true()[0]))
        raise InputError("the cvr_id is empty.", file=csv.path, line=line, field=column)
    pair = first_duplicate(values)
    if pair is not None:
        first, second = (line_of(i) for i in pair)
        raise InputError(
            f"cvr_id {values[pair[0]]!r} appears twice (lines {first} and {second}).",
            file=csv.path,
            line=second,
            field=column,
            fix="give every ballot card its own cvr_id.",
        )
