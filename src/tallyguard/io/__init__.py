"""Readers (and a few writers) for the files election officials and auditors bring.

Every reader is pure - it reads a file and yields typed records, never touching
the store - and every bad value raises :class:`~tallyguard.errors.InputError`
naming the file, the line (or JSON path) and the field, with a fix.
"""

from tallyguard.io.contests import (
    ReportedContest,
    ReportedElection,
    read_contests,
    write_contests,
)
from tallyguard.io.csvfile import CsvFile, open_csv, parse_count, parse_flag
from tallyguard.io.cvr_csv import (
    CVR_ID_COLUMNS,
    CvrCsv,
    choice_column,
    read_cvr_csv,
    read_cvr_frame,
)
from tallyguard.io.manifest import MANIFEST_COLUMNS, read_manifest
from tallyguard.io.nist_cvr import NistCvrReport, read_nist_cvr_json
from tallyguard.io.results import (
    RESULTS_ID_COLUMNS,
    ResultsTable,
    inconsistent_units,
    read_results,
)

__all__ = [
    "CVR_ID_COLUMNS",
    "MANIFEST_COLUMNS",
    "RESULTS_ID_COLUMNS",
    "CsvFile",
    "CvrCsv",
    "NistCvrReport",
    "ReportedContest",
    "ReportedElection",
    "ResultsTable",
    "choice_column",
    "inconsistent_units",
    "open_csv",
    "parse_count",
    "parse_flag",
    "read_contests",
    "read_cvr_csv",
    "read_cvr_frame",
    "read_manifest",
    "read_nist_cvr_json",
    "read_results",
    "write_contests",
]
