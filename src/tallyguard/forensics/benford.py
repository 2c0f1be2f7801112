"""First-digit Benford's law on precinct counts: a labelled negative example, not a test.

The viral claim compares the first digits of each candidate's precinct counts with
Benford's law P(d) = log10(1 + 1/d), d = 1..9, by a chi-square with 8 degrees of
freedom. On precinct counts the first digit is set by the distribution of precinct
sizes times a share that varies little within a city, so counts span about one order of
magnitude and Benford's law has no reason to hold (Mebane 2020, "Inappropriate
Applications of Benford's Law Regularities to Some Data from the 2020 Presidential
Election in the United States"). Deckert, Myagkov & Ordeshook (2011, Political
Analysis 19(3):245–268) find its verdicts on clean and manipulated elections no better
than a coin toss.

This module computes the claim exactly as it is made (``TestResult.valid`` is False, so
its p-value never enters a multiplicity correction) and beside it what a clean binomial
election with the same unit sizes and shares produces (``size_matched_first_digits``),
and how often the claim would "reject" such a clean election (``claim_explanation``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from tallyguard.forensics.digit_laws import (
    DIGITS,
    DigitNull,
    IncludedCounts,
    chi_square,
    digit_null,
    significant_digit,
    significant_digit_probabilities,
)
from tallyguard.forensics.result import Component, TestResult, monte_carlo_p_value
from tallyguard.forensics.table import FloatArray, IntArray, UnitTable


def _benford_first_digit() -> FloatArray:
    law: FloatArray = np.zeros(10)
    law[1:] = np.log10(1.0 + 1.0 / DIGITS[1:])
    return law


#: Benford's first-digit law P(d) = log10(1 + 1/d) in columns 1..9 (column 0 is 0).
BENFORD_FIRST: FloatArray = _benford_first_digit()
FIRST_DIGITS = slice(1, 10)
CITATION = (
    "Claim examined: first-digit Benford's law on precinct counts. Why it misleads: Deckert, J., "
    "Myagkov, M. & Ordeshook, P. C. (2011). Benford's law and the detection of election fraud. "
    "Political Analysis 19(3):245–268; Mebane, W. R. Jr. (2020). Inappropriate applications of "
    "Benford's law regularities to some data from the 2020 presidential election in the United "
    "States."
)
NULL = (
    "The claim's null: first digits of each choice's counts (at least 1 vote) follow Benford's "
    "law P(d) = log10(1 + 1/d); precinct counts have no reason to, so this is not a valid null."
)
CAVEATS = (
    "Not a test: shown only to explain why first-digit Benford claims on precinct counts "
    "mislead. Its p-value never enters the multiplicity correction.",
    "The first digit of a precinct count is set by the precinct sizes and the choice's share: "
    "see size_matched_chi2 (observed against a clean binomial election with the same sizes and "
    "shares) and null_vs_benford_chi2 (how far that clean election is from Benford).",
    "claim_false_positive_rate is the share of simulated clean elections, with these unit "
    "sizes and shares, that the Benford chi-square rejects at alpha.",
)


@dataclass(frozen=True)
class FirstDigitNull:
    """First digits of one choice's counts (≥ 1) beside a clean binomial election's.

    ``observed`` and ``expected`` are counts per digit 0..9 (column 0 is 0); ``expected``
    is exact; ``simulated`` (replicates, 10) draws one first digit per count from each
    unit's exact Binomial(ballots cast, share) first-digit law given K ≥ 1.
    """

    choice: str
    observed: IntArray
    expected: FloatArray
    simulated: IntArray

    @property
    def n_counts(self) -> int:
        return int(self.observed.sum())

    def digits_null(self) -> DigitNull:
        return DigitNull(
            (self.choice,), self.observed[None, :], self.expected[None, :], self.simulated[:, None]
        )


def shrunk_share(trials: IntArray, count: IntArray) -> FloatArray:
    """Empirical-Bayes share of each unit: (k + a)/(n + a + b) under a Beta(a, b) prior.

    The prior is fitted to all units of one choice by the method of moments (mean share
    Σk/Σn; between-unit variance = variance of k/n less the mean binomial variance), as in
    the beta-binomial nulls of Rozenas (2017, Political Analysis 25(1):41–56). First digits
    use counts from 1 vote up, where k/n of a count kept because it is not 0 overstates a
    small choice's share; shrinking towards the choice's overall share removes most of
    that bias, while a choice whose shares really vary keeps about k/n (a + b is small).
    """
    n, k = np.asarray(trials, dtype=np.float64), np.asarray(count, dtype=np.float64)
    mean = float(k.sum() / max(n.sum(), 1.0))
    if n.size == 0 or mean <= 0.0 or mean >= 1.0:
        out: FloatArray = k / np.maximum(n, 1.0)
        return out
    between = float(np.var(k / n) - np.mean(mean * (1.0 - mean) / n))
    prior = mean * (1.0 - mean) / max(between, 1e-12) - 1.0  # a + b
    prior = min(max(prior, 0.0), 1e12)
    shrunk: FloatArray = (k + prior * mean) / (n + prior)
    return shrunk


def first_digit_counts(table: UnitTable, choice: str) -> IncludedCounts:
    """One choice's counts of at least 1 vote, trials max(ballots cast, votes), shrunk shares."""
    votes = table.votes[choice]
    trials = np.maximum(table.ballots_cast, votes)
    share = np.zeros(table.n)
    voted = trials > 0
    share[voted] = shrunk_share(trials[voted], votes[voted])
    keep = votes >= 1
    zeros = np.zeros(int(keep.sum()), dtype=np.int64)
    return IncludedCounts((choice,), trials[keep], votes[keep], zeros, share[keep])


