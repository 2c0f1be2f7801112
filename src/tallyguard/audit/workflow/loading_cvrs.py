"""Loading CVRs into an audit: each card placed in its manifest batch, counts checked."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from tallyguard.audit.workflow.loading import (
    CHUNK,
    batches_of,
    group_by_jurisdiction,
    record_file,
)
from tallyguard.audit.workflow.state import (
    close_hint,
    get_jurisdiction,
    require_setup,
)
from tallyguard.errors import InputError
from tallyguard.evidence.canonical import sha256_file
from tallyguard.io.cvr_csv import CvrCsv, choice_column, read_cvr_frame
from tallyguard.io.detect import read_cvrs
from tallyguard.io.vendors import CvrReader
from tallyguard.store.events import append_event
from tallyguard.store.models import (
    Audit,
    Batch,
    Cvr,
    Jurisdiction,
)


class _BatchFinder:
    """Match a CVR's (tabulator, batch) to a manifest batch, as Arlo does."""

    def __init__(self, path: Path, jurisdiction: Jurisdiction, batches: list[Batch]) -> None:
        self.path, self.jurisdiction = path, jurisdiction
        self.exact = {(b.tabulator, b.batch_name): b for b in batches}
        by_name: dict[str, list[Batch]] = defaultdict(list)
        for b in batches:
            by_name[b.batch_name].append(b)
        self.by_name = by_name

    def __call__(self, tabulator: str | None, batch_name: str | None, cvr_id: str) -> Batch:
        if batch_name is None:
            raise InputError(
                f"CVR {cvr_id!r} names no batch, so its paper card cannot be found.",
                file=self.path,
                field="batch",
                fix="export CVRs with their tabulator and batch numbers.",
            )
        found = self.exact.get((tabulator or "", batch_name))
        if found is None and (not tabulator or ("", batch_name) not in self.exact):
            candidates = self.by_name.get(batch_name, [])
            if (len(candidates) == 1 and not tabulator) or (
                len(candidates) == 1 and not candidates[0].tabulator
            ):
                found = candidates[0]
        if found is None:
            where = f"tabulator {tabulator!r}, batch {batch_name!r}" if tabulator else batch_name
            known = [f"{t} / {n}" if t else n for t, n in self.exact]
            raise InputError(
                f"CVR {cvr_id!r} is in {where}, which the ballot manifest of "
                f"{self.jurisdiction.name!r} does not list.",
                file=self.path,
                field="batch",
                fix=f"{close_hint(batch_name, known)}Load the manifest that matches these CVRs.",
            )
        return found


def load_cvrs(
    session: Session,
    audit: Audit,
    path: Path,
    jurisdiction: str | None,
    fmt: str,
    actor: str,
) -> dict[str, Any]:
    """Load (or replace) CVRs, placing each card in its manifest batch.

    tallyguard's own CVR CSV is read as columns (:func:`_place_frame`); any other
    format, and any CSV the columns do not place cleanly, card by card
    (:func:`_place_records`), which raises the first problem in file order. The
    rows go into the store in bulk (:func:`insert_cvrs`).
    """
    require_setup(audit, "CVRs")
    if audit.kind != "comparison":
        raise InputError(
            f"a {audit.kind} audit uses no CVRs.",
            field="kind",
            fix="CVRs belong to ballot-comparison audits (audit init --kind comparison).",
        )
    reader = read_cvrs(path, fmt)
    placed = _place_frame(session, audit, path, reader, jurisdiction)
    if placed is None:
        placed = _place_records(session, audit, path, reader, jurisdiction)
    summary: dict[str, Any] = {}
    digest = sha256_file(path)
    for name, (row, records) in placed.items():
        ids = select(Batch.id).where(Batch.jurisdiction_id == row.id)
        session.execute(
            delete(Cvr).where(Cvr.batch_id.in_(ids)).execution_options(synchronize_session=False)
        )
        insert_cvrs(session, audit.id, records)
        record_file(
            session, audit, row, "cvrs", path, type(reader).__name__, records.height, digest
        )
        summary[name] = {"cvrs": records.height}
    if session.get_bind().dialect.name == "postgresql":
        # Fresh statistics, so that lookups of single cards use the (batch, position)
        # index at once rather than whenever autovacuum gets to the new rows.
        session.execute(text(f"ANALYZE {Cvr.__tablename__}"))
    append_event(
        session,
        audit.id,
        "cvrs.loaded",
        {"file": path.name, "sha256": digest, "format": fmt, "jurisdictions": summary},
        actor,
    )
    return summary


