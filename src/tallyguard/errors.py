"""The one exception hierarchy of tallyguard.

::

    TallyguardError            anything tallyguard raises on purpose (exit 1)
    ├── InputError             the user's data or options are wrong (exit 2)
    └── VerificationError      an evidence bundle does not verify (exit 3)

An :class:`InputError` is shown to the user verbatim, so its message must say
which file, line and field are wrong and what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_VERIFY = 3


class TallyguardError(Exception):
    """Base class of every error tallyguard raises deliberately."""

    exit_code: int = EXIT_INTERNAL


class InputError(TallyguardError):
    """A problem with user data or options, located as precisely as possible.

    ``str(error)`` reads like: ``manifest.csv, line 7, field 'Number of
    Ballots': 'twelve' is not a whole number. Fix: write the count as digits.``
    """

    exit_code = EXIT_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.line = line
        self.field = field
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        where = [part for part in (self.file,) if part]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.fix:
            text = text if text.endswith((".", "?", "!")) else text + "."
            text += f" Fix: {self.fix}"
        return text


@dataclass(frozen=True)
class Discrepancy:
    """One thing in an evidence bundle that is not what the bundle says."""

    subject: str  # a file path relative to the bundle, or "bundle.json:<field>"
    problem: str
    expected: str | None = None
    found: str | None = None

    def render(self) -> str:
        text = f"{self.subject}: {self.problem}"
        if self.expected is not None or self.found is not None:
            text += f" (recorded {self.expected}, found {self.found})"
        return text


class VerificationError(TallyguardError):
    """An evidence bundle failed verification; lists every discrepancy."""

    exit_code = EXIT_VERIFY

    def __init__(self, bundle: str, discrepancies: list[Discrepancy]) -> None:
        self.bundle = bundle
        self.discrepancies = list(discrepancies)
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{self.bundle}: evidence bundle does NOT verify"
        lines = [f"{head} ({len(self.discrepancies)} problem(s))"]
        lines += [f"  - {d.render()}" for d in self.discrepancies]
        return "\n".join(lines)
