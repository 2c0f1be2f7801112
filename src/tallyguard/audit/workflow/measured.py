"""What measuring one contest yields, whatever the kind of audit (internal)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from tallyguard.audit.workflow.result import CardDiscrepancy

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class AssertionPath:
    """One assertion's sequential p-values over the audited prefix, and the values tested.

    ``values`` are what the risk function tested, in draw order: assorter
    values (polling), overstatement-assorter values B (comparison) or batch
    errors in votes (batch); planning continues from them.
    """

    name: str
    winner: str
    loser: str | None
    margin: float
    p_values: tuple[float, ...]
    values: Floats = field(repr=False, compare=False)

    def p_at(self, draws: int) -> float:
        """The p-value after ``draws`` audited draws (1 before any)."""
        return self.p_values[draws - 1] if draws > 0 else 1.0


@dataclass(frozen=True)
class ContestMeasure:
    """A contest's assertion paths, notes and discrepancies over the audited prefix."""

    paths: tuple[AssertionPath, ...]
    notes: tuple[str, ...]
    discrepancies: tuple[CardDiscrepancy, ...]

    def risk_at(self, draws: int) -> float:
        """The contest's risk after ``draws`` audited draws: its largest p-value."""
        return max((p.p_at(draws) for p in self.paths), default=1.0)


def path_of(p_values: Floats) -> tuple[float, ...]:
    """A p-value array as a tuple of plain Python floats."""
    return tuple(float(p) for p in np.asarray(p_values, dtype=np.float64))
