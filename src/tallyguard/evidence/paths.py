"""Paths inside a bundle: which are safe to open, and what a directory holds.

A bundle records its files as POSIX paths relative to the bundle directory. A
path read from ``bundle.json`` is untrusted: it is only ever opened when
:func:`unsafe_path_reason` finds nothing wrong with it and no component of it
on disk is a symbolic link, so verification never reads outside the bundle.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

#: The name of the manifest at the top of every bundle.
BUNDLE_FILE = "bundle.json"

_DRIVE = re.compile(r"^[A-Za-z]:")

EntryKind = Literal["file", "symlink", "other"]


@dataclass(frozen=True)
class Entry:
    """Something found in a bundle directory that is not a plain directory."""

    path: str  # POSIX, relative to the bundle directory
    kind: EntryKind


def unsafe_path_reason(path: str) -> str | None:
    """Say why a recorded path must not be opened, or return ``None`` if it is fine.

    Args:
        path: A path as written in ``bundle.json``.

    Returns:
        ``None`` for a normalised relative POSIX path that stays inside the
        bundle and is not ``bundle.json`` itself; otherwise a short reason.
    """
    if not path:
        return "the path is empty"
    if "\x00" in path:
        return "the path contains a NUL character"
    if "\\" in path:
        return "the path contains a backslash (bundle paths use '/')"
    if path.startswith("/") or _DRIVE.match(path):
        return "the path is absolute, so it points outside the bundle"
    parts = path.split("/")
    if ".." in parts:
        return "the path contains '..', so it can point outside the bundle"
    if "" in parts or "." in parts:
        return "the path is not normalised (empty or '.' component)"
    if path == BUNDLE_FILE:
        return "bundle.json cannot list itself"
    return None


def relative_posix(path: Path, root: Path) -> str:
    """Return ``path`` relative to ``root`` as a POSIX string."""
    return PurePosixPath(*path.relative_to(root).parts).as_posix()


def open_kind(
    root: Path, relative: str
) -> Literal["file", "missing", "symlink", "other", "unreadable"]:
    """Classify a recorded path without following any symbolic link.

    Args:
        root: The bundle directory.
        relative: A path for which :func:`unsafe_path_reason` returned ``None``.

    Returns:
        ``"file"`` only when every component is a real directory and the last
        one a regular file; ``"symlink"`` when any component is a link;
        ``"unreadable"`` when the file system refuses to say.
    """
    current = root
    parts = relative.split("/")
    for index, part in enumerate(parts):
        current = current / part
        try:
            mode = current.lstat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            return "missing"
        except OSError:
            return "unreadable"
        if stat.S_ISLNK(mode):
            return "symlink"
        last = index == len(parts) - 1
        if last:
            return "file" if stat.S_ISREG(mode) else "other"
        if not stat.S_ISDIR(mode):
            return "missing"
    return "missing"  # pragma: no cover - parts is never empty


def walk(root: Path) -> list[Entry]:
    """List everything under ``root`` that is not a directory, without following links.

    Args:
        root: The directory to list.

    Returns:
        Entries sorted by path; symbolic links (to files or to directories) are
        reported as such and never entered.

    Raises:
        OSError: A directory under ``root`` cannot be listed.
    """
    entries: list[Entry] = []

    def fail(error: OSError) -> None:
        raise error

    for directory, dirnames, filenames in os.walk(root, onerror=fail, followlinks=False):
        base = Path(directory)
        for name in [*dirnames, *filenames]:
            full = base / name
            mode = full.lstat().st_mode
            if stat.S_ISDIR(mode):
                continue
            kind: EntryKind = "other"
            if stat.S_ISLNK(mode):
                kind = "symlink"
            elif stat.S_ISREG(mode):
                kind = "file"
            entries.append(Entry(relative_posix(full, root), kind))
    entries.sort(key=lambda entry: entry.path)
    return entries
