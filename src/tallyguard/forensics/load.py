"""Read a unit-level results file into a :class:`UnitTable`, excluding bad rows by stated rules.

Columns are found by their canonical names (``unit_id, region, electorate,
ballots_issued, ballots_cast, invalid``), by ``--column canonical=source``
(``source`` may be ``a+b+c``: counts are added, ids joined with ``/``), or by a
preset (``forensics/presets.py``). Every other column whose cells are mostly
whole numbers is a choice; ``--column NAME=source`` renames one.

Rows are never dropped silently. A row is **excluded**, with its unit id, line
and rule, when (in this order):

1. ``missing``: a count the tests read is empty (electorate, ballots issued,
   ballots cast, a choice's votes);
2. ``not_a_count``: such a value is not a whole number >= 0;
3. ``votes_exceed_ballots``: the leader's votes, or all votes plus invalid
   ballots, exceed the ballots cast;
4. ``issued_exceed_electorate``: more ballots issued than registered voters
   (only when the file reports an electorate);
5. ``bad_covariate``: a covariate named with ``--covariate`` is empty or not a
   number.

A row with more ballots in the boxes than were issued is **kept and flagged**
(``cast_exceed_issued``): that can itself be the trace under study.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from tallyguard.errors import InputError
from tallyguard.forensics.presets import PRESETS, clarity_rows, ru_cec_choices, ru_cec_columns
from tallyguard.forensics.table import UnitTable
from tallyguard.io.csvfile import clean_cell, csv_records, find_column, open_csv, sniff_delimiter
from tallyguard.io.frames import first_duplicate, read_string_frame
from tallyguard.io.textfile import detect_encoding, open_binary

CANONICAL = ("unit_id", "region", "electorate", "ballots_issued", "ballots_cast", "invalid")
TEXT = ("unit_id", "region")
EXCLUSION_RULES = {
    "missing": "a count the tests read is empty",
    "not_a_count": "a count is not a whole number >= 0",
    "votes_exceed_ballots": "the leader's votes, or all votes plus invalid, exceed ballots cast",
    "issued_exceed_electorate": "more ballots issued than registered voters",
    "bad_covariate": "a covariate (--covariate) is empty or not a number",
}
FLAG_RULES = {"cast_exceed_issued": "more ballots in the boxes than ballots issued (kept)"}
_COUNT = r"^[0-9]+(\.0*)?$"


@dataclass(frozen=True)
class RowIssue:
    """One excluded or flagged row."""

    unit_id: str
    line: int | None
    rule: str
    field: str | None

    def to_json(self) -> dict[str, object]:
        return {"unit_id": self.unit_id, "line": self.line, "rule": self.rule, "field": self.field}


@dataclass(frozen=True)
class LoadedUnits:
    """The table the tests read, and what was left out of it and why."""

    table: UnitTable
    path: Path
    rows: int
    columns: dict[str, str]
    excluded: tuple[RowIssue, ...]
    flagged: tuple[RowIssue, ...]
    notes: tuple[str, ...] = field(default=())

    def exclusion_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(EXCLUSION_RULES, 0)
        for issue in self.excluded:
            counts[issue.rule] += 1
        return counts


@dataclass(frozen=True)
class _Source:
    header: list[str]
    frame: pl.DataFrame  # every column as String
    first_line: int | None  # line of data row 0 (None: Parquet, or unknown)
    notes: list[str]
    choices: list[str] | None = None  # a preset's choice columns


def parse_column_options(items: Sequence[str]) -> dict[str, str]:
    """``["electorate=Registered", ...]`` -> mapping; a malformed item is an InputError."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, source = item.partition("=")
        if not sep or not name.strip() or not source.strip():
            raise InputError(
                f"--column {item!r} is not canonical=source.",
                fix="write e.g. --column electorate=Registered.",
            )
        out[name.strip()] = source.strip()
    return out


