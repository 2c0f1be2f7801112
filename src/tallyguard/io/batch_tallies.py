"""Reported vote totals per batch: Arlo's "candidate totals by batch" CSV.

Columns: ``Batch Name``, one column per choice of the contest (names matched
ignoring case), and optionally ``Jurisdiction`` (otherwise the ``jurisdiction``
argument applies). Batch comparison audits join these tallies to the ballot
manifest, which gives each batch's number of ballot cards.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tallyguard.errors import InputError
from tallyguard.io.csvfile import open_csv, parse_count
from tallyguard.model import ManifestBatch

BatchKey = tuple[str, str]


def read_batch_tallies(
    path: str | Path, choices: Sequence[str], jurisdiction: str | None = None
) -> dict[BatchKey, NDArray[np.int64]]:
    """``{(jurisdiction, batch name): votes per choice}`` in the order of ``choices``."""
    path = Path(path)
    csv = open_csv(path)
    batch_col = csv.column("Batch Name")
    jur_col = csv.column("Jurisdiction", required=False)
    if jur_col is None and jurisdiction is None:
        raise InputError(
            "has no Jurisdiction column.", file=path, line=1, fix="pass --jurisdiction NAME."
        )
    columns = [csv.column(choice) for choice in choices]
    tallies: dict[BatchKey, NDArray[np.int64]] = {}
    lines: dict[BatchKey, int] = {}
    for line, row in csv.rows():
        assert batch_col is not None
        key = (row[jur_col] if jur_col else str(jurisdiction), row[batch_col])
        if key in tallies:
            raise InputError(
                f"batch {key[1]!r} of {key[0]!r} appears again (first on line {lines[key]}).",
                file=path,
                line=line,
                field=batch_col,
                fix="give each batch one row.",
            )
        counts = [parse_count(row[str(c)], file=path, line=line, field=str(c)) for c in columns]
        tallies[key] = np.array(counts, dtype=np.int64)
        lines[key] = line
    return tallies


def join_manifest(
    tallies: dict[BatchKey, NDArray[np.int64]],
    manifest: Sequence[ManifestBatch],
    *,
    tallies_file: str | Path,
) -> tuple[NDArray[np.int64], NDArray[np.int64], list[BatchKey]]:
    """Tallies (batches x choices) and ballots per batch, in manifest order.

    Every manifest batch needs a tally row and every tally row a manifest batch;
    a batch's votes may not exceed its ballots times the votes allowed (checked by
    the caller, which knows the contest).
    """
    keys = [(b.jurisdiction, b.batch_name) for b in manifest]
    missing = [k for k in keys if k not in tallies]
    if missing:
        raise InputError(
            f"has no tallies for batch {missing[0][1]!r} of {missing[0][0]!r} "
            f"({len(missing)} manifest batch(es) missing).",
            file=tallies_file,
            fix="add a row for every batch in the manifest (zeros where the contest had no votes).",
        )
    extra = sorted(set(tallies) - set(keys))
    if extra:
        raise InputError(
            f"has tallies for batch {extra[0][1]!r} of {extra[0][0]!r}, which the manifest lacks.",
            file=tallies_file,
            fix="check the batch names against the manifest.",
        )
    table = np.stack([tallies[k] for k in keys]).astype(np.int64)
    ballots = np.array([b.num_ballots for b in manifest], dtype=np.int64)
    return table, ballots, keys
