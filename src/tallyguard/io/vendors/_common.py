"""What every vendor CVR reader shares: the record type, the reader shape, helpers.

Every reader returns an object with ``contests`` (contest name -> choice names,
in the order the format gives them), ``votes_allowed`` (contest name -> votes
allowed, only where the format states it), ``notes`` (how the input was read
and any recoverable oddity) and ``records()``, which streams one
:class:`VendorCvrRecord` per ballot card. Votes follow
:class:`~tallyguard.model.CvrRecord`: an overvote keeps every mark, an
undervote has fewer marks, and a contest not on the card's ballot style is
absent from ``votes`` (NIST SP 1500-103 §2: a CVR lists the contests on the
card).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from tallyguard.errors import InputError
from tallyguard.io.csvfile import clean_cell, parse_count
from tallyguard.model import CvrRecord

_MARK = {"1": True, "0": False}


@dataclass(frozen=True)
class VendorCvrRecord(CvrRecord):
    """A :class:`CvrRecord` with the vendor fields that locate the paper card.

    ``tabulator`` completes the batch key: Arlo's ballot manifests identify a
    batch by (tabulator, batch name) (``server/api/cvrs.py``, "TabulatorNum and
    BatchId ... must match the Tabulator and Batch Name fields in the ballot
    manifest"). ``counting_group`` is Dominion's ``CountingGroup`` (e.g. mail,
    in person), which SHANGRLA's ``Dominion.read_cvrs`` uses for pooling.
    """

    tabulator: str | None = None
    counting_group: str | None = None


class CvrReader(Protocol):
    """The shape shared by every CVR reader (vendor or not)."""

    @property
    def contests(self) -> dict[str, tuple[str, ...]]:
        """Contest name -> choice names."""

    def records(self) -> Iterator[CvrRecord]:
        """One record per ballot card, streamed."""


def closest(value: str, options: Iterable[str]) -> str | None:
    """The option closest to ``value`` (``difflib``), if any is close enough."""
    texts = [str(option) for option in options]
    found = difflib.get_close_matches(str(value), texts, n=1, cutoff=0.6)
    return found[0] if found else None


def normalise_name(text: str) -> str:
    """Contest and choice names with runs of white space (line breaks) made one space."""
    return " ".join(text.split())


def unique_names(names: Iterable[str], contest: str, notes: list[str]) -> tuple[str, ...]:
    """``names`` with repeats numbered (``Write-in``, ``Write-in (2)``), noting it.

    Dominion exports list one ``Write-in`` column per write-in line of a
    vote-for-n contest; the choices must still be told apart.
    """
    seen: dict[str, int] = {}
    result: list[str] = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        result.append(name if count == 1 else f"{name} ({count})")
    repeated = sorted(name for name, count in seen.items() if count > 1)
    if repeated:
        shown = ", ".join(repr(name) for name in repeated)
        notes.append(f"contest {contest!r} lists {shown} more than once; numbered as '(2)', ...")
    return tuple(result)


class IdRegistry:
    """Checks that CVR ids are unique, remembering where each was seen.

    ``where`` is a line number (shown as ``line N``) or a short description
    such as a JSON path; only the first sighting of each id is kept.
    """

    def __init__(self, what: str, fix: str) -> None:
        self._seen: dict[str, int | str] = {}
        self._what = what
        self._fix = fix

    def add(
        self, cvr_id: str, where: int | str, *, file: str, line: int | None, field: str
    ) -> None:
        """Record ``cvr_id`` found at ``where``; raise if it was seen before."""
        first = self._seen.get(cvr_id)
        if first is None:
            self._seen[cvr_id] = where
        else:
            raise InputError(
                f"{self._what} {cvr_id!r} appears twice ({_where(first)} and {_where(where)}).",
                file=file,
                line=line,
                field=field,
                fix=self._fix,
            )


def _where(place: int | str) -> str:
    return f"line {place}" if isinstance(place, int) else place


class BadCellError(Exception):
    """A choice cell that is not a 0/1 mark (``partial``: empty beside filled cells)."""

    def __init__(self, index: int, value: str, partial: bool) -> None:
        super().__init__(index)
        self.index, self.value, self.partial = index, value, partial


def contest_marks(values: list[str], choices: tuple[str, ...]) -> tuple[str, ...] | None:
    """The choices marked ``1`` among one contest's 0/1 cells; ``None`` if all are empty.

    The fast path takes exact ``0``/``1`` cells; anything else is cleaned
    (:func:`~tallyguard.io.csvfile.clean_cell`) and checked.

    Raises:
        BadCellError: a cell that is not 0/1 after cleaning, or empty beside
            filled cells (the contest is only partly on the card).
    """
    try:
        return tuple(
            [choice for choice, value in zip(choices, values, strict=True) if _MARK[value]]
        )
    except KeyError:
        pass
    cleaned = [clean_cell(value) for value in values]
    if not any(cleaned):
        return None
    marked: list[str] = []
    for k, value in enumerate(cleaned):
        if value not in _MARK:
            raise BadCellError(k, value, partial=value == "")
        if _MARK[value]:
            marked.append(choices[k])
    return tuple(marked)


_MAX_DIGITS = 15


def whole(value: str) -> int | None:
    """``int(value)`` for one to fifteen ASCII digits, else ``None`` (no huge-int parsing)."""
    if value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS:
        return int(value)
    return None


def parse_position(value: str, *, file: str, line: int | None, field: str) -> int:
    """A card's position in its batch: a whole number >= 1.

    Raises:
        InputError: :func:`~tallyguard.io.csvfile.parse_count`'s message for a
            value that is not a whole number; "too large" or "numbered from 1".
    """
    number = whole(value)
    if number is None:
        if value.isascii() and value.isdigit():
            raise InputError(
                f"{value[:20]!r}... is too large to be a position.",
                file=file,
                line=line,
                field=field,
                fix="check the value.",
            )
        parse_count(value, file=file, line=line, field=field)
        raise AssertionError("unreachable")  # pragma: no cover - parse_count raised
    if number < 1:
        raise InputError(
            f"{value!r}: positions in a batch are numbered from 1.",
            file=file,
            line=line,
            field=field,
            fix="check the export; positions start at 1.",
        )
    return number
