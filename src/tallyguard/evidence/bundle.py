"""Write and load evidence bundles.

A bundle is a directory whose ``bundle.json`` records the command, parameters,
seed, results and software versions of a run together with the SHA-256 and size
of every other file in the directory, so a third party can check each byte and
re-run the deterministic parts (see :func:`tallyguard.evidence.verify_bundle`).
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from tallyguard import __version__
from tallyguard.errors import InputError
from tallyguard.evidence.canonical import (
    content_sha256,
    file_form,
    normalise,
    parse_strict,
    sha256_file,
)
from tallyguard.evidence.model import (
    CREATED_FORMAT,
    FORMAT,
    Bundle,
    FileRecord,
    parse_bundle,
)
from tallyguard.evidence.paths import BUNDLE_FILE, unsafe_path_reason, walk
from tallyguard.io.atomic import write_file_atomically

__all__ = [
    "INPUTS_DIR",
    "Bundle",
    "FileRecord",
    "bundle_paths",
    "load_bundle",
    "software_versions",
    "write_bundle",
]

#: Sub-directory of a bundle that holds copies of the input files.
INPUTS_DIR = "inputs"

_FIX_WRITE = "give each input file a distinct name and keep only regular files in the directory"


def software_versions() -> dict[str, str | None]:
    """Return the versions of the software a result may depend on.

    Returns:
        ``{"tallyguard", "python", "numpy", "polars"}`` mapped to the installed
        versions (``None`` for a package that is not installed).
    """
    versions: dict[str, str | None] = {
        "tallyguard": __version__,
        "python": platform.python_version(),
    }
    for package in ("numpy", "polars"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions


def bundle_paths(path: Path) -> tuple[Path, Path]:
    """Return ``(directory, bundle.json path)`` for a bundle directory or its bundle.json.

    Args:
        path: The bundle directory, or the ``bundle.json`` inside it.

    Raises:
        InputError: ``path`` does not exist, or is a file not named bundle.json.
    """
    if path.is_dir():
        return path, path / BUNDLE_FILE
    if path.is_file() and path.name == BUNDLE_FILE:
        return path.parent, path
    if path.exists():
        raise InputError(
            "is not an evidence bundle",
            file=path,
            fix="give the bundle directory or the bundle.json inside it",
        )
    raise InputError(
        "no such evidence bundle",
        file=path,
        fix="check the path; give the bundle directory or the bundle.json inside it",
    )


def _format_created(created: datetime | None) -> str | None:
    if created is None:
        return None
    if created.tzinfo is None or created.utcoffset() is None:
        raise ValueError("created must be a timezone-aware datetime (for example in UTC)")
    return created.astimezone(UTC).strftime(CREATED_FORMAT)


def _record(directory: Path, relative: str) -> FileRecord:
    path = directory / relative
    return FileRecord(relative, sha256_file(path), path.stat().st_size)


def _copy_inputs(directory: Path, inputs: Sequence[Path]) -> list[str]:
    names: dict[str, Path] = {}
    for source in inputs:
        if not source.is_file():
            raise InputError(
                "input file does not exist or is not a regular file",
                file=source,
                fix="pass existing files as inputs",
            )
        if source.name in names:
            raise InputError(
                f"two inputs have the same name {source.name!r} "
                f"(the other is {names[source.name]})",
                file=source,
                fix="rename one of them; inputs are copied to inputs/<name>",
            )
        names[source.name] = source
    target_dir = directory / INPUTS_DIR
    if names:
        target_dir.mkdir(exist_ok=True)
    for name, source in names.items():
        target = target_dir / name
        if target.exists() and os.path.samefile(source, target):
            continue
        handle, temporary = tempfile.mkstemp(dir=target_dir, prefix=f".{name}.", suffix=".tmp")
        os.close(handle)
        try:
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return sorted(f"{INPUTS_DIR}/{name}" for name in names)


def _output_paths(directory: Path, exclude: set[str]) -> list[str]:
    paths: list[str] = []
    for entry in walk(directory):
        if entry.path == BUNDLE_FILE:
            continue
        if entry.kind != "file":
            what = "symbolic link" if entry.kind == "symlink" else "special file"
            raise InputError(
                f"{entry.path} is a {what}; an evidence bundle holds only regular files",
                file=directory,
                fix=_FIX_WRITE,
            )
        reason = unsafe_path_reason(entry.path)
        if reason is None:
            try:
                entry.path.encode("utf-8")
            except UnicodeEncodeError:
                reason = "the name is not valid UTF-8"
        if reason is not None:
            raise InputError(
                f"cannot record {entry.path!r}: {reason}", file=directory, fix=_FIX_WRITE
            )
        if entry.path not in exclude:
            paths.append(entry.path)
    return paths


def write_bundle(
    directory: Path,
    *,
    command: str,
    parameters: Mapping[str, Any],
    seed: str | None,
    results: Mapping[str, Any],
    rerun: str | None = None,
    inputs: Sequence[Path] = (),
    created: datetime | None = None,
) -> Bundle:
    """Seal ``directory`` as an evidence bundle by writing its ``bundle.json``.

    Each input file is copied to ``inputs/<name>``; then every regular file under
    ``directory`` (except ``bundle.json``) is hashed: the copies as ``inputs``,
    the rest as ``outputs``, each sorted by POSIX path. ``bundle.json`` is
    written atomically (temporary file, fsync, rename). With ``created=None``
    the same files and arguments give a byte-identical ``bundle.json``.

    Args:
        directory: The run's output directory (created if absent).
        command: The command that produced the run, e.g. ``"tallyguard simulate election"``.
        parameters: Everything the computation depends on; must be JSON.
        seed: The public random seed, or ``None``.
        results: The headline numbers of the run; must be JSON.
        rerun: Name of a re-runner (entry point group ``tallyguard.rerun``) that
            re-creates the outputs from ``parameters``, or ``None``.
        inputs: Input files to copy into the bundle.
        created: When the run happened (timezone-aware), or ``None`` for a
            deterministic bundle.

    Returns:
        The bundle as written.

    Raises:
        InputError: Two inputs share a name, an input is missing, or the
            directory holds a symbolic link, special file or unsafe name.
        ValueError: ``parameters`` or ``results`` hold NaN or an infinity, or
            ``created`` is naive.
        TypeError: ``parameters`` or ``results`` hold a value JSON cannot represent.
    """
    created_text = _format_created(created)
    document: dict[str, Any] = {
        "format": FORMAT,
        "command": command,
        "parameters": normalise(dict(parameters)),
        "seed": seed,
        "rerun": rerun,
        "results": normalise(dict(results)),
        "software": software_versions(),
        "created": created_text,
    }
    directory.mkdir(parents=True, exist_ok=True)
    input_paths = _copy_inputs(directory, inputs)
    output_paths = _output_paths(directory, set(input_paths))
    document["inputs"] = [_record(directory, path).to_json() for path in input_paths]
    document["outputs"] = [_record(directory, path).to_json() for path in output_paths]
    document["bundle_sha256"] = content_sha256(document)
    bundle, problems = parse_bundle(document, directory)
    if bundle is None:
        raise ValueError("; ".join(problem.render() for problem in problems))
    write_file_atomically(directory / BUNDLE_FILE, file_form(document))
    return bundle


def load_bundle(path: Path) -> Bundle:
    """Read a bundle's ``bundle.json`` without checking any hash.

    Use :func:`tallyguard.evidence.verify_bundle` to find out whether the
    bundle is intact; this only checks that ``bundle.json`` is well-formed.

    Args:
        path: The bundle directory, or its ``bundle.json``.

    Returns:
        The parsed bundle.

    Raises:
        InputError: The path does not exist, or ``bundle.json`` cannot be read,
            is not strict JSON, has the wrong structure or lists an unsafe path.
    """
    directory, manifest = bundle_paths(path)
    fix = "restore the bundle from its original source; `tallyguard verify` lists what changed"
    try:
        raw = manifest.read_bytes()
    except OSError as error:
        raise InputError(
            f"cannot read: {error.strerror or error}", file=manifest, fix=fix
        ) from error
    try:
        document = parse_strict(raw)
    except ValueError as error:
        raise InputError(f"is not valid JSON: {error}", file=manifest, fix=fix) from error
    bundle, problems = parse_bundle(document, directory)
    if bundle is None:
        first = problems[0]
        field = first.subject.partition(":")[2] or None
        detail = first.problem if first.found is None else f"{first.problem} (found {first.found})"
        raise InputError(detail, file=manifest, field=field, fix=fix)
    for name, records in (("inputs", bundle.inputs), ("outputs", bundle.outputs)):
        for index, record in enumerate(records):
            reason = unsafe_path_reason(record.path)
            if reason is not None:
                where = f"{name}[{index}].path"
                raise InputError(f"{record.path!r}: {reason}", file=manifest, field=where, fix=fix)
    return bundle
