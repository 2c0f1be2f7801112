"""Verify an evidence bundle: every byte, every listed file, and a re-run.

:func:`verify_bundle` catches any change to any byte in a bundle directory:

1. ``bundle.json`` must be strict JSON, byte-identical to the file form of its
   own content (so whitespace edits show), well-formed, and its
   ``bundle_sha256`` must equal the SHA-256 of the canonical JSON of the rest;
2. every listed input and output must exist as a regular file inside the
   directory with the recorded size and SHA-256 (unsafe paths are reported,
   never opened);
3. no other file may be in the directory;
4. when ``bundle.json`` names a re-runner, the computation is repeated in a
   temporary directory and every re-created output must match its record.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tallyguard.errors import Discrepancy
from tallyguard.evidence.bundle import INPUTS_DIR, bundle_paths, software_versions
from tallyguard.evidence.canonical import (
    content_sha256,
    file_form,
    normalise,
    parse_strict,
    sha256_file,
)
from tallyguard.evidence.model import Bundle, FileRecord, parse_bundle
from tallyguard.evidence.paths import BUNDLE_FILE, open_kind, unsafe_path_reason, walk
from tallyguard.evidence.report import Check, VerificationReport
from tallyguard.evidence.rerun import Rerunner, RerunnerLoadError, find_rerunner

__all__ = ["Check", "VerificationReport", "planned_steps", "verify_bundle"]

_RERUN_DIFFERS = "re-run gives different content"
_UNUSABLE = object()  # what _read_manifest returns when bundle.json cannot be parsed


@dataclass
class _State:
    directory: Path
    step: Callable[[str], None]
    discrepancies: list[Discrepancy] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    files_checked: int = 0
    rerun_done: bool = False

    def stage(self, name: str, before: int, passed_detail: str) -> None:
        found = len(self.discrepancies) - before
        detail = passed_detail if not found else f"{found} problem(s)"
        self.checks.append(Check(name, not found, detail))


def _ignore(_label: str) -> None:
    return None


def _read_manifest(manifest: Path, state: _State) -> Any:
    """Return the parsed bundle.json, or ``_UNUSABLE`` after recording why it is unusable."""
    kind = open_kind(manifest.parent, BUNDLE_FILE)
    problem = {
        "missing": "is missing",
        "symlink": "is a symbolic link; it was not followed",
        "other": "is not a regular file",
        "unreadable": "cannot be read (permission denied?)",
    }.get(kind)
    if problem is not None:
        state.discrepancies.append(Discrepancy(BUNDLE_FILE, problem))
        return _UNUSABLE
    try:
        raw = manifest.read_bytes()
    except OSError as error:
        state.discrepancies.append(Discrepancy(BUNDLE_FILE, f"cannot be read: {error}"))
        return _UNUSABLE
    state.files_checked += 1
    try:
        document = parse_strict(raw)
    except ValueError as error:
        state.discrepancies.append(Discrepancy(BUNDLE_FILE, f"is not valid JSON: {error}"))
        return _UNUSABLE
    try:
        canonical = file_form(document)
    except ValueError as error:
        state.discrepancies.append(Discrepancy(BUNDLE_FILE, f"holds an invalid number: {error}"))
        return _UNUSABLE
    if canonical != raw:
        state.discrepancies.append(
            Discrepancy(
                BUNDLE_FILE,
                "bytes differ from the canonical layout of its own content "
                "(whitespace, key order or escaping was edited)",
            )
        )
    return document


def _check_manifest(manifest: Path, state: _State) -> Bundle | None:
    before = len(state.discrepancies)
    state.step("reading bundle.json")
    document = _read_manifest(manifest, state)
    bundle: Bundle | None = None
    if document is not _UNUSABLE:
        bundle, problems = parse_bundle(document, state.directory)
        state.discrepancies += problems
        recorded = document.get("bundle_sha256") if isinstance(document, dict) else None
        if isinstance(recorded, str):
            actual = content_sha256(document)
            if actual != recorded:
                state.discrepancies.append(
                    Discrepancy(
                        f"{BUNDLE_FILE}:bundle_sha256",
                        "does not match the SHA-256 of the other fields (bundle.json was edited)",
                        recorded,
                        actual,
                    )
                )
    state.stage("bundle.json", before, "strict JSON, canonical layout, bundle_sha256 matches")
    return bundle


def _check_record(record: FileRecord, state: _State) -> None:
    state.step(f"hashing {record.path}")
    kind = open_kind(state.directory, record.path)
    state.files_checked += 1
    if kind != "file":
        problem = {
            "missing": "listed file is missing",
            "symlink": "is a symbolic link, not a regular file; it was not followed",
            "unreadable": "cannot be read (permission denied?)",
        }.get(kind, "is not a regular file")
        state.discrepancies.append(Discrepancy(record.path, problem))
        return
    path = state.directory / record.path
    try:
        size = path.stat().st_size
        if size != record.bytes:
            found = f"{size} bytes"
            state.discrepancies.append(
                Discrepancy(record.path, "size differs", f"{record.bytes} bytes", found)
            )
            return
        digest = sha256_file(path)
    except OSError as error:
        state.discrepancies.append(Discrepancy(record.path, f"cannot be read: {error}"))
        return
    if digest != record.sha256:
        state.discrepancies.append(
            Discrepancy(record.path, "content differs (SHA-256)", record.sha256, digest)
        )


def _check_files(bundle: Bundle, state: _State) -> list[FileRecord]:
    """Hash every listed file; return the records whose paths are safe to open."""
    before = len(state.discrepancies)
    safe: list[FileRecord] = []
    seen: set[str] = set()
    for name, records in (("inputs", bundle.inputs), ("outputs", bundle.outputs)):
        for index, record in enumerate(records):
            where = f"{BUNDLE_FILE}:{name}[{index}].path"
            reason = unsafe_path_reason(record.path)
            if reason is not None:
                problem = f"path {record.path!r} is unsafe: {reason}; it was not read"
                state.discrepancies.append(Discrepancy(where, problem))
                continue
            if record.path in seen:
                problem = f"path {record.path!r} is listed more than once"
                state.discrepancies.append(Discrepancy(where, problem))
                continue
            seen.add(record.path)
            safe.append(record)
            _check_record(record, state)
    state.stage("listed files", before, f"{len(safe)} file(s) match their size and SHA-256")
    return safe


def _check_unlisted(listed: set[str], state: _State) -> None:
    before = len(state.discrepancies)
    state.step("looking for unlisted files")
    try:
        entries = walk(state.directory)
    except OSError as error:
        problem = f"cannot list the bundle directory: {error}"
        state.discrepancies.append(Discrepancy(BUNDLE_FILE, problem))
        entries = []
    for entry in entries:
        if entry.path == BUNDLE_FILE or entry.path in listed:
            continue
        what = {"file": "file", "symlink": "symbolic link"}.get(entry.kind, "special file")
        problem = f"unexpected {what}: not listed in bundle.json"
        state.discrepancies.append(Discrepancy(entry.path, problem))
    state.stage("unlisted files", before, "no file besides the listed ones")


def _stage_inputs(records: list[FileRecord], source: Path, target: Path) -> None:
    """Copy the bundle's inputs into the re-run directory, so a re-runner can read them."""
    for record in records:
        if open_kind(source, record.path) != "file":
            continue
        destination = target / record.path
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / record.path, destination)


