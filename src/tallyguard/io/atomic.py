"""All-or-nothing output directories: a crash never leaves a half-written result."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tallyguard.errors import InputError


@contextmanager
def atomic_directory(target: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty staging directory that replaces ``target`` only on success.

    The staging directory sits beside ``target`` (same file system, so the final
    rename is atomic). If the block raises, the staging directory is removed and
    ``target`` is untouched. An existing non-empty ``target`` is an
    :class:`InputError` unless ``overwrite`` is true.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise InputError("exists and is not a directory.", file=target, fix="choose another --out.")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise InputError(
            "output directory already exists and is not empty.",
            file=target,
            fix="choose another --out, or pass --force to replace it.",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    )
    try:
        yield staging
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_file_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a fresh temporary name beside ``path`` (opened exclusively,
    with the umask's permissions, since reports and bundles are meant to be
    shared), are flushed to disk, and the name is swapped in with
    :func:`os.replace`; then the directory entry is flushed too.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.partial")
    try:
        with temporary.open("xb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    with contextlib.suppress(OSError):  # platforms or file systems without directory fsync
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
