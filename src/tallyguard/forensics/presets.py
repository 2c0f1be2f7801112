"""Column presets for published results files that do not use the canonical names.

``ru-cec``: the Russian Central Election Commission's polling-station protocols
as scraped by Shpilkin and published by Kobak (github.com/dkobak/elections):
registered voters, ballots issued (early + at the station + outside), ballots
in the boxes (valid + invalid, or the 2020 single line), the leader's column
(Putin, Medvedev, United Russia or "ДА"), and a unit id built from region,
territorial and precinct commissions. The rules select columns by the same
protocol-line wording Kobak et al. (2016) used.

``clarity``: precinct exports of the Clarity/Scytl results system (one title
row, a row of choice names spanning their vote-mode columns, then the column
row; a closing ``Total:`` row): each choice's ``Total Votes`` column, the
registered voters and the row total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tallyguard.errors import InputError

PRESETS = ("ru-cec", "clarity")


@dataclass(frozen=True)
class _Rule:
    canonical: str
    include: tuple[str, ...]
    count: tuple[int, ...]  # allowed numbers of matching columns
    exclude: tuple[str, ...] = ()


_RU_RULES = (
    _Rule(
        "electorate",
        (
            "Число избирателей, включенных",
            "Число избирателей, внесенных",
            "Число участников голосования, включенных",
        ),
        (1,),
    ),
    _Rule("ballots_issued", ("бюллетеней, выданных",), (3,)),
    _Rule("ballots_issued", ("Число бюллетеней, содержащихся",), (1,)),
    _Rule("ballots_cast", ("действительных", "недействительных"), (2,), ("отметок",)),
    _Rule("ballots_cast", ("Число бюллетеней, содержащихся",), (1,)),
    _Rule("invalid", ("Число недействительных",), (1,)),
)
_RU_LEADERS = ("ПУТИН", "Путин", "Единая Россия", "ЕДИНАЯ РОССИЯ", "Медведев", "ДА")
_RU_ID = ("region", "oik", "tik", "uik")
_RU_NOT_CHOICES = ("Число", "url", "name", "level")


def ru_cec_columns(header: Sequence[str], file: str) -> tuple[dict[str, str], str]:
    """(canonical -> source expression, leader column) for a CEC protocol file."""
    mapping: dict[str, str] = {}
    for rule in _RU_RULES:
        if rule.canonical in mapping:
            continue
        found = [
            c
            for c in header
            if any(s in c for s in rule.include) and not any(s in c for s in rule.exclude)
        ]
        if len(found) in rule.count:
            mapping[rule.canonical] = "+".join(found)
    missing = [c for c in ("electorate", "ballots_issued", "ballots_cast") if c not in mapping]
    if missing:
        raise InputError(
            f"does not look like a CEC protocol file: no column for {missing[0]}.",
            file=file,
            line=1,
            fix="use --column to map the columns, or drop --preset ru-cec.",
        )
    ids = [c for c in _RU_ID if c in header]
    if "uik" not in ids or "region" not in ids:
        raise InputError("a CEC protocol file needs 'region' and 'uik' columns.", file=file, line=1)
    mapping["unit_id"] = "+".join(ids)
    mapping["region"] = "region"
    leaders = [c for c in header if any(s in c for s in _RU_LEADERS) and not c.startswith("Число")]
    if len(leaders) != 1:
        raise InputError(
            f"cannot tell the leader's column ({len(leaders)} candidates).",
            file=file,
            line=1,
            fix="name it with --leader.",
        )
    return mapping, leaders[0]


def ru_cec_choices(header: Sequence[str], used: set[str]) -> list[str]:
    """The candidate or party columns of a CEC file (not protocol lines, ids or urls)."""
    return [
        c for c in header if c not in used and c not in _RU_ID and not c.startswith(_RU_NOT_CHOICES)
    ]


@dataclass(frozen=True)
class Grouped:
    """A Clarity export flattened: one column name per field, data rows from line 4."""

    header: list[str]
    choices: list[str]
    rows: list[tuple[int, list[str]]]
    notes: list[str]


def clarity_rows(records: list[tuple[int, list[str]]], file: str) -> Grouped:
    """Flatten the three header rows; keep each choice's ``Total Votes``; drop ``Total:``."""
    if len(records) < 4:
        raise InputError("a Clarity export needs three header rows and data.", file=file)
    (_, _title), (_, groups), (line, columns) = records[0], records[1], records[2]
    if not columns or "registered voters" not in [c.strip().casefold() for c in columns]:
        raise InputError(
            "line 3 should be the column row with 'Registered Voters'.",
            file=file,
            line=line,
            fix="drop --preset clarity, or check that this is a Clarity precinct export.",
        )
    header: list[str] = []
    choices: list[str] = []
    current = ""
    for k, name in enumerate(columns):
        group = groups[k].strip() if k < len(groups) else ""
        current = group or current
        label = name.strip()
        if k == 0:
            header.append("unit_id")
        elif label.casefold() == "registered voters":
            header.append("electorate")
        elif label.casefold() == "total" and k == len(columns) - 1:
            header.append("ballots_cast")
        elif label.casefold() in ("total votes", "total"):
            header.append(current)
            choices.append(current)
        else:
            header.append(f"{current} | {label}")
    data, notes = [], []
    for number, cells in records[3:]:
        if cells and cells[0].strip().casefold().rstrip(":") == "total":
            notes.append(f"line {number}: the 'Total:' row (a sum of the precincts) is skipped.")
            continue
        data.append((number, cells))
    return Grouped(header, choices, data, notes)
