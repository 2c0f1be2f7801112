"""Decoding the bytes of officials' text files: encoding detection with fallbacks.

UTF-8 (with or without BOM) is the norm; Excel on Western Windows writes
Windows-1252 ("CSV" rather than "CSV UTF-8"), and "Unicode text" is UTF-16
with a BOM. Arlo (``server/util/csv_parse.py``) meets the same uploads with
encoding detection; here the rule is deterministic: UTF-16 if there is a UTF-16
BOM, else UTF-8 if every byte decodes, else Windows-1252 if no byte is one of
the five it leaves undefined, else an error. A spreadsheet workbook saved under
a ``.csv`` name, and files with NUL bytes, are recognised and refused.
"""

from __future__ import annotations

import codecs
import gzip
import re
from pathlib import Path
from typing import BinaryIO, cast

from tallyguard.errors import InputError

_CHUNK = 1 << 20
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_SIGNATURES = (
    (b"PK\x03\x04", "an Excel .xlsx workbook (or another ZIP archive)"),
    (b"\xd0\xcf\x11\xe0", "an Excel .xls workbook"),
)
SAVE_AS_CSV = "open it in the spreadsheet program and save it as 'CSV UTF-8 (comma delimited)'."


def open_binary(path: Path) -> BinaryIO:
    """Open ``path`` for reading bytes, decompressing a ``.gz`` file."""
    if path.suffix.lower() == ".gz":
        return cast(BinaryIO, gzip.open(path, "rb"))
    return path.open("rb")


def _line_of_offset(chunks_newlines: int, chunk: bytes, index: int) -> int:
    return chunks_newlines + chunk[: max(index, 0)].count(b"\n") + 1


def detect_encoding(path: Path) -> tuple[str, list[str]]:
    """The codec to read ``path`` with, and notes about any fallback.

    Raises:
        InputError: a spreadsheet workbook, NUL bytes, or bytes that are
            neither UTF-8 nor Windows-1252 (the line of the first is named).
    """
    with open_binary(path) as stream:
        head = stream.read(4)
        for signature, what in _SIGNATURES:
            if head.startswith(signature):
                raise InputError(f"this is {what}, not a CSV file.", file=path, fix=SAVE_AS_CSV)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return "utf-16", [
                f"{path.name}: read as UTF-16 (it starts with a UTF-16 byte-order mark)"
            ]
        decoder = codecs.getincrementaldecoder("utf-8")()
        newlines = 0
        chunk = head
        while chunk:
            if b"\x00" in chunk:
                line = _line_of_offset(newlines, chunk, chunk.index(b"\x00"))
                raise InputError(
                    "contains NUL bytes, so it is not a text CSV file.",
                    file=path,
                    line=line,
                    fix=SAVE_AS_CSV,
                )
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                pending = len(decoder.getstate()[0])
                line = _line_of_offset(newlines, chunk, error.start - pending)
                return _check_cp1252(path, line)
            newlines += chunk.count(b"\n")
            chunk = stream.read(_CHUNK)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return _check_cp1252(path, newlines + 1)
    return "utf-8-sig", []


def _check_cp1252(path: Path, first_bad_line: int) -> tuple[str, list[str]]:
    newlines = 0
    with open_binary(path) as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            bad = _CP1252_UNDEFINED.search(chunk)
            if bad:
                raise InputError(
                    "is neither UTF-8 nor Windows-1252 text.",
                    file=path,
                    line=_line_of_offset(newlines, chunk, bad.start()),
                    fix=SAVE_AS_CSV,
                )
            newlines += chunk.count(b"\n")
    note = (
        f"{path.name}: not valid UTF-8 (first non-UTF-8 byte on line {first_bad_line}); "
        "read as Windows-1252 (cp1252) - check that accented names look right"
    )
    return "cp1252", [note]
