"""Read voter files, death records and claims lists into cleaned polars frames.

Canonical columns (``docs/rolls.md``):

* voters: ``voter_id, first_name, middle_name, last_name, suffix, dob, sex,
  address, city, zip, county, registration_date`` — ``voter_id``, the names and
  ``dob`` required, any subset of the rest;
* deaths: ``record_id, first_name, middle_name, last_name, dob, date_of_death``;
* claims (a third party's list of allegedly ineligible or double voters):
  ``claim_id, first_name, last_name, dob`` and optionally the voter fields.

``--column canonical=source`` reads a canonical column from another one.
Every value is cleaned (``rolls/clean.py``). Rows are never dropped silently:
a row with neither a first nor a last name is **excluded** (``no_name``); one
missing either name (``part_name``) or whose date of birth is empty or not a
date (``bad_dob``) is **kept** and reported; every issue carries the id and the
line. A repeated id is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from tallyguard.errors import InputError
from tallyguard.io.csvfile import find_column, open_csv
from tallyguard.io.frames import first_duplicate, read_string_frame
from tallyguard.rolls.clean import add_first_name_variants, clean_name, parse_dates, split_suffix

VOTER_COLUMNS = (
    "voter_id",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "dob",
    "sex",
    "address",
    "city",
    "zip",
    "county",
    "registration_date",
)
DEATH_COLUMNS = (
    "record_id",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "dob",
    "date_of_death",
)
CLAIM_COLUMNS = ("claim_id", *VOTER_COLUMNS[1:])
NAME_COLUMNS = ("first_name", "middle_name", "last_name", "suffix", "address", "city", "county")
DATE_COLUMNS = ("dob", "registration_date", "date_of_death")
KINDS = {"voters": VOTER_COLUMNS, "deaths": DEATH_COLUMNS, "claims": CLAIM_COLUMNS}
ISSUES = {
    "no_name": "neither a first nor a last name: excluded",
    "part_name": "first or last name missing: kept, matched on the rest",
    "bad_dob": "date of birth empty or not a date: kept, matched without it",
}


@dataclass(frozen=True)
class RowIssue:
    record_id: str
    line: int | None
    issue: str
    value: str | None

    def to_json(self) -> dict[str, object]:
        return {"id": self.record_id, "line": self.line, "issue": self.issue, "value": self.value}


@dataclass(frozen=True)
class LoadedList:
    """A cleaned list: canonical columns (absent ones null), ``id`` first, plus
    ``birth_year``, ``first_name_variants`` and ``first_name_canonical``."""

    frame: pl.DataFrame
    path: Path
    kind: str
    rows: int
    issues: tuple[RowIssue, ...]
    columns: dict[str, str]
    notes: tuple[str, ...] = field(default=())

    def issue_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ISSUES, 0)
        for issue in self.issues:
            counts[issue.issue] += 1
        return counts


def _read(path: Path) -> tuple[pl.DataFrame, int | None, list[str]]:
    if path.suffix.lower() in (".parquet", ".pq"):
        if not path.is_file():
            raise InputError("file not found.", file=path, fix="check the path and the file name.")
        try:
            frame = pl.read_parquet(path)
        except (pl.exceptions.PolarsError, OSError) as error:
            raise InputError(
                f"is not a readable Parquet file ({error}).", file=path, fix="write it again."
            ) from None
        return frame.select(pl.all().cast(pl.String)), None, []
    csv_file = open_csv(path)
    read = read_string_frame(csv_file)
    first = csv_file.header_lines + 1 if read.simple else None
    return read.frame, first, list(csv_file.notes)


def load_list(
    path: str | Path,
    kind: str = "voters",
    *,
    columns: Mapping[str, str] | None = None,
    day_first: bool = False,
) -> LoadedList:
    """Read and clean a voter file (``kind="voters"``), death records or a claims list.

    Raises:
        InputError: a missing required column (with the closest header), an
            empty or repeated id (both lines named), or no usable row.
    """
    path = Path(path)
    canonical = KINDS[kind]
    id_column = canonical[0]
    source, first_line, notes = _read(path)
    mapping = dict(columns or {})
    unknown = sorted(set(mapping) - set(canonical))
    if unknown:
        raise InputError(
            f"--column {unknown[0]}=... is not a column of a {kind} list.",
            fix=f"use one of {', '.join(canonical)}.",
        )
    required = (id_column, "first_name", "last_name", "dob")
    found: dict[str, str] = {}
    for name in canonical:
        column = find_column(
            source.columns, mapping.get(name, name), file=path, required=name in required
        )
        if column is not None:
            found[name] = column
    frame = source.select(
        [
            pl.col(found[name]).str.strip_chars().replace("", None).alias(name)
            if name in found
            else pl.lit(None, dtype=pl.String).alias(name)
            for name in canonical
        ]
    )

    def line_of(index: int) -> int | None:
        return None if first_line is None else first_line + index

    _check_ids(frame[id_column], path, found[id_column], line_of)
    raw_dob = frame["dob"]
    frame = frame.with_columns([clean_name(c) for c in NAME_COLUMNS if c in canonical])
    frame = frame.with_columns(
        [parse_dates(c, day_first=day_first) for c in DATE_COLUMNS if c in canonical]
    )
    frame = split_suffix(frame)
    if "zip" in canonical:
        digits = pl.col("zip").str.replace_all(r"[^0-9]", "").str.slice(0, 5)
        frame = frame.with_columns(digits.replace("", None).alias("zip"))
    if "sex" in canonical:
        frame = frame.with_columns(pl.col("sex").str.to_uppercase().str.slice(0, 1))
    ids = frame[id_column].to_list()
    first_missing, last_missing = frame["first_name"].is_null(), frame["last_name"].is_null()
    no_name = (first_missing & last_missing).to_list()
    part_name = (first_missing ^ last_missing).to_list()
    bad_dob = frame["dob"].is_null().to_list()
    issues = [
        RowIssue(ids[i], line_of(i), "no_name", None) for i, flag in enumerate(no_name) if flag
    ]
    issues += [
        RowIssue(ids[i], line_of(i), "part_name", None) for i, flag in enumerate(part_name) if flag
    ]
    issues += [
        RowIssue(ids[i], line_of(i), "bad_dob", raw_dob[i])
        for i, flag in enumerate(bad_dob)
        if flag and not no_name[i]
    ]
    kept = frame.filter(~pl.Series(no_name))
    if kept.height == 0:
        raise InputError(
            "no row has a first or a last name.",
            file=path,
            fix="check the column mapping (--column first_name=..., last_name=...).",
        )
    kept = add_first_name_variants(kept).with_columns(
        pl.col("dob").dt.year().alias("birth_year"),
        pl.col("dob").dt.strftime("%Y-%m-%d").alias("dob"),
        *[
            pl.col(c).dt.strftime("%Y-%m-%d").alias(c)
            for c in ("registration_date", "date_of_death")
            if c in canonical
        ],
    )
    issues.sort(key=lambda issue: (issue.line or 0, issue.issue))
    return LoadedList(kept, path, kind, frame.height, tuple(issues), found, tuple(notes))


def _check_ids(
    values: pl.Series, path: Path, column: str, where: Callable[[int], int | None]
) -> None:
    missing = values.is_null()
    if missing.any():
        index = int(missing.arg_true()[0])
        raise InputError(
            "the id is empty.",
            file=path,
            line=where(index),
            field=column,
            fix="give every record an id.",
        )
    pair = first_duplicate(values)
    if pair is not None:
        first, second = pair
        raise InputError(
            f"id {values[first]!r} appears twice (first on line {where(first)}).",
            file=path,
            line=where(second),
            field=column,
            fix="ids must be unique; merge or renumber the records.",
        )


def parse_column_options(items: Sequence[str]) -> dict[str, str]:
    """``["dob=BirthDate", ...]`` -> mapping; a malformed item is an InputError."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, source = item.partition("=")
        if not sep or not name.strip() or not source.strip():
            raise InputError(
                f"--column {item!r} is not canonical=source.", fix="write e.g. --column dob=DOB."
            )
        out[name.strip()] = source.strip()
    return out