def _compare_rerun(out: Path, targets: list[FileRecord], state: _State) -> None:
    for record in targets:
        if open_kind(out, record.path) != "file":
            problem = f"{_RERUN_DIFFERS}: the re-run did not write this file"
            state.discrepancies.append(Discrepancy(record.path, problem, record.sha256, "missing"))
            continue
        digest = sha256_file(out / record.path)
        if digest != record.sha256:
            state.discrepancies.append(
                Discrepancy(record.path, _RERUN_DIFFERS, record.sha256, digest)
            )
    expected = {record.path for record in targets}
    extra = [
        entry.path
        for entry in walk(out)
        if entry.path not in expected and not entry.path.startswith(f"{INPUTS_DIR}/")
    ]
    if extra:
        shown = ", ".join(extra[:5]) + (", ..." if len(extra) > 5 else "")
        state.notes.append(
            f"the re-run also wrote {len(extra)} file(s) the bundle does not list: {shown}"
        )


def _rerun(
    name: str,
    bundle: Bundle,
    safe: list[FileRecord],
    rerunners: Mapping[str, Rerunner] | None,
    state: _State,
) -> None:
    before = len(state.discrepancies)
    subject = f"{BUNDLE_FILE}:rerun"
    state.step(f"re-running {name}")
    try:
        rerunner = find_rerunner(name, rerunners)
    except RerunnerLoadError as error:
        state.discrepancies.append(Discrepancy(subject, f"re-runner {name!r}: {error}"))
        rerunner = None
    else:
        if rerunner is None:
            problem = f"no re-runner named {name!r} is installed, so the run cannot be repeated"
            state.discrepancies.append(Discrepancy(subject, problem))
    if rerunner is not None:
        safe_paths = {record.path for record in safe}
        inputs = [record for record in bundle.inputs if record.path in safe_paths]
        targets = [
            record
            for record in bundle.outputs
            if record.path in safe_paths and not record.path.startswith(f"{INPUTS_DIR}/")
        ]
        with tempfile.TemporaryDirectory(
            prefix="tallyguard-rerun-", ignore_cleanup_errors=True
        ) as temporary:
            out = Path(temporary)
            try:
                _stage_inputs(inputs, state.directory, out)
                rerunner(normalise(dict(bundle.parameters)), out)
            except Exception as error:  # any failure of the re-run is a finding
                problem = f"re-run failed: {type(error).__name__}: {error}"
                state.discrepancies.append(Discrepancy(subject, problem))
            else:
                state.rerun_done = True
                state.step("comparing re-run outputs")
                _compare_rerun(out, targets, state)
    state.stage("re-run", before, f"{name} reproduces every output")


