"""What ``bundle.json`` holds: :class:`Bundle`, :class:`FileRecord`, and their parser.

The parser never raises on bad content: it returns every structural problem as
a :class:`~tallyguard.errors.Discrepancy` whose subject is
``bundle.json:<field>``, so ``tallyguard verify`` can list them all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tallyguard.errors import Discrepancy

#: The value of the ``format`` field; bump the number on incompatible changes.
FORMAT = "tallyguard-evidence/1"

#: Every field of ``bundle.json``, no more and no fewer.
FIELDS = frozenset(
    {
        "format",
        "command",
        "parameters",
        "seed",
        "rerun",
        "inputs",
        "outputs",
        "results",
        "software",
        "created",
        "bundle_sha256",
    }
)

#: Layout of ``created``: ISO 8601 in UTC, whole seconds.
CREATED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CREATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_RECORD_KEYS = frozenset({"path", "sha256", "bytes"})


@dataclass(frozen=True)
class FileRecord:
    """One file of a bundle: where it is, its SHA-256 and its size in bytes."""

    path: str  # POSIX, relative to the bundle directory
    sha256: str  # 64 lowercase hexadecimal digits
    bytes: int

    def to_json(self) -> dict[str, Any]:
        """Return the record as it appears in ``bundle.json``."""
        return {"path": self.path, "sha256": self.sha256, "bytes": self.bytes}


@dataclass(frozen=True)
class Bundle:
    """An evidence bundle: the content of ``bundle.json`` and where it lives.

    Attributes:
        directory: The bundle directory (not part of ``bundle.json``).
        format: Always :data:`FORMAT`.
        command: The command line or function that produced the run.
        parameters: Everything the computation depends on, as JSON.
        seed: The public random seed, or ``None``.
        rerun: The name of a re-runner that reproduces the outputs, or ``None``.
        inputs: Copies of the input files under ``inputs/``.
        outputs: Every other file of the bundle except ``bundle.json``.
        results: The headline numbers of the run, as JSON.
        software: Versions of tallyguard, Python, numpy and polars.
        created: ``YYYY-MM-DDTHH:MM:SSZ``, or ``None`` for deterministic runs.
        bundle_sha256: SHA-256 of the canonical JSON of every other field.
    """

    directory: Path
    command: str
    parameters: Mapping[str, Any]
    seed: str | None
    rerun: str | None
    inputs: tuple[FileRecord, ...]
    outputs: tuple[FileRecord, ...]
    results: Mapping[str, Any]
    software: Mapping[str, str | None]
    created: str | None
    bundle_sha256: str
    format: str = field(default=FORMAT)

    @property
    def files(self) -> tuple[FileRecord, ...]:
        """Inputs then outputs: every file ``bundle.json`` vouches for."""
        return self.inputs + self.outputs

    def to_json(self) -> dict[str, Any]:
        """Return the ``bundle.json`` document, ``bundle_sha256`` included."""
        return {
            "format": self.format,
            "command": self.command,
            "parameters": dict(self.parameters),
            "seed": self.seed,
            "rerun": self.rerun,
            "inputs": [record.to_json() for record in self.inputs],
            "outputs": [record.to_json() for record in self.outputs],
            "results": dict(self.results),
            "software": dict(self.software),
            "created": self.created,
            "bundle_sha256": self.bundle_sha256,
        }


def _problem(field_name: str, problem: str, found: Any = None) -> Discrepancy:
    shown = None if found is None else _show(found)
    return Discrepancy(f"bundle.json:{field_name}", problem, None, shown)


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _records(document: dict[str, Any], name: str, problems: list[Discrepancy]) -> list[FileRecord]:
    value = document[name]
    if not isinstance(value, list):
        problems.append(_problem(name, "must be a list of file records", type(value).__name__))
        return []
    records: list[FileRecord] = []
    for index, item in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(item, dict) or set(item) != _RECORD_KEYS:
            keys = sorted(item) if isinstance(item, dict) else type(item).__name__
            problems.append(_problem(where, "must hold exactly 'path', 'sha256', 'bytes'", keys))
            continue
        path, digest, size = item["path"], item["sha256"], item["bytes"]
        ok = True
        if not isinstance(path, str):
            problems.append(_problem(f"{where}.path", "must be a string", path))
            ok = False
        if not isinstance(digest, str) or not _SHA256.match(digest):
            problems.append(_problem(f"{where}.sha256", "must be 64 lowercase hex digits", digest))
            ok = False
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            problems.append(_problem(f"{where}.bytes", "must be a whole number >= 0", size))
            ok = False
        if ok:
            records.append(FileRecord(path, digest, size))
    return records


def _check_created(value: Any, problems: list[Discrepancy]) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not _CREATED.match(value):
        problems.append(_problem("created", "must be null or YYYY-MM-DDTHH:MM:SSZ", value))
        return
    try:
        datetime.strptime(value, CREATED_FORMAT)
    except ValueError:
        problems.append(_problem("created", "is not a real date and time", value))


def parse_bundle(document: Any, directory: Path) -> tuple[Bundle | None, list[Discrepancy]]:
    """Check the structure of a parsed ``bundle.json`` and build the :class:`Bundle`.

    Hashes and paths are *not* checked here (see :mod:`tallyguard.evidence.verify`).

    Args:
        document: The value ``json.loads`` returned for ``bundle.json``.
        directory: The bundle directory, stored on the result.

    Returns:
        ``(bundle, [])`` when the structure is right, else ``(None, problems)``.
    """
    if not isinstance(document, dict):
        found = type(document).__name__
        return None, [Discrepancy("bundle.json", "must hold a JSON object", None, found)]
    problems = [_problem(name, "is missing") for name in sorted(FIELDS - set(document))]
    problems += [
        _problem(name, "is not a field of this format") for name in sorted(set(document) - FIELDS)
    ]
    if problems:
        return None, problems
    if document["format"] != FORMAT:
        problems.append(_problem("format", f"must be {FORMAT!r}", document["format"]))
    if not isinstance(document["command"], str):
        problems.append(_problem("command", "must be a string", document["command"]))
    for name in ("parameters", "results"):
        if not isinstance(document[name], dict):
            problems.append(_problem(name, "must be a JSON object", type(document[name]).__name__))
    for name in ("seed", "rerun"):
        value = document[name]
        if value is not None and (not isinstance(value, str) or not value):
            problems.append(_problem(name, "must be null or a non-empty string", value))
    software = document["software"]
    if not isinstance(software, dict) or not all(
        value is None or isinstance(value, str) for value in software.values()
    ):
        problems.append(_problem("software", "must map package names to versions", software))
    _check_created(document["created"], problems)
    digest = document["bundle_sha256"]
    if not isinstance(digest, str) or not _SHA256.match(digest):
        problems.append(_problem("bundle_sha256", "must be 64 lowercase hex digits", digest))
    inputs = _records(document, "inputs", problems)
    outputs = _records(document, "outputs", problems)
    if problems:
        return None, problems
    bundle = Bundle(
        directory=directory,
        format=document["format"],
        command=document["command"],
        parameters=document["parameters"],
        seed=document["seed"],
        rerun=document["rerun"],
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        results=document["results"],
        software=software,
        created=document["created"],
        bundle_sha256=digest,
    )
    return bundle, []