def _read_source(path: Path, preset: str | None) -> _Source:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            frame = pl.read_parquet(path)
        except (pl.exceptions.PolarsError, OSError) as error:
            raise InputError(
                f"is not a readable Parquet file ({error}).", file=path, fix="write it again."
            ) from None
        strings = frame.select(pl.all().cast(pl.String))
        return _Source(list(frame.columns), strings, None, [])
    if preset == "clarity":
        return _clarity(path)
    csv_file = open_csv(path)
    read = read_string_frame(csv_file)
    first = csv_file.header_lines + 1 if read.simple else None
    return _Source(list(csv_file.header), read.frame, first, list(csv_file.notes))


def _clarity(path: Path) -> _Source:
    encoding, notes = detect_encoding(path)
    with io.TextIOWrapper(open_binary(path), encoding=encoding, newline=None) as stream:
        text = stream.read()
    delimiter = sniff_delimiter(text.split("\n", 1)[0])
    records = [
        (line, [clean_cell(c) for c in cells])
        for line, cells in csv_records(io.StringIO(text), delimiter, file=path)
        if any(c.strip() for c in cells)
    ]
    grouped = clarity_rows(records, str(path))
    columns = {
        name: [cells[k] if k < len(cells) else "" for _, cells in grouped.rows]
        for k, name in enumerate(grouped.header)
    }
    frame = pl.DataFrame(columns, schema=dict.fromkeys(grouped.header, pl.String))
    lines = [line for line, _ in grouped.rows]
    first = lines[0] if lines == list(range(lines[0], lines[0] + len(lines))) else None
    return _Source(grouped.header, frame, first, [*notes, *grouped.notes], grouped.choices)


def _column(header: Sequence[str], name: str, path: Path) -> str:
    found = find_column(header, name, file=path, required=True)
    assert found is not None
    return found


def _expression(header: Sequence[str], source: str, path: Path) -> list[str]:
    """The source columns of ``a+b+c`` (a whole header name wins over splitting)."""
    exact = find_column(header, source, file=path, required=False)
    if exact is not None:
        return [exact]
    return [_column(header, part.strip(), path) for part in source.split("+")]


def load_units(
    path: str | Path,
    *,
    leader: str | None,
    columns: Mapping[str, str] | None = None,
    preset: str | None = None,
    covariates: Sequence[str] = (),
) -> LoadedUnits:
    """Read ``path`` (CSV, CSV.gz or Parquet) and exclude inconsistent rows by the stated rules.

    ``covariates`` names numeric columns read as unit characteristics for the
    outlier test (``UnitTable.covariates``), not as choices.

    Raises:
        InputError: unknown preset, a missing column (with the closest header),
            no choice columns, an unknown leader, a unit id twice (both lines),
            or no row left after exclusions.
    """
    path = Path(path)
    if preset is not None and preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}.", fix=f"use one of {', '.join(PRESETS)}.")
    source = _read_source(path, preset)
    header = source.header
    mapping = dict(columns or {})
    if preset == "ru-cec":
        found, ru_leader = ru_cec_columns(header, str(path))
        mapping = {**found, **mapping}
        leader = leader or ru_leader
        if leader == ru_leader:
            mapping.setdefault(leader, leader)
    exprs: dict[str, list[str]] = {}
    for name in CANONICAL:
        if name in mapping:
            exprs[name] = _expression(header, mapping[name], path)
        else:
            found_column = find_column(header, name, file=path, required=False)
            if found_column is not None:
                exprs[name] = [found_column]
    renames = {
        name: _expression(header, src, path)
        for name, src in mapping.items()
        if name not in CANONICAL
    }
    covariate_columns = {name: _column(header, name, path) for name in covariates}
    used = {c for cols in exprs.values() for c in cols} | {
        c for cols in renames.values() for c in cols
    }
    used |= set(covariate_columns.values())
    if preset == "ru-cec":
        candidates = ru_cec_choices(header, used)
    elif source.choices is not None:
        candidates = [c for c in source.choices if c not in used]
    else:
        candidates = [c for c in header if c not in used]
    notes = list(source.notes)
    choices: dict[str, list[str]] = dict(renames)
    for column in candidates:
        values = source.frame[column].str.strip_chars().fill_null("")
        filled = values.filter(values != "")
        numeric = int(filled.str.contains(_COUNT).sum())
        if column == leader or numeric * 2 >= filled.len():
            choices[column] = [column]
        else:
            notes.append(f"column {column!r} is mostly not numbers and is not read as a choice.")
    position = {name: k for k, name in enumerate(header)}
    choices = dict(sorted(choices.items(), key=lambda item: position[item[1][0]]))
    if not choices:
        raise InputError(
            "there are no choice columns.", file=path, line=1, fix="add one column per choice."
        )
    if leader is None:
        raise InputError("no leader named.", file=path, fix="name the choice with --leader.")
    if leader not in choices:
        matches = [c for c in choices if leader.casefold() in c.casefold()]
        if len(matches) == 1:
            notes.append(f"leader {leader!r} read as the column {matches[0]!r}.")
            leader = matches[0]
    if leader not in choices:
        names = ", ".join(repr(c) for c in list(choices)[:8])
        raise InputError(
            f"the leader {leader!r} is not a choice column.",
            file=path,
            line=1,
            fix=f"use one of {names}{' ...' if len(choices) > 8 else ''}, or map it with "
            f"--column {leader}=SOURCE.",
        )
    if "unit_id" not in exprs:
        raise InputError(
            "there is no unit_id column.",
            file=path,
            line=1,
            fix="map one with --column unit_id=SOURCE.",
        )
    if "ballots_cast" not in exprs:
        notes.append("no ballots_cast column: ballots cast = all votes + invalid.")
    if "ballots_issued" not in exprs:
        notes.append("no ballots_issued column: ballots issued = ballots cast.")
    if "electorate" not in exprs:
        notes.append("no electorate column: tests that need turnout are skipped.")
    return _build(path, source, exprs, choices, leader, notes, covariate_columns)


