"""Input members of vendor exports: plain files, folders and (nested) ZIP archives.

Vendors ship cast vote records as one file, as many files in a folder, or as a
ZIP archive (Arlo ``server/api/cvrs.py``: ES&S "a ZIP holding one CVR file and
one or more ballots files"; Hart "a ZIP of per-ballot XML files", possibly a
wrapper ZIP holding one ZIP per tabulator). A :class:`Member` names one such
file wherever it lives, e.g. ``export.zip/Tabulator1.zip/ballot1.xml``, so every
:class:`~tallyguard.errors.InputError` can say exactly which file is wrong.

Bytes are decoded by the rule of :mod:`tallyguard.io.textfile`: UTF-16 with a
BOM, else UTF-8 (BOM optional), else Windows-1252; a workbook or NUL bytes are
refused. Archives are read without extracting anything to disk, and every
failure of the ZIP layer (bad archive, unsupported compression, encryption) is
an :class:`InputError`.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from tallyguard.errors import InputError
from tallyguard.io.textfile import SAVE_AS_CSV, detect_encoding, open_binary

_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError)
_READ_ERRORS = (OSError, EOFError, zlib.error)
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Member:
    """One input file: ``path`` on disk, or the member ``inner`` of the archive at ``path``.

    ``inner`` lists the member names from the outermost archive inwards (a ZIP
    inside a ZIP has two entries); it is empty for a plain file.
    """

    path: Path
    inner: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The name shown in messages: ``export.zip/cvr.csv`` or the plain path."""
        return "/".join([str(self.path), *self.inner])

    @property
    def basename(self) -> str:
        """The file's own name, without folders or archives."""
        return PurePosixPath(self.inner[-1]).name if self.inner else self.path.name

    @property
    def container(self) -> str | None:
        """The innermost archive's own name (``Tabulator1.zip``), if any."""
        if len(self.inner) >= 2:
            return PurePosixPath(self.inner[-2]).name
        return self.path.name if self.inner else None

    def suffix(self) -> str:
        """The lower-case last suffix, e.g. ``.csv``."""
        return PurePosixPath(self.basename).suffix.lower()


def zip_error(where: str, error: BaseException) -> InputError:
    """The error for an archive that cannot be read."""
    return InputError(
        f"is not a readable ZIP archive ({type(error).__name__}: {error}).",
        file=where,
        fix="export or compress the files again (plain ZIP, no password).",
    )


