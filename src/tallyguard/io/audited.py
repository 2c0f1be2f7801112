"""What audit boards saw: the audited-ballots CSV of ``tallyguard audit risk``.

One row per sampled ballot card, in draw order (a card drawn twice appears
twice). Ballot polling needs a ``vote`` column; ballot-level comparison needs
``cvr`` and ``mvr`` (the manual vote record). Each cell lists the marked
choices separated by ``;`` (vote-for-n and approval contests), is empty for a
card with no mark in the contest, or is one of the keywords:

* ``NOT FOUND`` (``vote``/``mvr``): the card could not be found; it counts as the
  worst case for every reported winner (Bañuelos & Stark 2012);
* ``NOT ON CARD``: the card does not carry the contest (assorter value 1/2);
* ``NO CVR`` (``cvr``): no CVR exists for the card (a phantom; worst case).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tallyguard.errors import InputError
from tallyguard.io.csvfile import open_csv
from tallyguard.model import Contest

NOT_FOUND = "NOT FOUND"
NOT_ON_CARD = "NOT ON CARD"
NO_CVR = "NO CVR"


@dataclass(frozen=True)
class MarkColumn:
    """One column of the audited CSV, decoded: marks per card and the keyword flags."""

    marks: NDArray[np.uint8]  # (cards, choices)
    missing: NDArray[np.bool_]  # NOT FOUND (or NO CVR in the cvr column)
    off_card: NDArray[np.bool_]  # NOT ON CARD


@dataclass(frozen=True)
class AuditedSample:
    """The decoded audited-ballots CSV for one contest."""

    votes: MarkColumn | None  # ballot polling
    cvr: MarkColumn | None  # comparison
    mvr: MarkColumn | None  # comparison

    @property
    def size(self) -> int:
        column = self.votes or self.mvr
        assert column is not None
        return int(column.marks.shape[0])


def _decode(
    cells: list[tuple[int, str]], contest: Contest, *, file: Path, field: str, missing_word: str
) -> MarkColumn:
    n, choices = len(cells), contest.choices
    marks = np.zeros((n, len(choices)), dtype=np.uint8)
    missing = np.zeros(n, dtype=bool)
    off_card = np.zeros(n, dtype=bool)
    lookup = {c.casefold(): j for j, c in enumerate(choices)}
    for i, (line, cell) in enumerate(cells):
        text = cell.strip()
        if text.upper() == missing_word:
            missing[i] = True
            continue
        if text.upper() == NOT_ON_CARD:
            off_card[i] = True
            continue
        for part in filter(None, (p.strip() for p in text.split(";"))):
            j = lookup.get(part.casefold())
            if j is None:
                close = difflib.get_close_matches(part, list(choices), n=1)
                hint = (
                    f"did you mean {close[0]!r}?" if close else f"the choices are {list(choices)}."
                )
                raise InputError(
                    f"{part!r} is not a choice of {contest.name!r}.",
                    file=file,
                    line=line,
                    field=field,
                    fix=f"{hint} Use ';' between several choices, '{missing_word}' for a "
                    "missing card, empty for no vote.",
                )
            marks[i, j] = 1
    return MarkColumn(marks=marks, missing=missing, off_card=off_card)


def read_audited(path: str | Path, contest: Contest, *, comparison: bool) -> AuditedSample:
    """Read and decode the audited-ballots CSV (see the module docstring)."""
    path = Path(path)
    csv = open_csv(path)
    names = ("cvr", "mvr") if comparison else ("vote",)
    columns = {name: csv.column(name) for name in names}
    cells: dict[str, list[tuple[int, str]]] = {name: [] for name in names}
    for line, row in csv.rows():
        for name, column in columns.items():
            assert column is not None
            cells[name].append((line, row[column]))
    decoded = {
        name: _decode(
            cells[name],
            contest,
            file=path,
            field=str(columns[name]),
            missing_word=NO_CVR if name == "cvr" else NOT_FOUND,
        )
        for name in names
    }
    return AuditedSample(votes=decoded.get("vote"), cvr=decoded.get("cvr"), mvr=decoded.get("mvr"))