def _line(source: _Source, index: int) -> int | None:
    return None if source.first_line is None else source.first_line + index


def _counts(frame: pl.DataFrame, cols: list[str]) -> tuple[pl.Series, pl.Series, pl.Series]:
    """(sum as Int64 with nulls, missing mask, not-a-count mask) of the columns."""
    total: pl.Series | None = None
    missing = pl.Series([False] * frame.height)
    bad = pl.Series([False] * frame.height)
    for col in cols:
        text = frame[col].str.strip_chars().fill_null("")
        empty = text == ""
        wrong = ~empty & ~text.str.contains(_COUNT)
        value = text.str.replace(r"\.0*$", "").cast(pl.Int64, strict=False)
        wrong = wrong | (~empty & value.is_null())
        missing, bad = missing | empty, bad | wrong
        value = value.fill_null(0)
        total = value if total is None else total + value
    assert total is not None
    return total, missing, bad


def _build(
    path: Path,
    source: _Source,
    exprs: dict[str, list[str]],
    choices: dict[str, list[str]],
    leader: str,
    notes: list[str],
    covariate_columns: Mapping[str, str],
) -> LoadedUnits:
    frame, height = source.frame, source.frame.height
    text = {}
    for name in TEXT:
        if name in exprs:
            parts = [frame[c].str.strip_chars().fill_null("") for c in exprs[name]]
            joined = parts[0]
            for part in parts[1:]:
                joined = joined + "/" + part
            text[name] = joined
    ids = text["unit_id"]
    empty_id = ids == ""
    if empty_id.any():
        index = int(empty_id.arg_true()[0])
        raise InputError(
            "the unit id is empty.",
            file=path,
            line=_line(source, index),
            field="+".join(exprs["unit_id"]),
            fix="give every unit an id.",
        )
    pair = first_duplicate(ids)
    if pair is not None:
        first, second = pair
        where = f"line {_line(source, first)}" if source.first_line else f"row {first + 1}"
        raise InputError(
            f"unit {ids[first]!r} appears twice (first at {where}).",
            file=path,
            line=_line(source, second),
            field="+".join(exprs["unit_id"]),
            fix="each unit must appear once; merge or rename the rows.",
        )
    problem = np.full(height, "", dtype=object)
    problem_field = np.full(height, "", dtype=object)

    def mark(mask: np.ndarray, rule: str, name: str) -> None:
        fresh = mask & (problem == "")
        problem[fresh] = rule
        problem_field[fresh] = name

    values: dict[str, np.ndarray] = {}
    read_order = ["electorate", "ballots_issued", "ballots_cast", "invalid"]
    for name in read_order:
        if name not in exprs:
            continue
        total, missing, bad = _counts(frame, exprs[name])
        values[name] = total.to_numpy()
        if name != "invalid":
            mark(missing.to_numpy(), "missing", name)
            mark(bad.to_numpy(), "not_a_count", name)
        else:
            values[name] = np.where(missing.to_numpy() | bad.to_numpy(), 0, values[name])
    votes: dict[str, np.ndarray] = {}
    for name in [leader, *[c for c in choices if c != leader]]:
        total, missing, bad = _counts(frame, choices[name])
        votes[name] = total.to_numpy()
        mark(missing.to_numpy(), "missing", name)
        mark(bad.to_numpy(), "not_a_count", name)
    votes = {name: votes[name] for name in choices}
    all_votes = np.sum(np.stack(list(votes.values())), axis=0)
    invalid = values.get("invalid")
    cast = values.get("ballots_cast", all_votes + (0 if invalid is None else invalid))
    issued = values.get("ballots_issued", cast)
    has_electorate = "electorate" in values and bool(values["electorate"].any())
    electorate = values["electorate"] if has_electorate else np.zeros(height, dtype=np.int64)
    if "electorate" in values and not has_electorate:
        notes.append("the electorate column is zero throughout: turnout is not reported.")
    counted = all_votes + (0 if invalid is None else invalid)
    mark((votes[leader] > cast) | (counted > cast), "votes_exceed_ballots", "ballots_cast")
    if has_electorate:
        mark(issued > electorate, "issued_exceed_electorate", "ballots_issued")
    covariate_values: dict[str, np.ndarray] = {}
    for name, column in covariate_columns.items():
        number = frame[column].str.strip_chars().cast(pl.Float64, strict=False)
        bad = number.is_null() | ~number.is_finite().fill_null(False)
        mark(bad.to_numpy(), "bad_covariate", name)
        covariate_values[name] = number.fill_null(0.0).to_numpy()
    keep = problem == ""
    ids_np = ids.to_numpy().astype(str)
    excluded = tuple(
        RowIssue(str(ids_np[i]), _line(source, int(i)), str(problem[i]), str(problem_field[i]))
        for i in np.flatnonzero(~keep)
    )
    flag = keep & (cast > issued)
    flagged = tuple(
        RowIssue(str(ids_np[i]), _line(source, int(i)), "cast_exceed_issued", "ballots_cast")
        for i in np.flatnonzero(flag)
    )
    if not keep.any():
        head = excluded[0]
        raise InputError(
            f"no row is left: every row is excluded (first: {EXCLUSION_RULES[head.rule]}).",
            file=path,
            line=head.line,
            field=head.field,
            fix="check the column mapping (--column) and the file.",
        )
    region = text.get("region")
    table = UnitTable(
        unit_id=ids_np[keep],
        electorate=electorate[keep].astype(np.int64),
        ballots_issued=issued[keep].astype(np.int64),
        ballots_cast=cast[keep].astype(np.int64),
        votes={k: v[keep].astype(np.int64) for k, v in votes.items()},
        leader=leader,
        region=None if region is None else region.to_numpy().astype(str)[keep],
        invalid=None if invalid is None else invalid[keep].astype(np.int64),
        source=path.name,
        notes=tuple(notes),
        covariates={k: v[keep].astype(np.float64) for k, v in covariate_values.items()},
    )
    mapping = {name: "+".join(cols) for name, cols in exprs.items()}
    mapping.update({name: "+".join(cols) for name, cols in choices.items() if name == leader})
    return LoadedUnits(table, path, height, mapping, excluded, flagged, tuple(notes))