#: What :func:`insert_cvrs` stores, per card: the CVR table's columns but ``audit_id``.
CVR_ROW_SCHEMA = {
    "batch_id": pl.Int64,
    "position": pl.Int64,
    "cvr_id": pl.String,
    "imprinted_id": pl.String,
    "votes": pl.String,  # JSON text, as SQLAlchemy's JSON type writes it (json.dumps)
}
Placed = dict[str, tuple[Jurisdiction, pl.DataFrame]]


def _place_records(
    session: Session, audit: Audit, path: Path, reader: CvrReader, jurisdiction: str | None
) -> Placed:
    """Every record placed in its batch, card by card, checked as it comes (any format)."""
    rows: dict[str, dict[str, list[Any]]] = {}
    finders: dict[str, _BatchFinder] = {}
    counters: dict[int, int] = Counter()
    targets: dict[str, Jurisdiction] = {}
    for record in reader.records():
        name = record.jurisdiction or jurisdiction
        if name not in targets:
            targets.update(
                group_by_jurisdiction(session, audit, path, [record.jurisdiction], jurisdiction)
            )
            row = targets[str(name)]
            batches = batches_of(session, row)
            if not batches:
                raise InputError(
                    f"jurisdiction {row.name!r} has no ballot manifest yet.",
                    field="manifest",
                    fix="load its manifest first: tallyguard audit manifest.",
                )
            finders[str(name)] = _BatchFinder(path, row, batches)
        tabulator = getattr(record, "tabulator", None)
        batch = finders[str(name)](tabulator, record.batch_name, record.cvr_id)
        counters[batch.id] += 1
        position = record.position if record.position is not None else counters[batch.id]
        columns = rows.setdefault(str(name), {column: [] for column in CVR_ROW_SCHEMA})
        columns["batch_id"].append(batch.id)
        columns["position"].append(position)
        columns["cvr_id"].append(record.cvr_id)
        columns["imprinted_id"].append(record.imprinted_id)
        columns["votes"].append(json.dumps({c: list(v) for c, v in record.votes.items()}))
    if not rows:
        raise InputError("holds no cast vote record.", file=path, fix="export the CVRs again.")
    placed: Placed = {}
    for name, columns in rows.items():
        row = targets[name]
        _check_cvr_counts(path, row, batches_of(session, row), counters)
        positions = Counter(zip(columns["batch_id"], columns["position"], strict=True))
        twice = [key for key, n in positions.items() if n > 1]
        if twice:
            raise InputError(
                f"two CVRs claim position {twice[0][1]} of the same batch.",
                file=path,
                field="position",
                fix="check the record numbers of the export.",
            )
        placed[name] = (row, pl.DataFrame(columns, schema=CVR_ROW_SCHEMA))
    return placed


def _place_frame(
    session: Session, audit: Audit, path: Path, reader: CvrReader, jurisdiction: str | None
) -> Placed | None:
    """tallyguard's CVR CSV placed as columns; ``None`` unless every card places cleanly.

    Does what :func:`_place_records` does, on the frame of
    :func:`~tallyguard.io.cvr_csv.read_cvr_frame` (which checks the file as the
    record reader does). Whenever the record reader or the placing would raise,
    returns ``None`` so that :func:`_place_records` raises the first problem.
    """
    if not isinstance(reader, CvrCsv):
        return None
    try:
        frame = read_cvr_frame(path)
    except (InputError, pl.exceptions.PolarsError):
        return None
    names = frame["jurisdiction"]
    if jurisdiction is not None:
        if (names.is_not_null() & (names != jurisdiction)).any():
            return None
        names = names.fill_null(jurisdiction)
    if not frame.height or names.null_count() or frame["batch_name"].null_count():
        return None
    targets: dict[str, tuple[Jurisdiction, list[Batch]]] = {}
    lookup: dict[str, list[Any]] = {"jurisdiction": [], "batch_name": [], "batch_id": []}
    for name in names.unique(maintain_order=True).to_list():
        try:
            row = get_jurisdiction(session, audit, name)
        except InputError:
            return None
        batches = batches_of(session, row)
        if not batches:
            return None
        targets[name] = (row, batches)
        for batch_name, batch in _batches_by_name(batches).items():
            lookup["jurisdiction"].append(name)
            lookup["batch_name"].append(batch_name)
            lookup["batch_id"].append(batch.id)
    placed = (
        frame.with_columns(names.alias("jurisdiction"))
        .join(
            pl.DataFrame(lookup, schema_overrides={"batch_id": pl.Int64}),
            on=["jurisdiction", "batch_name"],
            how="left",
            maintain_order="left",
        )
        .with_columns(
            pl.coalesce(
                pl.col("position").cast(pl.Int64), pl.int_range(1, pl.len() + 1).over("batch_id")
            ),
            _votes_json(reader.contests).alias("votes"),
        )
    )
    if placed["batch_id"].null_count():
        return None
    counts = dict(placed.group_by("batch_id").len().iter_rows())
    for _, batches in targets.values():
        if any(counts.get(b.id, 0) != b.num_ballots for b in batches):
            return None
    if placed.select(pl.struct("batch_id", "position").is_duplicated().any()).item():
        return None
    return {
        name: (row, placed.filter(pl.col("jurisdiction") == name).select(list(CVR_ROW_SCHEMA)))
        for name, (row, _) in targets.items()
    }


