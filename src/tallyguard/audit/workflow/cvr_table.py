"""CVRs held as columns: a million cards without a Python object per card.

The engine reads the CVRs of the sampled cards only, one card at a time
(``cvrs.get(card)``), while the canonical ``cvrs.csv`` of an export (and the
digest the seed freezes) needs every card. A :class:`CvrTable` serves both: it is
a read-only mapping card -> contest -> marked choices, like the plain ``dict``
the engine was written for, and it renders the canonical ``cvrs.csv`` text from a
polars frame of all cards (:meth:`CvrTable.canonical_text`), byte for byte what
:func:`tallyguard.audit.workflow.files.cvrs_text` writes for a ``dict``.

* :class:`FileCvrs`: the CVRs of an exported ``cvrs.csv`` in canonical form
  (:func:`read_canonical_cvrs`), looked up by binary search in the frame;
* the store's lazy CVRs (:class:`tallyguard.audit.workflow.stored.StoredCvrs`).

**The frame** (:data:`KEY_COLUMNS`, then one ``UInt8`` column per
``(contest, choice)`` asked for, in that order): one row per card, in card
order (jurisdiction, tabulator, batch name, position; strings compare by code
point as Python's do), ``tabulator`` and ``imprinted_id`` ``""`` where there is
none; a cell is 1 (marked), 0, or null when the card lacks the contest.
"""

from __future__ import annotations

import csv
import io
from abc import abstractmethod
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from tallyguard.audit.workflow.inputs import CardKey
from tallyguard.io.csvfile import clean_cell, sniff_delimiter

#: The key columns of ``cvrs.csv``, and of the frame a :class:`CvrTable` renders.
KEY_COLUMNS = ("jurisdiction", "tabulator", "batch_name", "position", "imprinted_id")
_TEXT_COLUMNS = ("jurisdiction", "tabulator", "batch_name", "imprinted_id")
_BATCH = ["jurisdiction", "tabulator", "batch_name"]
Votes = dict[str, tuple[str, ...]]
Columns = tuple[tuple[str, str], ...]


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """RFC 4180 text as tallyguard writes it: ``csv.writer`` with ``\\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def cvr_header(columns: Sequence[tuple[str, str]]) -> list[str]:
    """The header of ``cvrs.csv``: the key columns, then ``contest:choice``."""
    return [*KEY_COLUMNS, *(f"{contest}:{choice}" for contest, choice in columns)]


def vote_column(k: int) -> str:
    """The frame's name for the ``k``-th (contest, choice) column."""
    return f"vote_{k}"


def render_cvr_frame(frame: pl.DataFrame, columns: Sequence[tuple[str, str]]) -> str:
    """The canonical ``cvrs.csv`` text of a frame (module docstring), as ``csv.writer`` writes.

    polars writes it unless a text holds a carriage return, which ``csv.writer``
    (line terminator ``\\n``) leaves unquoted and polars would quote; empty
    texts are written as nulls, which polars, like ``csv.writer``, leaves empty.
    """
    header = cvr_header(columns)
    names = [*KEY_COLUMNS, *(vote_column(k) for k in range(len(columns)))]
    frame = frame.select(names)
    awkward = any("\r" in name for name in header) or bool(
        frame.select(
            pl.any_horizontal(
                pl.col(c).str.contains("\r", literal=True).any() for c in _TEXT_COLUMNS
            )
        ).item()
    )
    if awkward:
        rows = [["" if cell is None else cell for cell in row] for row in frame.iter_rows()]
        return csv_text(header, rows)
    body = frame.with_columns(
        pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in _TEXT_COLUMNS
    ).write_csv(include_header=False, line_terminator="\n", null_value="")
    return csv_text(header, []) + body


def votes_of(row: Sequence[Any], columns: Sequence[tuple[str, str]]) -> Votes:
    """A card's CVR from its vote cells (one per column): a contest with any cell is on it."""
    marked: dict[str, list[str]] = {}
    for (contest, choice), cell in zip(columns, row, strict=True):
        if cell is None:
            continue
        chosen = marked.setdefault(contest, [])
        if cell:
            chosen.append(choice)
    return {contest: tuple(chosen) for contest, chosen in marked.items()}


