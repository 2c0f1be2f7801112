"""The whole forensic analysis of one results file: load, test, correct, calibrate, summarise.

``analyse`` is what ``tallyguard forensics run`` computes; ``document`` is the
JSON it prints (``--json``) and writes into the evidence bundle. Everything is
a function of the input files, the column options and :class:`Settings`, so
``tallyguard verify`` can recompute it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tallyguard import __version__
from tallyguard.forensics import benford, digits, fingerprint, integer, outliers, relation
from tallyguard.forensics.battery import (
    OVERALL,
    ForensicsRun,
    Settings,
    TestFunction,
    run_battery,
    stream,
)
from tallyguard.forensics.calibrate import calibrate
from tallyguard.forensics.load import EXCLUSION_RULES, FLAG_RULES, LoadedUnits
from tallyguard.forensics.result import JsonValue, TestResult
from tallyguard.forensics.table import UnitTable

#: Simulated clean elections behind the negative example's false-positive rate.
NEGATIVE_REPLICATES = 200
WORDING = (
    "Every finding is an anomaly relative to the stated null model, at the stated inclusion "
    "rules, after a Benjamini-Hochberg correction over every test and region looked at. "
    "Anomalies have several possible causes (manipulation, administrative practice, "
    "heterogeneity between areas, data errors); none of these tests proves fraud, and no "
    "anomaly detected does not show a count is clean."
)


def _call(module_run: Callable[..., TestResult], **options: object) -> TestFunction:
    def function(table: UnitTable, rng: np.random.Generator, replicates: int) -> TestResult:
        return module_run(table, rng=rng, replicates=replicates, **options)

    return function


def valid_tests(
    settings: Settings, prior: UnitTable | None = None, *, covariates: bool = False
) -> dict[str, TestFunction]:
    """The battery, in report order (name -> function of table, rng, replicates).

    The outlier test joins when there is a prior election or covariates.
    """
    tests: dict[str, TestFunction] = {
        "integer_percentages": _call(integer.run),
        "fingerprint": _call(fingerprint.run, bootstrap=settings.bootstrap),
        "turnout_share": _call(relation.run),
        "last_digit": _call(digits.run_last_digit),
        "second_digit": _call(digits.run_second_digit),
    }
    if prior is not None or covariates:
        tests["outliers"] = _call(outliers.run, prior=prior)
    return tests


def calibration_tests() -> dict[str, TestFunction]:
    """The battery in its cheap form (no plot bands, no model fit), for the calibration.

    The outlier test is not calibrated: it needs a prior election the clean model
    does not simulate.
    """
    tests: dict[str, TestFunction] = {
        "integer_percentages": _call(integer.run, band_replicates=0),
        "fingerprint": _call(fingerprint.run, fit_model=False),
        "turnout_share": _call(relation.run),
        "last_digit": _call(digits.run_last_digit),
        "second_digit": _call(digits.run_second_digit),
    }
    return tests


def regional_tests() -> dict[str, TestFunction]:
    """Per region: the fingerprint's detection test without the model fit (fitted once, overall)."""
    return {"fingerprint": _call(fingerprint.run, fit_model=False)}


def negative_examples() -> dict[str, TestFunction]:
    """Known-invalid methods, run only to show why they mislead (first-digit Benford)."""

    def first_digit(table: UnitTable, rng: np.random.Generator, replicates: int) -> TestResult:
        return benford.run(table, rng=rng, replicates=min(replicates, NEGATIVE_REPLICATES))

    return {"first_digit_benford": first_digit}


