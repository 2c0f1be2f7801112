"""Ballot manifests: where every paper ballot card is stored, batch by batch.

Two layouts are read (column names are matched ignoring case):

* **Arlo** (votingworks/arlo ``server/api/ballot_manifest.py``; templates
  ``client/public/sample_ballot_manifest.csv``, ``sample_manifest_BC.csv``,
  ``sample_manifest_hybrid.csv``): ``Container`` (optional), ``Tabulator``
  (optional), ``Batch Name``, ``Number of Ballots`` and, for hybrid audits,
  ``CVR`` (Y/N, optional here). tallyguard's own writer adds a leading
  ``Jurisdiction`` column (:data:`MANIFEST_COLUMNS`) so one file can cover a
  multi-jurisdiction audit.
* **ColoradoRLA** (FreeAndFair/ColoradoRLA ``test/zoo/*manifest*.csv``,
  ``docs/samples/manifest-dq.csv``): ``CountyID`` (the jurisdiction),
  ``ScannerID`` (the tabulator), ``BatchID``, ``NumBallots`` and
  ``StorageLocation`` (the container).

As in Arlo, a batch is identified by its name together with its tabulator
(Arlo's sample ``sample_manifest_BC.csv`` reuses batch name ``1`` on several
tabulators), within its jurisdiction; a repeated identity is an error naming
both lines.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from tallyguard.errors import InputError
from tallyguard.io.csvfile import CsvFile, open_csv, parse_count, parse_flag
from tallyguard.model import ManifestBatch

MANIFEST_COLUMNS = ("Jurisdiction", "Container", "Tabulator", "Batch Name", "Number of Ballots")
CVR_COLUMN = "CVR"
COLORADO_RLA_COLUMNS = {
    "Jurisdiction": "CountyID",
    "Container": "StorageLocation",
    "Tabulator": "ScannerID",
    "Batch Name": "BatchID",
    "Number of Ballots": "NumBallots",
}
_REQUIRED = ("Batch Name", "Number of Ballots")


def _columns(csv: CsvFile, notes: list[str]) -> dict[str, str | None]:
    """Map each of MANIFEST_COLUMNS (and CVR) to the header name holding it."""
    if csv.column("Batch Name", required=False) is None and all(
        csv.column(COLORADO_RLA_COLUMNS[name], required=False) for name in _REQUIRED
    ):
        notes.append(f"{csv.path.name}: read as a ColoradoRLA ballot manifest")
        found = {
            name: csv.column(source, required=False)
            for name, source in COLORADO_RLA_COLUMNS.items()
        }
        found[CVR_COLUMN] = None
        return found
    if (
        csv.column("Number of Ballots", required=False) is None
        and csv.column("Batch Name", required=False) is not None
        and len(csv.header) > 1
        and not difflib.get_close_matches(
            "number of ballots", [name.casefold() for name in csv.header], n=1
        )
    ):
        raise InputError(
            "required column 'Number of Ballots' is missing.",
            file=csv.path,
            line=1,
            field="Number of Ballots",
            fix="this looks like a candidate-totals-by-batch file, not a ballot manifest; "
            "upload the manifest (Batch Name, Number of Ballots).",
        )
    found = {name: csv.column(name, required=name in _REQUIRED) for name in MANIFEST_COLUMNS}
    found[CVR_COLUMN] = csv.column(CVR_COLUMN, required=False)
    return found


def read_manifest(
    path: str | Path, jurisdiction: str | None = None, *, notes: list[str] | None = None
) -> list[ManifestBatch]:
    """Read a ballot manifest (Arlo or ColoradoRLA layout) into :class:`ManifestBatch` rows.

    Args:
        path: the CSV file.
        jurisdiction: the jurisdiction of every batch when the file has no
            ``Jurisdiction`` column (or leaves a cell of it empty).
        notes: if given, notes about how the file was read (encoding fallback,
            layout) are appended to it.

    Raises:
        InputError: naming file, line and column, for a missing column, an
            empty batch name, a count that is not a whole number >= 0, a CVR
            flag that is not Y/N, a batch without a jurisdiction, or a batch
            listed twice (both lines are named).
    """
    csv = open_csv(path)
    sink = notes if notes is not None else []
    sink.extend(csv.notes)
    columns = _columns(csv, sink)
    jurisdiction_column = columns["Jurisdiction"]
    if jurisdiction_column is None and not jurisdiction:
        raise InputError(
            "the manifest has no Jurisdiction column and no jurisdiction was given.",
            file=csv.path,
            line=1,
            field="Jurisdiction",
            fix="add a Jurisdiction column, or say which jurisdiction the manifest is for.",
        )
    batches: list[ManifestBatch] = []
    seen: dict[tuple[str, str | None, str], int] = {}
    for line, row in csv.rows():
        batch = _batch(
            csv.path,
            line,
            {k: row[v] if v else "" for k, v in columns.items()},
            columns,
            jurisdiction,
        )
        key = (batch.jurisdiction, batch.tabulator, batch.batch_name)
        if key in seen:
            on = f" on tabulator {batch.tabulator!r}" if batch.tabulator else ""
            raise InputError(
                f"batch {batch.batch_name!r}{on} of {batch.jurisdiction!r} is listed twice "
                f"(lines {seen[key]} and {line}).",
                file=csv.path,
                line=line,
                field=columns["Batch Name"],
                fix="give each batch a unique name (per tabulator), or merge the two rows.",
            )
        seen[key] = line
        batches.append(batch)
    return batches


def _batch(
    path: Path,
    line: int,
    cells: dict[str, str],
    columns: dict[str, str | None],
    jurisdiction: str | None,
) -> ManifestBatch:
    """One manifest row; ``cells`` is keyed by canonical column name ('' if absent)."""
    owner = cells["Jurisdiction"] or jurisdiction
    if not owner:
        raise InputError(
            "the jurisdiction is empty.",
            file=path,
            line=line,
            field=columns["Jurisdiction"],
            fix="fill in the jurisdiction.",
        )
    batch_name = cells["Batch Name"]
    if not batch_name:
        raise InputError(
            "the batch name is empty.",
            file=path,
            line=line,
            field=columns["Batch Name"],
            fix="give every batch a name.",
        )
    count_column = columns["Number of Ballots"] or "Number of Ballots"
    cvr_column = columns[CVR_COLUMN] or CVR_COLUMN
    return ManifestBatch(
        jurisdiction=owner,
        batch_name=batch_name,
        num_ballots=parse_count(
            cells["Number of Ballots"], file=path, line=line, field=count_column
        ),
        container=cells["Container"] or None,
        tabulator=cells["Tabulator"] or None,
        has_cvrs=parse_flag(cells[CVR_COLUMN], file=path, line=line, field=cvr_column),
    )
