"""Which format is this file? And what is in it? (``tallyguard inspect``.)

:func:`detect_format` sniffs a file, folder or ZIP - its first bytes, its CSV
header rows, its XML root, its JSON keys, its archive members - and names one
of :data:`FORMATS` (documented in ``docs/formats.md``). :func:`inspect_file`
then reads the whole input with that format's reader and summarises it as
``{"format", "records", "contests", "problems"}`` so an official can check a
file before using it: how many records, each contest's choices and vote
counts, and every note or recoverable oddity (e.g. gaps in the positions of a
batch, which make CVRs hard to match to a ballot manifest).
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tallyguard.errors import InputError
from tallyguard.io.csvfile import clean_cell, sniff_delimiter
from tallyguard.io.textfile import open_binary
from tallyguard.io.vendors._common import CvrReader
from tallyguard.io.vendors._inspect import inspect_reader, inspect_tables
from tallyguard.io.vendors._sources import Member, expand, is_zip, read_bytes

CVR_FORMATS = (
    "dominion-csv",
    "dominion-json",
    "ess",
    "hart",
    "clearballot",
    "nist-json",
    "nist-xml",
    "tallyguard-cvr-csv",
)
TABLE_FORMATS = (
    "manifest",
    "results",
    "contests",
    "batch-tallies",
    "arlo-jurisdictions",
    "arlo-standardized-contests",
)
FORMATS = CVR_FORMATS + TABLE_FORMATS
ALIASES = {"dominion": ("dominion-csv", "dominion-json"), "nist": ("nist-json", "nist-xml")}
LOOKED_FOR = (
    "Dominion CSV (4 header rows, 'Contest (Vote For=N)'), Dominion CvrExport*.json "
    "('Sessions'), ES&S CVR and ballots CSVs ('Cast Vote Record'), Hart Verity XML "
    "(CVRDesign.xsd namespace), Clear Ballot CSV ('Choice_..:Vote For k:..' columns), "
    "NIST SP 1500-103 JSON or XML (CastVoteRecordReport), tallyguard CVR CSV ('cvr_id'), "
    "ballot manifest ('Batch Name', 'Number of Ballots'), results table ('unit_id', "
    "'electorate'), contests.json, candidate totals by batch, Arlo jurisdictions or "
    "standardized contests files"
)
_HEAD = 1 << 16


def _unknown(path: Path, what: str) -> InputError:
    return InputError(
        f"could not tell which format this is ({what}).",
        file=path,
        fix=f"pass --format; tallyguard looked for {LOOKED_FOR}.",
    )


def _decode(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 4:  # a character cut by the 64 KiB window
            return head[: error.start].decode("utf-8-sig")
        return head.decode("cp1252", errors="replace")


def _rows(text: str, count: int = 6) -> list[list[str]]:
    lines = text.splitlines()[: count + 2]
    delimiter = sniff_delimiter(" ".join(lines[:5]))
    try:
        reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
        return [[clean_cell(cell) for cell in row] for row in list(reader)[:count]]
    except csv.Error:
        return []


def _folded(row: list[str]) -> set[str]:
    return {" ".join(cell.split()).casefold() for cell in row}


def _sniff_csv(path: Path, text: str) -> str | None:
    rows = _rows(text)
    if not rows or not rows[0]:
        return None
    first, header = rows[0][0].casefold(), _folded(rows[0])
    if text.lstrip().startswith("#FormatVersion"):
        return "hart"
    if first == "ballots" or "cast vote record" in header:
        return "ess"
    if len(rows) >= 4 and (
        any("(vote for=" in cell.casefold().replace(" ", "") for cell in rows[1])
        or {"tabulatornum", "batchid"} <= _folded(rows[3])
    ):
        return "dominion-csv"
    if any(cell.startswith("Choice_") for cell in rows[0]) and "boxid" in header:
        return "clearballot"
    if "cvr_id" in header:
        return "tallyguard-cvr-csv"
    if {"batch name", "number of ballots"} <= header or {"batchid", "numballots"} <= header:
        return "manifest"
    if {"unit_id", "electorate", "ballots_cast"} <= header:
        return "results"
    if "batch name" in header and len(header) > 1:
        return "batch-tallies"
    if {"jurisdiction", "admin email"} <= header:
        return "arlo-jurisdictions"
    if {"contest name", "jurisdictions"} <= header:
        return "arlo-standardized-contests"
    return None


_XML_ROOT = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s>/]")


def _sniff_xml(path: Path, text: str) -> str:
    body = re.sub(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", "", text, flags=re.DOTALL)
    match = _XML_ROOT.search(body)
    root = match.group(1) if match else "?"
    if root == "CastVoteRecordReport":
        return "nist-xml"
    if root == "Cvr" or "tempuri.org/CVRDesign.xsd" in text[:4096]:
        return "hart"
    raise _unknown(path, f"XML whose root element is <{root}>")


def _sniff_json(path: Path, text: str) -> str:
    if re.search(r'"Sessions"\s*:', text):
        return "dominion-json"
    if re.search(r'"@type"\s*:\s*"CVR\.CastVoteRecordReport"', text):
        return "nist-json"
    if re.search(r'"List"\s*:', text) and re.search(r'"Description"\s*:', text):
        raise InputError(
            "this is a Dominion manifest (names of contests, candidates, ...), not CVRs.",
            file=path,
            fix="inspect the CvrExport*.json files; the manifests in the same folder or ZIP "
            "are used to name contests and choices.",
        )
    if re.search(r'"election"\s*:', text) and re.search(r'"contests"\s*:', text):
        return "contests"
    if re.search(r'"jurisdictions"\s*:', text) and re.search(r'"contests"\s*:', text):
        raise InputError(
            "this is an Arlo fixture-generator spec (fixtures/*.spec.json), not election data.",
            file=path,
            fix="inspect the CVR, manifest and tally files it generated instead.",
        )
    raise _unknown(path, "JSON without 'Sessions', '@type' or 'contests'")


def _sniff_members(path: Path, members: list[Member]) -> str:
    names = [m.basename for m in members]
    if any(re.match(r"(?i)cvrexport.*\.json$", name) for name in names):
        return "dominion-json"
    for member in members:
        if member.suffix() == ".xml":
            return _sniff_xml(path, _decode(_head_of(member)))
    formats = {_sniff_csv(path, _decode(_head_of(m))) for m in members if m.suffix() == ".csv"}
    for found in ("ess", "hart"):
        if found in formats:
            return found
    for found in ("dominion-csv", "clearballot"):
        if formats == {found}:
            return found
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    raise _unknown(path, f"a folder or ZIP holding {shown}")


def _head_of(member: Member) -> bytes:
    if not member.inner:
        with member.path.open("rb") as stream:
            return stream.read(_HEAD)
    return read_bytes(member)[:_HEAD]


def detect_format(path: str | Path) -> str:
    """Name the format of ``path`` (a file, a folder or a ZIP), one of :data:`FORMATS`.

    Raises:
        InputError: the path does not exist, or the format is not recognised;
            the message lists what was looked for.
    """
    path = Path(path)
    if path.is_dir() or is_zip(path):
        return _sniff_members(path, expand(path))
    if not path.is_file():
        raise InputError("file not found.", file=path, fix="check the path and the file name.")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "results"
    try:
        with open_binary(path) as stream:  # a .gz file is decompressed
            head = stream.read(_HEAD)
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(f"cannot be read ({error}).", file=path) from None
    if suffix == ".gz":
        suffix = path.with_suffix("").suffix.lower()
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _unknown(path, "an Excel .xls workbook")
    text = _decode(head)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<") or suffix == ".xml":
        return _sniff_xml(path, text)
    if stripped.startswith(("{", "[")) or suffix == ".json":
        return _sniff_json(path, text)
    if "\x00" in text:
        raise _unknown(path, "binary data")
    found = _sniff_csv(path, text)
    if found is None:
        raise _unknown(path, "a text file with none of the known headers")
    return found


def resolve_format(path: str | Path, format: str = "auto") -> str:
    """The concrete format: ``format`` itself, or detected for ``auto``/an alias.

    Raises:
        InputError: an unknown format name (the closest is suggested), or a
            detected format that does not fit the alias (e.g. ``--format nist``
            on a Dominion file).
    """
    name = format.casefold()
    if name in FORMATS:
        return name
    if name != "auto" and name not in ALIASES:
        close = difflib.get_close_matches(name, [*FORMATS, *ALIASES, "auto"], n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InputError(
            f"unknown format {format!r}.",
            field="--format",
            fix=f"{hint}Use auto, {', '.join(ALIASES)} or one of {', '.join(FORMATS)}.",
        )
    found = detect_format(path)
    if name in ALIASES and found not in ALIASES[name]:
        raise InputError(
            f"--format {format} was given, but this looks like {found}.",
            file=path,
            field="--format",
            fix=f"use --format {found} or --format auto.",
        )
    return found


def read_cvrs(path: str | Path, format: str = "auto") -> CvrReader:
    """Open ``path`` with the CVR reader of its format (see :data:`CVR_FORMATS`).

    Returns:
        The reader's object (a :class:`~tallyguard.io.vendors.CvrReader`):
        ``contests``, ``records()`` and, for vendor formats, ``votes_allowed``
        and ``notes``.

    Raises:
        InputError: the format is not a CVR format, or the reader's errors.
    """
    found = resolve_format(path, format)
    if found not in CVR_FORMATS:
        raise InputError(
            f"this is a {found} file, not cast vote records.",
            file=path,
            fix=f"pass a CVR file ({', '.join(CVR_FORMATS)}).",
        )
    return _cvr_readers()[found](Path(path))


def _cvr_readers() -> dict[str, Callable[[Path], CvrReader]]:
    from tallyguard.io.cvr_csv import read_cvr_csv
    from tallyguard.io.nist_cvr import read_nist_cvr_json
    from tallyguard.io.vendors import (
        read_clearballot,
        read_dominion_csv,
        read_dominion_json,
        read_ess,
        read_hart,
        read_nist_cvr_xml,
    )

    return {
        "dominion-csv": read_dominion_csv,
        "dominion-json": read_dominion_json,
        "ess": read_ess,
        "hart": read_hart,
        "clearballot": read_clearballot,
        "nist-json": read_nist_cvr_json,
        "nist-xml": read_nist_cvr_xml,
        "tallyguard-cvr-csv": read_cvr_csv,
    }


def inspect_file(path: str | Path, format: str = "auto") -> dict[str, Any]:
    """Read ``path`` completely and summarise it for a check before use.

    Returns:
        ``{"format": str, "records": int, "contests": {name: {...}}, "problems":
        [str]}``. For CVRs ``records`` counts cards and each contest gives its
        ``choices``, ``votes_allowed`` (``None`` if the format does not say),
        ``cards`` (cards carrying it), ``votes`` per choice, ``overvotes`` and
        ``undervotes`` (cards with more / fewer marks than allowed; ``None``
        when the votes allowed are unknown). Other formats count their rows
        (batches, units, contests) and list contests or choices where they
        have them. ``problems`` holds the reader's notes and oddities found.

    Raises:
        InputError: the format cannot be told, or the file does not read.
    """
    path = Path(path)
    found = resolve_format(path, format)
    if found in CVR_FORMATS:
        summary = inspect_reader(read_cvrs(path, found))
    else:
        summary = inspect_tables(path, found)
    return {"format": found, **summary}