def recolumn(
    frame: pl.DataFrame, have: Sequence[tuple[str, str]], want: Sequence[tuple[str, str]]
) -> pl.DataFrame:
    """The frame's vote columns for ``have`` rearranged as ``want``.

    A wanted choice the frame lacks is 0 on cards carrying its contest (a CVR
    marks only the choices it lists) and null on the others.
    """
    if tuple(have) == tuple(want):
        return frame
    where = {pair: vote_column(k) for k, pair in enumerate(have)}
    by_contest: dict[str, list[str]] = {}
    for pair, name in where.items():
        by_contest.setdefault(pair[0], []).append(name)
    out = []
    for k, pair in enumerate(want):
        if pair in where:
            expr = pl.col(where[pair])
        elif pair[0] in by_contest:
            present = pl.any_horizontal(pl.col(n).is_not_null() for n in by_contest[pair[0]])
            expr = pl.when(present).then(pl.lit(0, pl.UInt8)).otherwise(pl.lit(None, pl.UInt8))
        else:
            expr = pl.lit(None, pl.UInt8)
        out.append(expr.cast(pl.UInt8).alias(vote_column(k)))
    return frame.select([*KEY_COLUMNS, *out])


class CvrTable(Mapping[CardKey, Votes]):
    """Read-only CVRs by card that can render every card as one frame (module docstring).

    ``imprinted_ids`` is the matching mapping card -> imprinted id. The table is
    a snapshot: it never changes, so its canonical text is computed once.
    """

    def __init__(self) -> None:
        self._texts: dict[Columns, str] = {}

    @property
    @abstractmethod
    def imprinted_ids(self) -> Mapping[CardKey, str]:
        """Card -> imprinted id, for the cards whose CVR has one."""

    @abstractmethod
    def cvr_frame(self, columns: Sequence[tuple[str, str]]) -> pl.DataFrame:
        """Every card as a row, in card order, with a vote column per (contest, choice)."""

    def canonical_text(self, columns: Sequence[tuple[str, str]]) -> str:
        """``cvrs.csv`` for these (contest, choice) columns (computed once per columns)."""
        key = tuple(columns)
        if key not in self._texts:
            self._texts[key] = render_cvr_frame(self.cvr_frame(key), key)
        return self._texts[key]


class _Imprinted(Mapping[CardKey, str]):
    """The imprinted ids of a :class:`FileCvrs`."""

    def __init__(self, table: FileCvrs) -> None:
        self._table = table

    def __getitem__(self, key: CardKey) -> str:
        row = self._table.row_of(key)
        value = None if row is None else self._table.imprinted[row]
        if not value:
            raise KeyError(key)
        return str(value)

    def __iter__(self) -> Iterator[CardKey]:
        for row in (self._table.imprinted != "").arg_true():
            yield self._table.key_at(int(row))

    def __len__(self) -> int:
        return int((self._table.imprinted != "").sum())


class FileCvrs(CvrTable):
    """The CVRs of a canonical ``cvrs.csv``: a frame sorted by card, every card once."""

    def __init__(self, frame: pl.DataFrame, columns: Sequence[tuple[str, str]], text: str) -> None:
        super().__init__()
        self.frame = frame
        self.columns = tuple(columns)
        self._texts[self.columns] = text
        self.positions = frame["position"].to_numpy()
        self.imprinted = frame["imprinted_id"]
        self._batches: dict[tuple[str, str, str], tuple[int, int]] | None = None
        self._keys: list[tuple[str, str, str]] = []
        self._starts: list[int] = []
        self._view = _Imprinted(self)

    @property
    def imprinted_ids(self) -> Mapping[CardKey, str]:
        return self._view

    def _index(self) -> dict[tuple[str, str, str], tuple[int, int]]:
        if self._batches is None:
            runs = (
                self.frame.select(_BATCH)
                .with_row_index("start")
                .group_by(_BATCH, maintain_order=True)
                .agg(pl.col("start").first(), pl.len().alias("count"))
            )
            self._batches = {
                (j, t, b): (start, start + count) for j, t, b, start, count in runs.iter_rows()
            }
            self._keys = list(self._batches)
            self._starts = [start for start, _ in self._batches.values()]
        return self._batches

    def row_of(self, key: CardKey) -> int | None:
        """The frame row of ``key``, or ``None``."""
        run = self._index().get(key.batch)
        if run is None:
            return None
        start, stop = run
        row = start + int(np.searchsorted(self.positions[start:stop], key.position))
        return row if row < stop and self.positions[row] == key.position else None

    def key_at(self, row: int) -> CardKey:
        self._index()
        batch = self._keys[bisect_left(self._starts, row + 1) - 1]
        return CardKey(*batch, int(self.positions[row]))

    def __getitem__(self, key: CardKey) -> Votes:
        row = self.row_of(key)
        if row is None:
            raise KeyError(key)
        cells = self.frame.row(row)[len(KEY_COLUMNS) :]
        return votes_of(cells, self.columns)

    def __iter__(self) -> Iterator[CardKey]:
        for j, t, b, p in self.frame.select([*_BATCH, "position"]).iter_rows():
            yield CardKey(j, t, b, p)

    def __len__(self) -> int:
        return self.frame.height

    def cvr_frame(self, columns: Sequence[tuple[str, str]]) -> pl.DataFrame:
        return recolumn(self.frame, self.columns, columns)


