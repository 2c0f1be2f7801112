"""Unit-level results tables: one row per polling station or precinct protocol.

The canonical layout (``docs/simulator.md``; the shape of the protocol data used
by Klimek et al. 2012 and Kobak et al. 2016) has the columns
:data:`RESULTS_ID_COLUMNS` - ``unit_id``, ``electorate``, ``ballots_issued``
and ``ballots_cast`` required; ``region``, ``jurisdiction`` and ``invalid``
optional - and one column of vote counts per choice. Files are CSV (read through
:mod:`tallyguard.io.csvfile`, so encoding, delimiter and ``="..."`` cells are
handled; ``.csv.gz`` too) or Parquet, by suffix. Another layout is read by
mapping canonical names to its columns (``column_map``).

Counts must be whole numbers >= 0; logical inconsistencies (more votes than
ballots, ...) are not rejected here but listed by :func:`inconsistent_units`
for the forensics reports.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from tallyguard.errors import InputError
from tallyguard.io.csvfile import find_column, open_csv, require_column
from tallyguard.io.frames import LineOf, first_duplicate, read_string_frame, whole_numbers
from tallyguard.model import UnitResult

RESULTS_ID_COLUMNS = (
    "unit_id",
    "region",
    "jurisdiction",
    "electorate",
    "ballots_issued",
    "ballots_cast",
    "invalid",
)
REQUIRED_COLUMNS = ("unit_id", "electorate", "ballots_issued", "ballots_cast")
_TEXT_COLUMNS = ("unit_id", "region", "jurisdiction")
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".tsv", ".txt", ".gz")


@dataclass(frozen=True)
class ResultsTable:
    """A checked results table: canonical ``frame`` and its ``choices``.

    ``frame`` has the columns :data:`RESULTS_ID_COLUMNS` (text as ``String``,
    an absent optional column all null; counts as ``Int64``) then one ``Int64``
    column per choice, in file order.
    """

    path: Path
    frame: pl.DataFrame
    choices: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def units(self) -> Iterator[UnitResult]:
        """Yield one :class:`UnitResult` per row, in file order."""
        for row in self.frame.iter_rows(named=True):
            yield UnitResult(
                unit_id=row["unit_id"],
                electorate=row["electorate"],
                ballots_issued=row["ballots_issued"],
                ballots_cast=row["ballots_cast"],
                votes={choice: row[choice] for choice in self.choices},
                invalid=row["invalid"],
                region=row["region"],
                jurisdiction=row["jurisdiction"],
            )


def _source_frame(path: Path) -> tuple[pl.DataFrame, LineOf, tuple[str, ...]]:
    """All columns of the file, as read, with a row -> line function and notes."""
    suffix = path.suffix.lower()
    if suffix in _PARQUET:
        if not path.is_file():
            raise InputError("file not found.", file=path, fix="check the path and the file name.")
        try:
            frame = pl.read_parquet(path)
        except (pl.exceptions.PolarsError, OSError) as error:
            raise InputError(
                f"is not a readable Parquet file ({error}).", file=path, fix="write it again."
            ) from None
        return frame, lambda _index: None, ()
    if suffix not in _CSV:
        raise InputError(
            f"unknown results file type {suffix!r}.",
            file=path,
            fix="use a .csv (or .csv.gz) or a .parquet file.",
        )
    csv = open_csv(path)
    strings = read_string_frame(csv)
    return strings.frame, strings.line_of, tuple(csv.notes)


def _resolve(
    header: Sequence[str],
    path: Path,
    column_map: Mapping[str, str],
    choices: Sequence[str] | None,
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Source column of each canonical ID column, and of each choice."""
    ids: dict[str, str | None] = {}
    for name in RESULTS_ID_COLUMNS:
        required = name in REQUIRED_COLUMNS or name in column_map
        ids[name] = find_column(header, column_map.get(name, name), file=path, required=required)
    renames = {
        name: require_column(header, source, file=path)
        for name, source in column_map.items()
        if name not in ids
    }
    picked: dict[str, str] = {}
    if choices is None:
        used = {source for source in ids.values() if source is not None}
        renamed = {source: name for name, source in renames.items()}
        for column in header:
            if column not in used:
                picked[renamed.get(column, column)] = column
    else:
        for name in choices:
            picked[name] = renames.get(name) or require_column(header, name, file=path)
    if not picked:
        raise InputError(
            "there are no choice columns.",
            file=path,
            line=1,
            fix="add one column of vote counts per choice.",
        )
    clash = set(picked) & set(RESULTS_ID_COLUMNS)
    if clash:
        name = sorted(clash)[0]
        raise InputError(
            f"the column {name!r} would be read as a choice.",
            file=path,
            line=1,
            field=picked[name],
            fix=f"map {name!r} in column_map, or list the choices explicitly.",
        )
    return ids, picked