def _batches_by_name(batches: list[Batch]) -> dict[str, Batch]:
    """Batch name -> the batch a CVR naming no tabulator falls in (as :class:`_BatchFinder`)."""
    exact = {b.batch_name: b for b in batches if not b.tabulator}
    named: dict[str, list[Batch]] = defaultdict(list)
    for b in batches:
        named[b.batch_name].append(b)
    found = {name: found[0] for name, found in named.items() if len(found) == 1}
    return {**found, **exact}


def _votes_json(contests: Mapping[str, tuple[str, ...]]) -> pl.Expr:
    """Each card's votes as the JSON text ``json.dumps({contest: [marked, ...]})`` writes.

    A contest is on the card when any of its cells is filled in (the reader has
    checked that then all are); choices in column order, as the record reader
    lists them.
    """
    parts = []
    for contest, choices in contests.items():
        cells = [pl.col(choice_column(contest, choice)) for choice in choices]
        marked = pl.concat_str(
            [
                pl.when(cell == 1).then(pl.lit(json.dumps(choice)))
                for cell, choice in zip(cells, choices, strict=True)
            ],
            separator=", ",
            ignore_nulls=True,
        )
        text = pl.concat_str([pl.lit(f"{json.dumps(contest)}: ["), marked, pl.lit("]")])
        parts.append(pl.when(pl.any_horizontal(c.is_not_null() for c in cells)).then(text))
    inner = pl.concat_str(parts, separator=", ", ignore_nulls=True) if parts else pl.lit("")
    return pl.concat_str([pl.lit("{"), inner, pl.lit("}")])


def insert_cvrs(session: Session, audit_id: int, records: pl.DataFrame) -> None:
    """Store CVR rows (:data:`CVR_ROW_SCHEMA`) in bulk, in the command's transaction.

    PostgreSQL: one ``COPY``; SQLite: ``executemany`` in chunks. The rows are the
    ones an ORM insert would write (the votes' JSON text included).
    """
    names = ["audit_id", *CVR_ROW_SCHEMA]
    rows = records.select(pl.lit(audit_id, pl.Int64).alias("audit_id"), *CVR_ROW_SCHEMA)
    connection = session.connection()
    table = Cvr.__tablename__
    if connection.dialect.name == "postgresql":
        from psycopg import sql

        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(n) for n in names)
        )
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for values in rows.iter_rows():
                copy.write_row(values)
        return
    marks = ", ".join("?" for _ in names)
    statement_text = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"
    for start in range(0, rows.height, CHUNK):
        connection.exec_driver_sql(statement_text, rows.slice(start, CHUNK).rows())


def _check_cvr_counts(
    path: Path, jurisdiction: Jurisdiction, batches: list[Batch], counts: Mapping[int, int]
) -> None:
    for batch in batches:
        have = counts.get(batch.id, 0)
        if have != batch.num_ballots:
            label = (
                f"{batch.tabulator} / {batch.batch_name}" if batch.tabulator else batch.batch_name
            )
            raise InputError(
                f"batch {label!r} of {jurisdiction.name!r}: the ballot manifest says "
                f"{batch.num_ballots:,} cards but the CVR file has {have:,}.",
                file=path,
                field="batch",
                fix="load the manifest and CVR export of the same tabulation, or correct the "
                "manifest's count after checking the paper.",
            )