def size_matched_first_digits(
    table: UnitTable, choice: str, rng: np.random.Generator, replicates: int = 1000
) -> FirstDigitNull:
    """The first-digit distribution a clean binomial election with these units produces.

    Each count of at least 1 is Binomial(ballots cast, share) given K ≥ 1, the share
    being votes / ballots cast shrunk towards the choice's overall share
    (``shrunk_share``); its first-digit law is exact (binomial pmf summed by digit).
    """
    counts = first_digit_counts(table, choice)
    probs = significant_digit_probabilities(counts.trials, counts.share, 1)
    dn = digit_null(counts, significant_digit(counts.count, 1), probs, rng, replicates)
    return FirstDigitNull(choice, dn.observed[0], dn.expected[0], dn.simulated[:, 0])


@dataclass(frozen=True)
class BenfordClaim:
    """The Benford claim on one choice's counts, and what a clean election says about it."""

    choice: str
    n_counts: int
    benford_chi2: float
    benford_p_value: float
    size_matched_chi2: float
    size_matched_p_value: float
    null_vs_benford_chi2: float
    claim_false_positive_rate: float
    alpha: float
    replicates: int

    def to_json(self) -> dict[str, Any]:
        return {
            "n_counts": self.n_counts,
            "benford_chi2": self.benford_chi2,
            "benford_df": 8,
            "benford_p_value": self.benford_p_value,
            "size_matched_chi2": self.size_matched_chi2,
            "size_matched_p_value": self.size_matched_p_value,
            "null_vs_benford_chi2": self.null_vs_benford_chi2,
            "claim_false_positive_rate": self.claim_false_positive_rate,
            "alpha": self.alpha,
            "replicates": self.replicates,
        }


def explain(null: FirstDigitNull, alpha: float = 0.05) -> BenfordClaim:
    """The claim's chi-square and p-value, and three numbers that put it in context.

    * ``size_matched_chi2``: observed first digits against the clean election's exact
      expected counts, with its Monte-Carlo p-value (upper tail).
    * ``null_vs_benford_chi2``: the clean election's expected counts against Benford's —
      the chi-square the claim expects from a clean election with these units.
    * ``claim_false_positive_rate``: share of simulated clean elections the claim rejects.
    """
    total = null.n_counts
    benford = BENFORD_FIRST * total
    chi2 = float(chi_square(null.observed, benford))
    matched = float(chi_square(null.observed, null.expected))
    simulated_p = stats.chi2.sf(chi_square(null.simulated, benford), 8)
    return BenfordClaim(
        choice=null.choice,
        n_counts=total,
        benford_chi2=chi2,
        benford_p_value=float(stats.chi2.sf(chi2, 8)),
        size_matched_chi2=matched,
        size_matched_p_value=monte_carlo_p_value(
            matched, chi_square(null.simulated, null.expected)
        ),
        null_vs_benford_chi2=float(chi_square(null.expected, benford)),
        claim_false_positive_rate=float(np.mean(simulated_p < alpha)),
        alpha=alpha,
        replicates=int(null.simulated.shape[0]),
    )


def claim_explanation(
    table: UnitTable,
    choice: str,
    rng: np.random.Generator,
    replicates: int = 1000,
    alpha: float = 0.05,
) -> BenfordClaim:
    """``explain`` on ``size_matched_first_digits(table, choice, rng, replicates)``."""
    return explain(size_matched_first_digits(table, choice, rng, replicates), alpha)


def run(
    table: UnitTable,
    *,
    rng: np.random.Generator,
    replicates: int = 1000,
    choices: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> TestResult:
    """First-digit Benford claim per choice (labelled invalid), with its explanation.

    One component per choice, ``first_digit:<choice>``, whose p-value is the claim's own
    (chi-square, 8 df, against Benford); the headline is the leader's component. Details
    hold the observed, clean-election and Benford first-digit distributions per choice.
    """
    names = tuple(table.choices if choices is None else choices)
    components, plots = [], {}
    for name in names:
        null = size_matched_first_digits(table, name, rng, replicates)
        if null.n_counts == 0:
            skipped = "no vote count of at least 1"
            components.append(Component(f"first_digit:{name}", {"n_counts": 0}, None, skipped))
            continue
        claim = explain(null, alpha)
        components.append(Component(f"first_digit:{name}", claim.to_json(), claim.benford_p_value))
        plots[name] = null.digits_null().distribution(BENFORD_FIRST, FIRST_DIGITS)
    headline = table.leader if table.leader in names else names[0]
    details: dict[str, Any] = {
        "distribution": plots.get(headline),
        "by_choice": plots,
        "inclusion": "counts of at least 1 vote",
        "replicates": replicates,
    }
    return TestResult(
        name="benford_first_digit",
        title="First-digit Benford's law (negative example: not a valid test)",
        citation=CITATION,
        null=NULL,
        components=tuple(components),
        headline=f"first_digit:{headline}",
        valid=False,
        caveats=CAVEATS,
        details=details,
    )