def read_results(
    path: str | Path,
    column_map: Mapping[str, str] | None = None,
    *,
    choices: Sequence[str] | None = None,
) -> ResultsTable:
    """Read and check a unit-level results table (CSV or Parquet).

    Args:
        path: ``.csv``/``.csv.gz`` (any delimiter) or ``.parquet``.
        column_map: canonical name -> column in the file, for files with other
            headers, e.g. ``{"unit_id": "Precinct", "electorate": "Registered"}``.
            One column may serve two names; a key that is not an ID column
            renames a choice.
        choices: the choice columns to read (canonical names); other columns
            are then ignored. By default every column that is not an ID column
            is a choice.

    Raises:
        InputError: a missing required column (the fix names the closest
            header), an empty ``unit_id``, a unit listed twice (both lines
            named), or a count that is missing, negative or not a whole
            number (line and column named).
    """
    path = Path(path)
    source, line_of, notes = _source_frame(path)
    ids, picked = _resolve(source.columns, path, column_map or {}, choices)
    height = source.height
    columns: list[pl.Series] = []
    for name in RESULTS_ID_COLUMNS:
        column = ids[name]
        if column is None:
            dtype = pl.String if name in _TEXT_COLUMNS else pl.Int64
            columns.append(pl.Series(name, [None] * height, dtype=dtype))
        elif name in _TEXT_COLUMNS:
            text = source[column].cast(pl.String).fill_null("")
            columns.append(text.replace("", None).alias(name))
        else:
            columns.append(_counts(source[column], path, column, line_of).alias(name))
    hint = "" if choices is not None else "If the column is not a choice, pass choices=[...]."
    for name, column in picked.items():
        columns.append(_counts(source[column], path, column, line_of, hint).alias(name))
    frame = pl.DataFrame(columns)
    _check_unit_ids(frame["unit_id"], path, ids["unit_id"] or "unit_id", line_of)
    return ResultsTable(path, frame, tuple(picked), notes)


def _counts(
    values: pl.Series, path: Path, column: str, line_of: LineOf, hint: str = ""
) -> pl.Series:
    if values.dtype.is_integer() and values.null_count() == 0 and (values >= 0).all():
        return values.cast(pl.Int64)
    if values.dtype.is_float():
        whole = (values.is_finite() & (values == values.floor())).fill_null(False)
        as_int = values.set(~whole, 0.0).cast(pl.Int64).cast(pl.String)
        values = as_int.zip_with(whole, values.cast(pl.String))
    text = values.cast(pl.String).fill_null("")
    return whole_numbers(text, file=path, field=column, line_of=line_of, hint=hint)


def _check_unit_ids(values: pl.Series, path: Path, column: str, line_of: LineOf) -> None:
    def where(index: int) -> str:
        line = line_of(index)
        return f"line {line}" if line is not None else f"data row {index + 1}"

    missing = values.is_null()
    if missing.any():
        index = int(missing.arg_true()[0])
        raise InputError(
            f"the unit id is empty ({where(index)}).",
            file=path,
            line=line_of(index),
            field=column,
            fix="give every unit an id.",
        )
    pair = first_duplicate(values)
    if pair is not None:
        first, second = pair
        raise InputError(
            f"unit {values[first]!r} appears twice ({where(first)} and {where(second)}).",
            file=path,
            line=line_of(second),
            field=column,
            fix="each unit must appear once; merge or rename the rows.",
        )


RULES = (
    "sum(votes)+invalid > ballots_cast",
    "ballots_cast > ballots_issued",
    "ballots_issued > electorate",
)


def inconsistent_units(table: ResultsTable) -> pl.DataFrame:
    """Units whose protocol breaks an accounting rule, one row per (unit, rule).

    Columns ``unit_id``, ``rule`` (one of :data:`RULES`) and ``excess`` (by how
    much the left side exceeds the right), in file order. ``invalid`` counts as
    0 where absent. These are flags for the forensics report, not proof of
    fraud: clerical errors and late ballot handling produce them too.
    """
    votes = pl.sum_horizontal([pl.col(c) for c in table.choices]) + pl.col("invalid").fill_null(0)
    sides = (
        (votes, pl.col("ballots_cast")),
        (pl.col("ballots_cast"), pl.col("ballots_issued")),
        (pl.col("ballots_issued"), pl.col("electorate")),
    )
    indexed = table.frame.with_row_index("_row")
    parts = [
        indexed.filter(left > right).select(
            "_row",
            "unit_id",
            pl.lit(rule).alias("rule"),
            pl.lit(k).alias("_rule"),
            (left - right).alias("excess"),
        )
        for k, (rule, (left, right)) in enumerate(zip(RULES, sides, strict=True))
    ]
    return pl.concat(parts).sort("_row", "_rule").drop("_row", "_rule")
