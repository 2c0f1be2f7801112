"""An audit's inputs as plain files, and back: the data half of an export.

Each input has one canonical text (UTF-8, ``\\n`` line ends, rows in a fixed
order), so the same inputs always give the same bytes and the same SHA-256.
The digests are recorded in the event log when the seed freezes the inputs,
and ``tallyguard verify`` checks the exported files against them.

=====================  =====================================================
``audit.json``         settings, seed, round sizes, jurisdictions, targets
``manifest.csv``       Jurisdiction, Container, Tabulator, Batch Name,
                       Number of Ballots (Arlo's columns)
``contests.json``      reported results (:mod:`tallyguard.io.contests`)
``cvrs.csv``           comparison: one row per card, ``contest:choice`` columns
``batch-tallies.csv``  batch: one row per batch, a column per choice
``readings.csv``       what boards recorded (:mod:`tallyguard.io.readings`)
=====================  =====================================================
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tallyguard.audit.workflow.cvr_table import CvrTable, read_canonical_cvrs
from tallyguard.audit.workflow.inputs import AuditContest, AuditInputs, CardKey, Reading
from tallyguard.errors import InputError
from tallyguard.io.contests import ReportedElection, read_contests
from tallyguard.io.csvfile import open_csv, parse_count
from tallyguard.io.jsonfile import load_json
from tallyguard.io.manifest import MANIFEST_COLUMNS, read_manifest
from tallyguard.io.readings import (
    BALLOT_COLUMNS,
    BATCH_COLUMNS,
    interpretation_text,
    read_ballot_readings,
    read_batch_readings,
)

AUDIT_FILE = "audit.json"
MANIFEST_FILE = "manifest.csv"
CONTESTS_FILE = "contests.json"
CVRS_FILE = "cvrs.csv"
TALLIES_FILE = "batch-tallies.csv"
READINGS_FILE = "readings.csv"
CVR_KEY_COLUMNS = ("jurisdiction", "tabulator", "batch_name", "position", "imprinted_id")


def _csv_text(header: tuple[str, ...] | list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _json_text(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def settings_json(inputs: AuditInputs) -> dict[str, Any]:
    """``audit.json``: what is not a table."""
    return {
        "name": inputs.name,
        "election": inputs.election,
        "kind": inputs.kind,
        "risk_limit": inputs.risk_limit,
        "method": inputs.method,
        "seed": inputs.seed,
        "rounds": list(inputs.rounds),
        "jurisdictions": sorted({b.jurisdiction for b in inputs.batches}),
        "targeted": [c.reported.contest.name for c in inputs.contests if c.targeted],
        "hand_count": {name: dict(totals) for name, totals in inputs.hand_count.items()},
    }


def manifest_text(inputs: AuditInputs) -> str:
    rows = [
        [b.jurisdiction, b.container or "", b.tabulator or "", b.batch_name, b.num_ballots]
        for b in inputs.batches
    ]
    return _csv_text(MANIFEST_COLUMNS, rows)


def contests_text(inputs: AuditInputs) -> str:
    election = ReportedElection(inputs.election, tuple(c.reported for c in inputs.contests))
    return _json_text(election.to_json())


def _cvr_columns(inputs: AuditInputs) -> list[tuple[str, str]]:
    return [
        (c.reported.contest.name, choice)
        for c in inputs.contests
        for choice in c.reported.contest.choices
    ]


def cvrs_text(inputs: AuditInputs) -> str:
    """``cvrs.csv``: a cell is 1 (marked), 0, or empty when the card lacks the contest.

    CVRs held as columns (a :class:`~tallyguard.audit.workflow.cvr_table.CvrTable`:
    the store's, or an export's) render from their frame, to the same bytes.
    """
    columns = _cvr_columns(inputs)
    table = inputs.cvrs
    if isinstance(table, CvrTable) and inputs.imprinted_ids is table.imprinted_ids:
        return table.canonical_text(columns)
    rows = []
    for key in sorted(inputs.cvrs):
        votes = inputs.cvrs[key]
        row: list[Any] = [
            key.jurisdiction,
            key.tabulator,
            key.batch_name,
            key.position,
            inputs.imprinted_ids.get(key, ""),
        ]
        for contest, choice in columns:
            marked = votes.get(contest)
            row.append("" if marked is None else int(choice in marked))
        rows.append(row)
    header = [*CVR_KEY_COLUMNS, *(f"{contest}:{choice}" for contest, choice in columns)]
    return _csv_text(header, rows)


def tallies_text(inputs: AuditInputs) -> str:
    choices = sorted({choice for votes in inputs.batch_tallies.values() for choice in votes})
    rows = [
        [*key, *(inputs.batch_tallies[key].get(choice, 0) for choice in choices)]
        for key in sorted(inputs.batch_tallies)
    ]
    return _csv_text(["Jurisdiction", "Tabulator", "Batch Name", *choices], rows)


def readings_text(inputs: AuditInputs) -> str:
    if inputs.kind == "batch":
        batch_rows = [
            [key.jurisdiction, key.tabulator, key.batch_name, contest, choice, votes]
            for key in sorted(inputs.readings)
            for contest, reading in sorted(inputs.readings[key].items())
            for choice, votes in (reading.votes or {}).items()
        ]
        return _csv_text(BATCH_COLUMNS, batch_rows)
    rows = [
        [
            key.jurisdiction,
            key.tabulator,
            key.batch_name,
            key.position,
            contest,
            interpretation_text(reading.result, reading.choices),
            reading.comment,
        ]
        for key in sorted(inputs.readings)
        for contest, reading in sorted(inputs.readings[key].items())
    ]
    return _csv_text(BALLOT_COLUMNS, rows)


def input_texts(inputs: AuditInputs, *, readings: bool = True) -> dict[str, str]:
    """Every input file's canonical text, by file name."""
    texts: dict[str, Callable[[AuditInputs], str]] = {
        MANIFEST_FILE: manifest_text,
        CONTESTS_FILE: contests_text,
    }
    if inputs.kind == "comparison":
        texts[CVRS_FILE] = cvrs_text
    if inputs.kind == "batch":
        texts[TALLIES_FILE] = tallies_text
    if readings:
        texts[READINGS_FILE] = readings_text
    out = {name: render(inputs) for name, render in texts.items()}
    out[AUDIT_FILE] = _json_text(settings_json(inputs))
    return out


