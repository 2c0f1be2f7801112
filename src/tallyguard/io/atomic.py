"""All-or-nothing output directories: a crash never leaves a half-written result."""

from __future__ import annotations

import os
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