def _increasing(frame: pl.DataFrame) -> bool:
    """Is every row's card strictly after the previous row's (sorted, no card twice)?"""
    if frame.height < 2:
        return True
    after: pl.Expr = pl.col("position") > pl.col("position").shift(1)
    for name in reversed(_BATCH):
        now, before = pl.col(name), pl.col(name).shift(1)
        after = (now > before) | ((now == before) & after)
    return bool(frame.select(after.slice(1).all()).item())


def _plain_header(columns: Sequence[tuple[str, str]]) -> bool:
    """Would the general reader take the header of ``columns`` as written?

    It sniffs the delimiter, cleans each name (:func:`~tallyguard.io.csvfile.clean_cell`),
    refuses names repeated ignoring case and splits ``contest:choice`` at the first colon.
    """
    header = cvr_header(columns)
    if sniff_delimiter(csv_text(header, [])) != ",":
        return False
    if any(not name or clean_cell(name) != name for name in header):
        return False
    if len({" ".join(name.split()).casefold() for name in header}) != len(header):
        return False
    return all(":" not in contest for contest, _ in columns)


#: A text the general reader would clean: surrounding white space (Python's
#: ``str.strip``: Unicode White_Space and U+001C..U+001F) or Excel's ``="..."``.
_UNCLEAN = r'^[\s\x1c-\x1f]|[\s\x1c-\x1f]$|^="'


def read_canonical_cvrs(data: bytes, columns: Sequence[tuple[str, str]]) -> FileCvrs | None:
    """The CVRs of a ``cvrs.csv`` whose bytes are exactly its canonical form, else ``None``.

    Canonical: UTF-8, the header of ``columns``, at least one card, cards sorted
    and each once, cells 0, 1 or empty, texts the general reader keeps as they
    are (no surrounding white space, no carriage return or NUL), and exactly
    the text :func:`render_cvr_frame` writes for what was read. Then the general
    reader (:func:`tallyguard.audit.workflow.files.read_inputs` row by row)
    would read the same CVRs; any other file (``None``) is left to it, and it
    reports any error by line.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    header = csv_text(cvr_header(columns), [])
    if not text.startswith(header) or "\r" in text or "\x00" in text:
        return None
    if not _plain_header(columns):
        return None
    body = data[len(header.encode("utf-8")) :]
    raw = [*KEY_COLUMNS, *(vote_column(k) for k in range(len(columns)))]
    try:
        strings = pl.read_csv(
            body,
            has_header=False,
            schema=dict.fromkeys(raw, pl.String),
            empty_string_is_null=False,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        return None
    if not strings.height:
        return None
    strings = strings.with_columns(pl.all().fill_null(""))
    votes = [vote_column(k) for k in range(len(columns))]
    valid = strings.select(
        pl.col("position").str.contains(r"^[0-9]{1,18}$").all(),
        *(~pl.col(c).str.contains(_UNCLEAN).any() for c in _TEXT_COLUMNS),
        *(pl.col(v).is_in(["", "0", "1"]).all() for v in votes),
    )
    if not all(valid.row(0)):
        return None
    frame = strings.with_columns(
        pl.col("position").cast(pl.Int64),
        *(pl.when(pl.col(v) != "").then(pl.col(v)).cast(pl.UInt8).alias(v) for v in votes),
    )
    if not _increasing(frame) or render_cvr_frame(frame, columns) != text:
        return None
    return FileCvrs(frame, columns, text)
