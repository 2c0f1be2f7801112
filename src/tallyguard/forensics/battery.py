"""Run every forensic test on a table, overall and per region, and correct for multiplicity.

The family of hypotheses is every valid test's headline p-value, on the whole
table and on each region large enough to test; Benjamini–Hochberg (1995)
q-values are computed over that whole family, so a finding in one region of
one test is weighed against everything else that was looked at. The labelled
negative example (first-digit Benford) is run beside the family, never in it.

Randomness: the seed text is hashed (SHA-256) to a numpy ``SeedSequence``;
each (stratum, test) draws from its own child stream keyed by its name, so a
result does not change when other tests or regions are added or removed.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from tallyguard.forensics.load import LoadedUnits
from tallyguard.forensics.multiplicity import bh_qvalues
from tallyguard.forensics.result import JsonValue, TestResult
from tallyguard.forensics.table import UnitTable

TestFunction = Callable[[UnitTable, np.random.Generator, int], TestResult]
OVERALL = "all units"


def stream(seed: str, *key: str) -> np.random.Generator:
    """The generator of one named computation, derived from the seed text."""
    entropy = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest(), "big")
    spawn_key = tuple(zlib.crc32(part.encode("utf-8")) for part in key)
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=spawn_key))
    )


@dataclass(frozen=True)
class Settings:
    """Everything besides the input that decides the numbers."""

    seed: str
    replicates: int = 1000
    alpha: float = 0.05
    by_region: bool = True
    min_region_units: int = 200
    calibration_runs: int = 50
    calibration_replicates: int = 200
    bootstrap: int = 50

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "seed": self.seed,
            "replicates": self.replicates,
            "alpha": self.alpha,
            "by_region": self.by_region,
            "min_region_units": self.min_region_units,
            "calibration_runs": self.calibration_runs,
            "calibration_replicates": self.calibration_replicates,
            "bootstrap": self.bootstrap,
            "multiplicity": "Benjamini-Hochberg over every valid test x stratum",
        }


@dataclass(frozen=True)
class Stratum:
    """The results of every test on one stratum (the whole table or one region)."""

    name: str
    units: int
    results: dict[str, TestResult]


@dataclass(frozen=True)
class ForensicsRun:
    """One battery: inputs, settings, results per stratum, q-values, negative examples.

    ``q_values[(stratum, test)]`` is the BH-adjusted headline p-value (None
    when the test was skipped). ``calibration`` is the calibration's JSON
    (``forensics/calibrate.py``), or None when it was not run.
    """

    loaded: LoadedUnits
    settings: Settings
    strata: tuple[Stratum, ...]
    q_values: dict[tuple[str, str], float | None]
    negative: dict[str, TestResult] = field(default_factory=dict)
    calibration: dict[str, JsonValue] | None = None
    input_sha256: str = ""
    prior: str | None = None

    @property
    def overall(self) -> Stratum:
        return self.strata[0]

    def rejected(self) -> list[tuple[str, str]]:
        """(stratum, test) pairs whose q-value is at most alpha."""
        alpha = self.settings.alpha
        return [key for key, q in self.q_values.items() if q is not None and q <= alpha]

    def with_calibration(self, calibration: dict[str, JsonValue]) -> ForensicsRun:
        return ForensicsRun(
            self.loaded,
            self.settings,
            self.strata,
            self.q_values,
            self.negative,
            calibration,
            self.input_sha256,
            self.prior,
        )


def region_subsets(table: UnitTable, min_units: int) -> list[tuple[str, UnitTable]]:
    """Each region with at least ``min_units`` units, in order of first appearance."""
    if table.region is None:
        return []
    out = []
    for name in table.regions():
        mask = table.region == name
        if int(mask.sum()) >= min_units:
            out.append((name, table.subset(mask)))
    return out


def run_battery(
    loaded: LoadedUnits,
    tests: Mapping[str, TestFunction],
    settings: Settings,
    *,
    regional: Mapping[str, TestFunction] | None = None,
    negative: Mapping[str, TestFunction] | None = None,
    progress: Callable[[str], None] | None = None,
    input_sha256: str = "",
    prior: str | None = None,
) -> ForensicsRun:
    """Run ``tests`` on the whole table and (``by_region``) on each large region; BH over all.

    ``regional`` replaces some tests' functions on the regions (e.g. the
    fingerprint without its model fit); same names, same hypotheses.
    """
    table = loaded.table
    subsets = [(OVERALL, table)]
    if settings.by_region:
        subsets += region_subsets(table, settings.min_region_units)
    strata = []
    for name, subset in subsets:
        results = {}
        for test, function in tests.items():
            if name != OVERALL and regional is not None:
                function = regional.get(test, function)
            if progress is not None:
                progress(f"{test} ({name})")
            results[test] = function(subset, stream(settings.seed, name, test), settings.replicates)
        strata.append(Stratum(name, subset.n, results))
    keys = [(s.name, t) for s in strata for t in s.results]
    p_values = [s.results[t].p_value for s in strata for t in s.results]
    q_values = dict(zip(keys, bh_qvalues(p_values), strict=True))
    negatives = {}
    for test, function in (negative or {}).items():
        if progress is not None:
            progress(test)
        negatives[test] = function(table, stream(settings.seed, OVERALL, test), settings.replicates)
    return ForensicsRun(
        loaded, settings, tuple(strata), q_values, negatives, None, input_sha256, prior
    )
