"""What every forensic test returns: statistics, a p-value against a stated null, caveats.

A test never says "fraud". It says how far the data lie from a stated null
model, how sure that is (Monte-Carlo p-value, interval), and what else could
produce the same anomaly. ``TestResult.to_json()`` is the shape printed by
``tallyguard forensics run --json`` under ``tests.<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

JsonValue = Any


@dataclass(frozen=True)
class Component:
    """One tested quantity of a test (e.g. the integer test's ``turnout``).

    ``statistics`` holds plain JSON numbers; ``p_value`` is one-sided in the
    direction of the anomaly the test looks for, ``None`` when not computable
    (with the reason in ``skipped``).
    """

    name: str
    statistics: dict[str, JsonValue]
    p_value: float | None
    skipped: str | None = None

    def to_json(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = dict(self.statistics)
        out["p_value"] = self.p_value
        if self.skipped:
            out["skipped"] = self.skipped
        return out


@dataclass(frozen=True)
class TestResult:
    """The outcome of one test on one table (or one region of it).

    Attributes:
        name: machine name, e.g. ``integer_percentages``.
        title: human title for the report.
        citation: the paper the method follows.
        null: the null model in one sentence, as the report states it.
        components: the tested quantities, in report order.
        headline: the component whose p-value enters the multiplicity
            correction and the calibration (one per test and stratum).
        valid: False only for the labelled negative examples (first-digit
            Benford); their p-values never enter the correction.
        caveats: what the test does not show, confounders.
        details: extra JSON-able data for plots (histograms, null bands).
        flagged_units: unit ids the test singles out (may be empty).
    """

    __test__ = False  # not a pytest class

    name: str
    title: str
    citation: str
    null: str
    components: tuple[Component, ...]
    headline: str
    valid: bool = True
    caveats: tuple[str, ...] = ()
    details: dict[str, JsonValue] = field(default_factory=dict)
    flagged_units: tuple[str, ...] = ()

    def component(self, name: str) -> Component:
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def p_value(self) -> float | None:
        """The headline component's p-value."""
        return self.component(self.headline).p_value

    def to_json(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {c.name: c.to_json() for c in self.components}
        out.update(
            title=self.title,
            citation=self.citation,
            null=self.null,
            headline=self.headline,
            valid=self.valid,
            caveats=list(self.caveats),
        )
        return out


def monte_carlo_p_value(observed: float, null: np.ndarray) -> float:
    """One-sided upper Monte-Carlo p-value ``(1 + #{null >= observed}) / (R + 1)``.

    Davison & Hinkley (1997), eq. 4.11: valid (never below the true p-value in
    expectation) for any number of replicates R.
    """
    r = int(np.asarray(null).size)
    return (1 + int(np.count_nonzero(np.asarray(null) >= observed))) / (r + 1)
