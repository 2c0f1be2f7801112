"""The outcome of verifying an evidence bundle: :class:`VerificationReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tallyguard.errors import Discrepancy, VerificationError

__all__ = ["Check", "VerificationReport"]


@dataclass(frozen=True)
class Check:
    """The outcome of one stage of verification, for people reading a report.

    Attributes:
        name: What was checked, e.g. ``"listed files"``.
        passed: ``True`` or ``False``; ``None`` when the check was not done.
        detail: One line saying what was found or why the check was skipped.
    """

    name: str
    passed: bool | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        """Return the check as a JSON object."""
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class VerificationReport:
    """What :func:`verify_bundle` found.

    Attributes:
        bundle: The bundle directory.
        ok: ``True`` exactly when there is no discrepancy.
        discrepancies: Everything that is not what ``bundle.json`` says.
        files_checked: Files read and compared, ``bundle.json`` included.
        rerun_done: Whether the recorded computation was re-run to completion.
        notes: Remarks that are not discrepancies (e.g. other software versions).
        checks: The stages of verification and their outcomes.
    """

    bundle: Path
    ok: bool
    discrepancies: list[Discrepancy]
    files_checked: int
    rerun_done: bool
    notes: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.ok != (not self.discrepancies):
            raise ValueError("a report is ok exactly when it has no discrepancies")

    def to_json(self) -> dict[str, Any]:
        """Return the report as a JSON object (what ``tallyguard verify --json`` prints)."""
        return {
            "bundle": str(self.bundle),
            "ok": self.ok,
            "discrepancies": [
                {
                    "subject": d.subject,
                    "problem": d.problem,
                    "expected": d.expected,
                    "found": d.found,
                }
                for d in self.discrepancies
            ],
            "files_checked": self.files_checked,
            "rerun_done": self.rerun_done,
            "notes": list(self.notes),
            "checks": [check.to_json() for check in self.checks],
        }

    def raise_for_problems(self) -> None:
        """Raise :class:`~tallyguard.errors.VerificationError` unless the bundle is intact."""
        if self.discrepancies:
            raise VerificationError(str(self.bundle), self.discrepancies)
