"""Digit tests on vote counts against a size-matched binomial null (laws in ``digit_laws``).

* ``run_last_digit``: last digits (Beber & Scacco 2012, Political Analysis
  20(2):211–234).
* ``run_second_digit``: the second significant digit, "2BL" (Mebane 2006,
  "Election Forensics: Vote Counts and Benford's Law"; Mebane 2008, in Alvarez,
  Hall & Hyde (eds.), *Election Fraud*, 161–181). Benford's second-digit law
  P(d2 = k) = Σ_{d1=1..9} log10(1 + 1/(10·d1 + k)) has mean 4.1874; it is
  reported beside the test, never as the test.

The null of both: each included count is Binomial(ballots cast, votes / ballots
cast) of its unit, given that it reached 10 (``digit_laws``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from tallyguard.forensics.digit_laws import (
    BENFORD_SECOND,
    DIGITS,
    MIN_COUNT,
    MIN_EXPECTED,
    DigitNull,
    chi_square,
    digit_null,
    included_counts,
    last_digit_probabilities,
    significant_digit,
    significant_digit_probabilities,
)
from tallyguard.forensics.result import Component, TestResult, monte_carlo_p_value
from tallyguard.forensics.table import FloatArray, UnitTable

__all__ = ["run_last_digit", "run_second_digit"]


def _chi2_component(name: str, dn: DigitNull, law: FloatArray, label: str) -> Component:
    """Pooled chi-square against the exact null expectation (Monte-Carlo upper tail)."""
    obs, exp, sim = dn.observed.sum(axis=0), dn.expected.sum(axis=0), dn.simulated.sum(axis=1)
    chi2, null = float(chi_square(obs, exp)), chi_square(sim, exp)
    fixed = float(chi_square(obs, law * dn.total))
    statistics = {
        "n_counts": dn.total,
        "chi2": chi2,
        "null_chi2_mean": float(null.mean()),
        "null_chi2_95": float(np.percentile(null, 95)),
        "fixed_law": f"{label} (for comparison, not the test)",
        "fixed_law_chi2": fixed,
        "fixed_law_p_value": float(stats.chi2.sf(fixed, 9)),
    }
    return Component(name, statistics, monte_carlo_p_value(chi2, null))


def _mean_component(name: str, dn: DigitNull, law: FloatArray, label: str) -> Component:
    """Mean digit against the exact null mean, two-sided Monte-Carlo; fixed-law z beside."""
    total = dn.total
    mean = float(dn.observed.sum(axis=0) @ DIGITS / total)
    centre = float(dn.expected.sum(axis=0) @ DIGITS / total)
    null = dn.simulated.sum(axis=1) @ DIGITS / total
    law_mean = float(DIGITS @ law)
    z = (mean - law_mean) / np.sqrt((DIGITS**2 @ law - law_mean**2) / total)
    statistics = {
        "n_counts": total,
        "mean": mean,
        "null_mean": centre,
        "deviation": mean - centre,
        "null_sd": float(null.std(ddof=1)) if null.size > 1 else None,
        "sided": "two-sided",
        "fixed_law": f"{label} (for comparison, not the test)",
        "fixed_law_mean": law_mean,
        "fixed_law_z": float(z),
        "fixed_law_p_value": float(2 * stats.norm.sf(abs(z))),
    }
    p_value = monte_carlo_p_value(abs(mean - centre), np.abs(null - centre))
    return Component(name, statistics, p_value)


def _details(dn: DigitNull, law: FloatArray, min_expected: float) -> dict[str, Any]:
    return {
        "distribution": dn.distribution(law),
        "by_choice": _by_choice(dn),
        "inclusion": _inclusion(min_expected),
        "replicates": int(dn.simulated.shape[0]),
    }


def _by_choice(dn: DigitNull) -> dict[str, dict[str, Any]]:
    """Per-choice counts, chi-square against the null expectation and its Monte-Carlo p."""
    out: dict[str, dict[str, Any]] = {}
    for g, name in enumerate(dn.choices):
        chi2 = float(chi_square(dn.observed[g], dn.expected[g]))
        null = chi_square(dn.simulated[:, g], dn.expected[g])
        out[name] = {
            "n_counts": int(dn.observed[g].sum()),
            "observed": dn.observed[g].tolist(),
            "expected": dn.expected[g].round(3).tolist(),
            "chi2": chi2,
            "p_value": monte_carlo_p_value(chi2, null) if dn.observed[g].sum() else None,
        }
    return out


def _skipped(name: str, title: str, citation: str, null: str, parts: tuple[str, ...]) -> TestResult:
    reason = "no included count (see the inclusion rule in the null)"
    components = tuple(Component(part, {"n_counts": 0}, None, reason) for part in parts)
    return TestResult(name, title, citation, null, components, parts[0], caveats=(reason,))


def _inclusion(min_expected: float) -> str:
    return (
        f"counts of at least {MIN_COUNT} votes, in units where the choice expects at least "
        f"{min_expected:g} (ballots cast × its overall share)"
    )


def _null(min_expected: float, statistic: str) -> str:
    return (
        "Each included count is an independent Binomial(ballots cast, votes / ballots cast) "
        f"draw for its unit, conditioned on reaching {MIN_COUNT} votes (inclusion: "
        f"{_inclusion(min_expected)}); {statistic}."
    )


_CAVEATS = (
    "An anomaly relative to the stated binomial null, not evidence of manipulation: rounding in "
    "reporting, data-entry conventions, aggregated or administrative units and heterogeneity "
    "also move digits.",
    "Units where a choice expects few votes (below min_expected, default 30) are left out: "
    "there, counts kept because they reached 10 overstate the share, and in simulations a clean "
    "small party then looked anomalous in every election. Small parties may not be tested.",
    "The null plugs in each unit's observed share, so it smooths each count twice (binomial "
    "noise, then resampling). Many units with similar expected counts and a binomial SD below "
    "the digit's period (10 votes for last digits, 100 for the second digit of 3-digit counts) "
    "can deviate without any anomaly; heterogeneous tables average this out. The per-choice "
    "breakdown shows where a deviation comes from.",
    "Counts of one unit are treated as independent; when the choices exhaust the ballots their "
    "digits are tied through the unit's total.",
)
LAST_DIGIT_CITATION = (
    "Beber, B. & Scacco, A. (2012). What the numbers say: a digit-based test for election "
    "fraud. Political Analysis 20(2):211–234."
)
LAST_DIGIT_CAVEATS = (
    *_CAVEATS,
    "The chi-square against uniform last digits (fixed law) is shown beside the test for "
    "comparison only; it ignores the digit bias of small counts and is not the test.",
    "No deviation does not show a clean count: proportional changes to vote counts leave last "
    "digits as the null expects.",
)


def run_last_digit(
    table: UnitTable,
    *,
    rng: np.random.Generator,
    replicates: int = 1000,
    choices: Sequence[str] | None = None,
    min_expected: float = MIN_EXPECTED,
) -> TestResult:
    """Last-digit test (Beber & Scacco 2012) against the size-matched binomial null.

    Statistic: Pearson chi-square of the pooled last-digit counts of every included count
    (each choice's counts ≥ 10 where it expects ≥ ``min_expected`` votes; ``choices=None``
    takes all choices; see ``included_counts``) against the exact null
    expected counts Σ_i P(K_i mod 10 = d | K_i ≥ 10); its Monte-Carlo null draws one digit
    per count from the same exact laws. Also the share ending in 0 or 5 (upper tail, the
    direction of rounding) and the last-digit mean (two-sided).
    """
    title = "Last digits of vote counts"
    parts = ("last_digit", "share_0_or_5", "last_digit_mean")
    null = _null(min_expected, "its last digit follows the exact law of the count modulo 10")
    counts = included_counts(table, choices, MIN_COUNT, min_expected)
    if counts.count.size == 0:
        return _skipped("last_digit", title, LAST_DIGIT_CITATION, null, parts)
    probs = last_digit_probabilities(counts.trials, counts.share)
    dn = digit_null(counts, counts.count % 10, probs, rng, replicates)
    uniform = np.full(10, 0.1)
    obs, sim = dn.observed.sum(axis=0), dn.simulated.sum(axis=1)
    share, null_share = float(obs[[0, 5]].sum() / dn.total), sim[:, [0, 5]].sum(axis=1) / dn.total
    rounding = {
        "n_counts": dn.total,
        "share": share,
        "null_share": float(dn.expected.sum(axis=0)[[0, 5]].sum() / dn.total),
        "null_low": float(np.percentile(null_share, 2.5)),
        "null_high": float(np.percentile(null_share, 97.5)),
        "fixed_law_share": 0.2,
    }
    components = (
        _chi2_component("last_digit", dn, uniform, "uniform last digits"),
        Component("share_0_or_5", rounding, monte_carlo_p_value(share, null_share)),
        _mean_component("last_digit_mean", dn, uniform, "uniform last digits"),
    )
    return TestResult(
        "last_digit", title, LAST_DIGIT_CITATION, null, components, "last_digit",
        caveats=LAST_DIGIT_CAVEATS, details=_details(dn, uniform, min_expected),
    )  # fmt: skip


SECOND_DIGIT_CITATION = (
    "Mebane, W. R. Jr. (2006). Election forensics: vote counts and Benford's law. Summer "
    "Meeting of the Political Methodology Society; Mebane (2008). Election forensics: the "
    "second-digit Benford's law test and recent American presidential elections. In Alvarez, "
    "Hall & Hyde (eds.), Election Fraud, Brookings, 161–181."
)
SECOND_DIGIT_CAVEATS = (
    "2BL has weak theory: Benford's second-digit law is not derived for vote counts, clean "
    "elections deviate from it in both directions, and no direction of the mean marks "
    "manipulation, so the test is two-sided (Mebane 2006, 2008; Deckert, Myagkov & Ordeshook "
    "2011, Political Analysis 19(3):245–268).",
    *_CAVEATS,
    "The fixed Benford mean 4.1874 and its z are shown beside the test for comparison only; "
    "with 10^5 counts they reject nearly every election.",
)


def run_second_digit(
    table: UnitTable,
    *,
    rng: np.random.Generator,
    replicates: int = 1000,
    choices: Sequence[str] | None = None,
    min_expected: float = MIN_EXPECTED,
) -> TestResult:
    """Second-digit (2BL) test (Mebane 2006) against the size-matched binomial null.

    Statistic: the mean second significant digit of every included count (as in
    ``run_last_digit``), against its exact null mean Σ_i E[d2(K_i) | K_i ≥ 10] / N; Monte-Carlo
    p-value two-sided on |mean − null mean|, from one second digit per count drawn from
    its exact null law. Also the chi-square of the second-digit counts (upper tail).
    """
    title = "Second digits of vote counts (2BL)"
    parts = ("second_digit_mean", "second_digit_chi2")
    null = _null(min_expected, "two-sided on the mean second digit's distance from its null mean")
    counts = included_counts(table, choices, MIN_COUNT, min_expected)
    if counts.count.size == 0:
        return _skipped("second_digit", title, SECOND_DIGIT_CITATION, null, parts)
    probs = significant_digit_probabilities(counts.trials, counts.share, 2)
    dn = digit_null(counts, significant_digit(counts.count, 2), probs, rng, replicates)
    label = "Benford's second-digit law"
    components = (
        _mean_component("second_digit_mean", dn, BENFORD_SECOND, label),
        _chi2_component("second_digit_chi2", dn, BENFORD_SECOND, label),
    )
    details = _details(dn, BENFORD_SECOND, min_expected)
    return TestResult(
        "second_digit", title, SECOND_DIGIT_CITATION, null, components, "second_digit_mean",
        caveats=SECOND_DIGIT_CAVEATS, details=details,
    )  # fmt: skip