def _note_software(bundle: Bundle, state: _State, rerun_expected: bool) -> None:
    installed = software_versions()
    changed = [
        f"{package} {bundle.software.get(package)} -> {installed.get(package)}"
        for package in sorted(set(bundle.software) | set(installed))
        if bundle.software.get(package) != installed.get(package)
    ]
    if not changed:
        return
    note = "recorded with other software versions than installed: " + ", ".join(changed)
    if rerun_expected:
        note += (
            "; numpy's random streams may change between versions, so a re-run "
            "difference may come from the software rather than from the bundle"
        )
    state.notes.append(note)


def _rerun_expected(document: Any, rerun: bool) -> bool:
    return rerun and isinstance(document, dict) and isinstance(document.get("rerun"), str)


def planned_steps(path: Path, *, rerun: bool = True) -> int:
    """Return how many times :func:`verify_bundle` will call ``on_step`` (for progress bars).

    Args:
        path: The bundle directory or its ``bundle.json``.
        rerun: Whether the re-run will be requested.

    Returns:
        The number of steps; a small default when ``bundle.json`` is unreadable.
    """
    try:
        _directory, manifest = bundle_paths(path)
        document = parse_strict(manifest.read_bytes())
    except Exception:  # only an estimate; verify_bundle reports the cause
        return 3
    files = 0
    if isinstance(document, dict):
        for name in ("inputs", "outputs"):
            value = document.get(name)
            files += len(value) if isinstance(value, list) else 0
    return 2 + files + (2 if _rerun_expected(document, rerun) else 0)


def verify_bundle(
    path: Path,
    *,
    rerun: bool = True,
    rerunners: Mapping[str, Rerunner] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> VerificationReport:
    """Check that an evidence bundle is exactly what its ``bundle.json`` says.

    Args:
        path: The bundle directory, or its ``bundle.json``.
        rerun: Re-run the recorded computation when the bundle names one.
        rerunners: Re-runners by name, consulted before the installed entry
            points of the group ``tallyguard.rerun``.
        on_step: Called with a short label as each step starts (see
            :func:`planned_steps` for how many there are).

    Returns:
        The report; ``report.ok`` is ``False`` when anything differs, and
        ``report.raise_for_problems()`` turns that into an exception.

    Raises:
        InputError: ``path`` does not exist or is not a bundle directory or
            ``bundle.json`` (a missing ``bundle.json`` inside an existing
            directory is a discrepancy instead).
    """
    directory, manifest = bundle_paths(path)
    state = _State(directory, on_step or _ignore)
    bundle = _check_manifest(manifest, state)
    if bundle is None:
        why = "not checked, because bundle.json is unusable"
        state.checks += [Check(name, None, why) for name in ("listed files", "unlisted files")]
        state.checks.append(Check("re-run", None, why))
        state.notes.append("the files were not checked, because bundle.json cannot be trusted")
    else:
        safe = _check_files(bundle, state)
        _check_unlisted({record.path for record in safe}, state)
        if bundle.rerun is None:
            state.checks.append(Check("re-run", None, "the bundle records no re-runnable step"))
        elif not rerun:
            state.checks.append(Check("re-run", None, f"{bundle.rerun} not re-run (skipped)"))
        else:
            _rerun(bundle.rerun, bundle, safe, rerunners, state)
        _note_software(bundle, state, rerun and bundle.rerun is not None)
    return VerificationReport(
        bundle=directory,
        ok=not state.discrepancies,
        discrepancies=state.discrepancies,
        files_checked=state.files_checked,
        rerun_done=state.rerun_done,
        notes=state.notes,
        checks=state.checks,
    )