def _open_zip(data: BinaryIO | Path, where: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(data)
    except _ZIP_ERRORS as error:
        raise zip_error(where, error) from None


def _read_zip_member(archive: zipfile.ZipFile, name: str, where: str) -> bytes:
    try:
        return archive.read(name)
    except _ZIP_ERRORS as error:
        raise zip_error(where, error) from None


def _skip(name: str) -> bool:
    base = PurePosixPath(name).name
    return name.endswith("/") or name.startswith(_JUNK) or base in _JUNK or base.startswith("._")


def _list_zip(archive: zipfile.ZipFile, path: Path, prefix: tuple[str, ...]) -> list[Member]:
    members: list[Member] = []
    where = "/".join([str(path), *prefix])
    try:
        names = sorted(info.filename for info in archive.infolist())
    except _ZIP_ERRORS as error:  # pragma: no cover - infolist is read at open time
        raise zip_error(where, error) from None
    for name in names:
        if _skip(name):
            continue
        member = Member(path, (*prefix, name))
        if name.lower().endswith(".zip"):
            data = _read_zip_member(archive, name, where)
            with _open_zip(io.BytesIO(data), member.name) as inner:
                members.extend(_list_zip(inner, path, member.inner))
        else:
            members.append(member)
    return members


def is_zip(path: Path) -> bool:
    """True when ``path`` is a file starting with the ZIP signature."""
    try:
        with path.open("rb") as stream:
            return stream.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def expand(paths: Path | str | Sequence[Path | str]) -> list[Member]:
    """Every file in ``paths``: folders are walked (sorted), ZIP archives opened.

    Raises:
        InputError: a path that does not exist, an unreadable archive, or
            nothing at all to read.
    """
    items = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    members: list[Member] = []
    for item in items:
        if item.is_dir():
            files = sorted(p for p in item.rglob("*") if p.is_file() and not _skip(p.name))
            for file in files:
                members.extend(expand(file) if is_zip(file) else [Member(file)])
        elif item.is_file():
            if is_zip(item):
                with _open_zip(item, str(item)) as archive:
                    members.extend(_list_zip(archive, item, ()))
            else:
                members.append(Member(item))
        else:
            raise InputError("file not found.", file=item, fix="check the path and the file name.")
    if not members:
        shown = ", ".join(str(p) for p in items) or "(no path given)"
        raise InputError(f"no files to read in {shown}.", fix="point at the exported files.")
    return members


class _Archives:
    """Opens each archive once while members are read in order."""

    def __init__(self) -> None:
        self._key: tuple[Path, tuple[str, ...]] | None = None
        self._stack: list[zipfile.ZipFile] = []

    def close(self) -> None:
        for archive in reversed(self._stack):
            archive.close()
        self._stack = []
        self._key = None

    def archive(self, member: Member) -> zipfile.ZipFile:
        key = (member.path, member.inner[:-1])
        if key != self._key:
            self.close()
            self._stack.append(_open_zip(member.path, str(member.path)))
            for depth, name in enumerate(member.inner[:-1]):
                where = "/".join([str(member.path), *member.inner[: depth + 1]])
                data = _read_zip_member(self._stack[-1], name, where)
                self._stack.append(_open_zip(io.BytesIO(data), where))
            self._key = key
        return self._stack[-1]


def iter_bytes(members: Sequence[Member]) -> Iterator[tuple[Member, bytes]]:
    """Yield every member with its bytes, opening each archive only once."""
    archives = _Archives()
    try:
        for member in members:
            if not member.inner:
                try:
                    with open_binary(member.path) as stream:
                        yield member, stream.read()
                except _READ_ERRORS as error:
                    raise InputError(
                        f"cannot be read ({error}).", file=member.path, fix=SAVE_AS_CSV
                    ) from None
                continue
            archive = archives.archive(member)
            yield member, _read_zip_member(archive, member.inner[-1], member.name)
    finally:
        archives.close()


def read_bytes(member: Member) -> bytes:
    """All bytes of one member."""
    for _member, data in iter_bytes([member]):
        return data
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def open_member(member: Member) -> Iterator[BinaryIO]:
    """A binary stream over one member (a plain file is streamed, not loaded)."""
    if not member.inner:
        try:
            stream = open_binary(member.path)
        except OSError as error:
            raise InputError(f"cannot be read ({error}).", file=member.path) from None
        with stream:
            yield stream
        return
    yield io.BytesIO(read_bytes(member))


def _line(newlines: int, chunk: bytes, index: int) -> int:
    return newlines + chunk[: max(index, 0)].count(b"\n") + 1


def member_encoding(member: Member) -> tuple[str, list[str]]:
    """The codec for a member's text, and notes about any fallback (see module docstring)."""
    if not member.inner:
        return detect_encoding(member.path)
    data = read_bytes(member)
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise InputError("is a spreadsheet workbook, not a text file.", file=member.name)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", [f"{member.basename}: read as UTF-16 (it starts with a byte-order mark)"]
    if b"\x00" in data:
        line = _line(0, data, data.index(b"\x00"))
        raise InputError("contains NUL bytes, so it is not text.", file=member.name, line=line)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(data, final=True)
    except UnicodeDecodeError as error:
        bad = _CP1252_UNDEFINED.search(data)
        if bad:
            raise InputError(
                "is neither UTF-8 nor Windows-1252 text.",
                file=member.name,
                line=_line(0, data, bad.start()),
                fix=SAVE_AS_CSV,
            ) from None
        note = (
            f"{member.basename}: not valid UTF-8 (first non-UTF-8 byte on line "
            f"{_line(0, data, error.start)}); read as Windows-1252 (cp1252) - check that "
            "accented names look right"
        )
        return "cp1252", [note]
    return "utf-8-sig", []


def single_table(path: Path, what: str) -> Member:
    """The one CSV file at ``path``: the file itself, or the only CSV inside a ZIP.

    Raises:
        InputError: the path is missing, or a ZIP holds no CSV or several.
    """
    if not path.is_file():
        raise InputError("file not found.", file=path, fix="check the path and the file name.")
    if not is_zip(path):
        return Member(path)
    tables = [m for m in expand(path) if m.suffix() in (".csv", ".txt")]
    if len(tables) != 1:
        shown = ", ".join(m.basename for m in tables) or "none"
        raise InputError(
            f"the ZIP should hold one {what} CSV file; it holds {len(tables)} ({shown}).",
            file=path,
            fix=f"put only the {what} CSV export in the ZIP, or pass the CSV file itself.",
        )
    return tables[0]