def analyse(
    loaded: LoadedUnits,
    settings: Settings,
    *,
    prior: LoadedUnits | None = None,
    input_sha256: str = "",
    progress: Callable[[str], None] | None = None,
    calibration_progress: Callable[[int, int], None] | None = None,
) -> ForensicsRun:
    """Run the battery, the negative examples and (``calibration_runs > 0``) the calibration."""
    prior_table = None if prior is None else prior.table
    run = run_battery(
        loaded,
        valid_tests(settings, prior_table, covariates=bool(loaded.table.covariates)),
        settings,
        regional=regional_tests(),
        negative=negative_examples(),
        progress=progress,
        input_sha256=input_sha256,
        prior=None if prior is None else prior.path.name,
    )
    if settings.calibration_runs <= 0:
        return run
    if progress is not None:
        progress("calibration")
    calibration = calibrate(
        loaded.table,
        calibration_tests(),
        alpha=settings.alpha,
        runs=settings.calibration_runs,
        replicates=settings.calibration_replicates,
        rng=stream(settings.seed, "calibration"),
        progress=calibration_progress,
    )
    return run.with_calibration(calibration.to_json())


def _test_json(
    run: ForensicsRun, stratum: str, name: str, result: TestResult
) -> dict[str, JsonValue]:
    out = result.to_json()
    out["q_value"] = run.q_values.get((stratum, name))
    out["anomaly"] = bool(out["q_value"] is not None and out["q_value"] <= run.settings.alpha)
    return out


def document(run: ForensicsRun) -> dict[str, JsonValue]:
    """The JSON summary: input, exclusions, per-test results with q-values, strata, calibration."""
    loaded = run.loaded
    table = loaded.table
    calibration = run.calibration or {}
    per_test = calibration.get("tests", {}) if isinstance(calibration, dict) else {}
    tests: dict[str, JsonValue] = {}
    for name, result in run.overall.results.items():
        entry = _test_json(run, OVERALL, name, result)
        entry["calibration"] = per_test.get(name) if isinstance(per_test, dict) else None
        tests[name] = entry
    strata = [
        {
            "region": stratum.name,
            "units": stratum.units,
            "tests": {
                name: {
                    "p_value": result.p_value,
                    "q_value": run.q_values.get((stratum.name, name)),
                }
                for name, result in stratum.results.items()
            },
        }
        for stratum in run.strata[1:]
    ]
    hypotheses = sum(q is not None for q in run.q_values.values())
    return {
        "tool": {"name": "tallyguard", "version": __version__},
        "input": {
            "file": loaded.path.name,
            "sha256": run.input_sha256,
            "rows": loaded.rows,
            "units_tested": table.n,
            "leader": table.leader,
            "choices": list(table.choices),
            "regions": len(table.regions()),
            "columns": loaded.columns,
            "notes": list(loaded.notes),
            "prior": run.prior,
        },
        "exclusions": {
            "rules": EXCLUSION_RULES,
            "counts": loaded.exclusion_counts(),
            "flag_rules": FLAG_RULES,
            "flagged": len(loaded.flagged),
        },
        "settings": run.settings.to_json(),
        "tests": tests,
        "strata": strata,
        "multiplicity": {
            "method": "Benjamini-Hochberg",
            "alpha": run.settings.alpha,
            "hypotheses": hypotheses,
            "anomalies": [
                {"stratum": s, "test": t, "q_value": run.q_values[(s, t)]}
                for s, t in run.rejected()
            ],
        },
        "negative_examples": {name: result.to_json() for name, result in run.negative.items()},
        "calibration": run.calibration,
        "wording": WORDING,
    }


def flagged_units(run: ForensicsRun) -> list[dict[str, JsonValue]]:
    """One row per (unit, test) a test singles out, in test order, then protocol flags."""
    rows: list[dict[str, JsonValue]] = []
    region = dict(zip(run.loaded.table.unit_id.tolist(), _regions(run.loaded.table), strict=True))
    for name, result in run.overall.results.items():
        for unit in result.flagged_units:
            rows.append({"unit_id": unit, "region": region.get(unit, ""), "reason": name})
    for issue in run.loaded.flagged:
        rows.append(
            {
                "unit_id": issue.unit_id,
                "region": region.get(issue.unit_id, ""),
                "reason": issue.rule,
            }
        )
    return rows


def _regions(table: UnitTable) -> list[str]:
    if table.region is None:
        return [""] * table.n
    return [str(r) for r in table.region.tolist()]
