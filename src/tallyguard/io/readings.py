"""What audit boards record: the readings CSV of ``tallyguard audit record``.

Ballot-level audits (polling, comparison) use one row per sampled card and
contest, in the layout that ``tallyguard audit draw`` writes as a template::

    Jurisdiction,Tabulator,Batch Name,Ballot Position,Contest,Interpretation,Comment

``Interpretation`` lists the marked choices separated by ``;`` (several for
vote-for-n and approval contests) or is one of the keywords ``BLANK``,
``OVERVOTE``, ``NOT FOUND`` (the card could not be retrieved) and ``NOT ON CARD``
(the card does not carry the contest); keywords and choices are matched ignoring
case. An empty ``Interpretation`` means "not audited yet" and the row is skipped.

Batch audits record hand tallies, one row per sampled batch, contest and choice::

    Jurisdiction,Tabulator,Batch Name,Contest,Choice,Votes

Readers only parse and check the file against the contests' names and choices;
whether a card belongs to the sample is the workflow's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tallyguard.errors import InputError
from tallyguard.io.csvfile import CsvFile, open_csv, parse_count
from tallyguard.io.vendors._common import closest

BALLOT_COLUMNS = (
    "Jurisdiction",
    "Tabulator",
    "Batch Name",
    "Ballot Position",
    "Contest",
    "Interpretation",
    "Comment",
)
BATCH_COLUMNS = ("Jurisdiction", "Tabulator", "Batch Name", "Contest", "Choice", "Votes")

#: Keyword (upper case) -> reading result.
KEYWORDS = {
    "BLANK": "blank",
    "OVERVOTE": "overvote",
    "NOT FOUND": "not_found",
    "NOT ON CARD": "not_on_card",
}
#: Reading result -> the keyword written for it.
KEYWORD_OF = {result: word for word, result in KEYWORDS.items()}


@dataclass(frozen=True)
class BallotReading:
    """One row of a ballot-level readings file."""

    line: int
    jurisdiction: str
    tabulator: str
    batch_name: str
    position: int
    contest: str
    result: str  # vote | blank | overvote | not_found | not_on_card
    choices: tuple[str, ...]
    comment: str


@dataclass(frozen=True)
class BatchReading:
    """One row of a batch hand-tally file."""

    line: int
    jurisdiction: str
    tabulator: str
    batch_name: str
    contest: str
    choice: str
    votes: int


def interpretation_text(result: str, choices: Iterable[str]) -> str:
    """The ``Interpretation`` cell of a reading (the inverse of the reader)."""
    return ";".join(choices) if result == "vote" else KEYWORD_OF[result]


def _closest(value: str, options: Iterable[str]) -> str:
    found = closest(value, options)
    return f"did you mean {found!r}? " if found else ""


def _contest(
    value: str, contests: Mapping[str, tuple[str, ...]], csv: CsvFile, line: int, field: str
) -> str:
    if value in contests:
        return value
    folded = {name.casefold(): name for name in contests}
    if value.casefold() in folded:
        return folded[value.casefold()]
    raise InputError(
        f"{value!r} is not a contest of this audit.",
        file=csv.path,
        line=line,
        field=field,
        fix=f"{_closest(value, contests)}The contests are: {', '.join(contests)}.",
    )


def _choice(
    value: str, contest: str, choices: tuple[str, ...], where: tuple[Path, int, str]
) -> str:
    lookup = {c.casefold(): c for c in choices}
    found = lookup.get(value.strip().casefold())
    if found is None:
        file, line, field = where
        raise InputError(
            f"{value!r} is not a choice of {contest!r}.",
            file=file,
            line=line,
            field=field,
            fix=f"{_closest(value, choices)}Use ';' between several choices, or one of "
            f"{', '.join(KEYWORDS)}.",
        )
    return found


def _columns(csv: CsvFile, names: tuple[str, ...], optional: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for name in names:
        column = csv.column(name, required=name not in optional)
        if column is not None:
            found[name] = column
    return found


def read_ballot_readings(
    path: str | Path, contests: Mapping[str, tuple[str, ...]]
) -> list[BallotReading]:
    """Read a ballot-level readings file; ``contests`` maps contest name -> choices."""
    csv = open_csv(path)
    cols = _columns(csv, BALLOT_COLUMNS, optional=("Tabulator", "Comment"))
    readings: list[BallotReading] = []
    for line, row in csv.rows():
        cell = row[cols["Interpretation"]].strip()
        if not cell:
            continue
        contest = _contest(row[cols["Contest"]].strip(), contests, csv, line, cols["Contest"])
        position = parse_count(
            row[cols["Ballot Position"]], file=csv.path, line=line, field=cols["Ballot Position"]
        )
        if position < 1:
            raise InputError(
                "a ballot position starts at 1.",
                file=csv.path,
                line=line,
                field=cols["Ballot Position"],
                fix="copy the position from the retrieval list.",
            )
        word = " ".join(cell.upper().split())
        marked: tuple[str, ...]
        if word in KEYWORDS:
            result, marked = KEYWORDS[word], ()
        else:
            where = (csv.path, line, cols["Interpretation"])
            parts = [p for p in (part.strip() for part in cell.split(";")) if p]
            marked = tuple(_choice(p, contest, contests[contest], where) for p in parts)
            if len(set(marked)) != len(marked):
                raise InputError(
                    "a choice is listed twice.",
                    file=csv.path,
                    line=line,
                    field=cols["Interpretation"],
                    fix="list each marked choice once.",
                )
            result = "vote"
        readings.append(
            BallotReading(
                line=line,
                jurisdiction=row[cols["Jurisdiction"]].strip(),
                tabulator=row[cols["Tabulator"]].strip() if "Tabulator" in cols else "",
                batch_name=row[cols["Batch Name"]].strip(),
                position=position,
                contest=contest,
                result=result,
                choices=marked,
                comment=row[cols["Comment"]].strip() if "Comment" in cols else "",
            )
        )
    return readings


def read_batch_readings(
    path: str | Path, contests: Mapping[str, tuple[str, ...]]
) -> list[BatchReading]:
    """Read a batch hand-tally file; ``contests`` maps contest name -> choices."""
    csv = open_csv(path)
    cols = _columns(csv, BATCH_COLUMNS, optional=("Tabulator",))
    readings: list[BatchReading] = []
    for line, row in csv.rows():
        if not row[cols["Votes"]].strip():
            continue
        contest = _contest(row[cols["Contest"]].strip(), contests, csv, line, cols["Contest"])
        where = (csv.path, line, cols["Choice"])
        choice = _choice(row[cols["Choice"]], contest, contests[contest], where)
        readings.append(
            BatchReading(
                line=line,
                jurisdiction=row[cols["Jurisdiction"]].strip(),
                tabulator=row[cols["Tabulator"]].strip() if "Tabulator" in cols else "",
                batch_name=row[cols["Batch Name"]].strip(),
                contest=contest,
                choice=choice,
                votes=parse_count(
                    row[cols["Votes"]], file=csv.path, line=line, field=cols["Votes"]
                ),
            )
        )
    return readings