def frozen_digests(inputs: AuditInputs) -> dict[str, str]:
    """SHA-256 of the files the seed freezes (manifest, contests, CVRs or tallies)."""
    texts = input_texts(inputs, readings=False)
    del texts[AUDIT_FILE]
    return {name: hashlib.sha256(text.encode()).hexdigest() for name, text in texts.items()}


def write_inputs(inputs: AuditInputs, directory: Path) -> list[Path]:
    """Write every input file into ``directory``; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in input_texts(inputs).items():
        path = directory / name
        path.write_text(text, encoding="utf-8", newline="\n")
        paths.append(path)
    return sorted(paths)


def _read_cvrs(
    path: Path, contests: Mapping[str, tuple[str, ...]]
) -> tuple[dict[CardKey, dict[str, tuple[str, ...]]], dict[CardKey, str]]:
    table = open_csv(path)
    columns = [name for name in table.header if name not in CVR_KEY_COLUMNS]
    split = []
    for name in columns:
        contest, _, choice = name.partition(":")
        if contest not in contests or choice not in contests[contest]:
            raise InputError(
                "is not a contest:choice of contests.json.",
                file=path,
                line=1,
                field=name,
                fix="export the CVRs and contests of the same audit.",
            )
        split.append((name, contest, choice))
    cvrs: dict[CardKey, dict[str, tuple[str, ...]]] = {}
    imprinted: dict[CardKey, str] = {}
    for line, row in table.rows():
        position = parse_count(row["position"], file=path, line=line, field="position")
        key = CardKey(row["jurisdiction"], row["tabulator"], row["batch_name"], position)
        votes: dict[str, list[str]] = {}
        for name, contest, choice in split:
            cell = row[name]
            if cell == "":
                continue
            marked = votes.setdefault(contest, [])
            if parse_count(cell, file=path, line=line, field=name):
                marked.append(choice)
        cvrs[key] = {contest: tuple(marked) for contest, marked in votes.items()}
        if row["imprinted_id"]:
            imprinted[key] = row["imprinted_id"]
    return cvrs, imprinted


def _read_tallies(path: Path) -> dict[tuple[str, str, str], dict[str, int]]:
    table = open_csv(path)
    choices = [name for name in table.header if name not in BATCH_COLUMNS[:3]]
    return {
        (row["Jurisdiction"], row["Tabulator"], row["Batch Name"]): {
            c: parse_count(row[c], file=path, line=line, field=c) for c in choices
        }
        for line, row in table.rows()
    }


def _read_readings(
    path: Path, kind: str, contests: Mapping[str, tuple[str, ...]]
) -> dict[CardKey, dict[str, Reading]]:
    readings: dict[CardKey, dict[str, Reading]] = {}
    if kind == "batch":
        tallies: dict[tuple[CardKey, str], dict[str, int]] = {}
        for row in read_batch_readings(path, contests):
            key = CardKey(row.jurisdiction, row.tabulator, row.batch_name, 0)
            tallies.setdefault((key, row.contest), {})[row.choice] = row.votes
        for (key, contest), votes in tallies.items():
            readings.setdefault(key, {})[contest] = Reading("vote", votes=votes)
        return readings
    for item in read_ballot_readings(path, contests):
        key = CardKey(item.jurisdiction, item.tabulator, item.batch_name, item.position)
        readings.setdefault(key, {})[item.contest] = Reading(
            item.result,  # type: ignore[arg-type]
            item.choices,
            comment=item.comment,
        )
    return readings


def read_inputs(directory: Path) -> AuditInputs:
    """Read the files :func:`write_inputs` wrote (e.g. the ``inputs/`` of an export)."""
    settings = load_json(directory / AUDIT_FILE)
    if not isinstance(settings, dict):
        raise InputError("is not a JSON object.", file=directory / AUDIT_FILE)
    election = read_contests(directory / CONTESTS_FILE)
    targeted = set(settings["targeted"])
    contests = tuple(AuditContest(c, c.contest.name in targeted) for c in election.contests)
    choices = {c.contest.name: c.contest.choices for c in election.contests}
    kind = settings["kind"]
    cvrs: Mapping[CardKey, Mapping[str, tuple[str, ...]]] = {}
    imprinted: Mapping[CardKey, str] = {}
    if kind == "comparison":
        path = directory / CVRS_FILE
        columns = [
            (c.contest.name, choice) for c in election.contests for choice in c.contest.choices
        ]
        # A million cards: read a canonical file as columns, anything else row by row.
        table = read_canonical_cvrs(path.read_bytes(), columns) if path.is_file() else None
        if table is not None:
            cvrs, imprinted = table, table.imprinted_ids
        else:
            cvrs, imprinted = _read_cvrs(path, choices)
    tallies = _read_tallies(directory / TALLIES_FILE) if kind == "batch" else {}
    readings_path = directory / READINGS_FILE
    readings = _read_readings(readings_path, kind, choices) if readings_path.exists() else {}
    return AuditInputs(
        name=settings["name"],
        election=settings["election"],
        kind=kind,
        risk_limit=float(settings["risk_limit"]),
        method=settings["method"],
        seed=settings["seed"],
        batches=tuple(read_manifest(directory / MANIFEST_FILE)),
        contests=contests,
        cvrs=cvrs,
        imprinted_ids=imprinted,
        batch_tallies=tallies,
        rounds=tuple(int(n) for n in settings["rounds"]),
        readings=readings,
        hand_count={
            str(name): {str(c): int(v) for c, v in totals.items()}
            for name, totals in settings.get("hand_count", {}).items()
        },
    )
