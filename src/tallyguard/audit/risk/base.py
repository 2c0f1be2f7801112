"""What every risk-measuring function shares: input checks, null means, p-values.

Every method in this package computes a test (super)martingale ``M_t`` for the
null hypothesis "the mean of the population of assorter values is at most
1/2" and reports the sequential p-value after each draw,

    p_t = min(1, 1 / max_{s <= t} M_s),

which is valid at any stopping time by Ville's inequality (Stark 2023, "ALPHA:
Audit that learns from previously hand-audited ballots", Ann. Appl. Stat.
17(1), eq. 9; Waudby-Smith & Ramdas 2024, JRSS-B). The martingales are
formed in log space (``log M_t`` as a cumulative sum) so that a long sample
cannot overflow, and ``+inf`` (the null is certainly false: the sample alone
already exceeds the largest total the null allows) or ``-inf`` (the wealth is
gone, or the null is certainly true) never turn into NaN.

Sampling without replacement (Stark 2023, §2.2.1): if the population of
N cards had mean exactly 1/2, the mean of the cards *not yet drawn* before
draw j would be ``mu_j = (N/2 - S_{j-1}) / (N - j + 1)`` with ``S_{j-1}`` the
sum of the first j - 1 draws; with replacement ``mu_j = 1/2``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

Floats = NDArray[np.float64]

NULL_MEAN = 0.5
"""Every SHANGRLA assertion tests "mean <= 1/2"."""

ROUNDING = 1e-12
"""Relative slack for values computed in floating point (e.g. ``2 * noerror``)."""

SUM_SLACK = 1e-9
"""Relative slack for running sums compared with ``N t``.

A cumulative sum of a thousand B values such as 1/1.9 carries rounding errors
of order 1e-13; without this slack a population with mean exactly 1/2 could be
declared "certainly above 1/2" (or its undrawn cards "certainly below 0") by
rounding alone, confirming a tied contest once the last cards are drawn.
"""


def sequential_p_values(log_wealth: ArrayLike) -> Floats:
    """``min(1, 1 / max_{s<=t} M_s)`` from ``log M_t`` (any of -inf, +inf, NaN allowed).

    NaN (which only an undefined bet can produce) counts as a wealth of zero,
    so it can never lower a p-value; +inf gives p = 0 from then on.
    """
    lw = np.asarray(log_wealth, dtype=np.float64)
    if lw.size == 0:
        return np.ones(0)
    lw = np.where(np.isnan(lw), -np.inf, lw)
    best = np.maximum.accumulate(np.maximum(lw, 0.0))
    p: Floats = np.exp(-best)
    return p


def last_p_value(p_values: ArrayLike) -> float:
    """The p-value after the last draw; 1 before any draw (an empty sample)."""
    p = np.asarray(p_values, dtype=np.float64)
    return float(p[-1]) if p.size else 1.0


def check_sample(x: ArrayLike, *, u: float, N: int | None = None) -> Floats:  # noqa: N803
    """Draws as a float array in [0, u]; ValueError naming the first bad draw.

    Values within a relative 1e-12 of the ends (floating-point rounding, e.g.
    a two-vote understatement ``2 * noerror`` against ``u = 2 / (2 - v)``) are
    snapped onto them.
    """
    if not (math.isfinite(u) and u > 0):
        raise ValueError(f"the upper bound u must be a positive number, not {u!r}")
    values = np.asarray(x, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"draws must be a 1-D sequence, got shape {values.shape}")
    slack = ROUNDING * max(u, 1.0)
    bad = np.flatnonzero(~np.isfinite(values) | (values < -slack) | (values > u + slack))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"draw x[{i}] = {float(values[i])!r} lies outside [0, u] = [0, {u!r}]"
            + (f" ({bad.size} draws do)" if bad.size > 1 else "")
            + "; pass assorter values (polling) or overstatement-assorter values B with "
            "u = Assertion.overstatement_upper_bound (comparison)"
        )
    if N is not None:
        check_population(N, values.size)
    clipped: Floats = np.clip(values, 0.0, u)
    return clipped


def check_population(N: int, n: int) -> None:  # noqa: N803
    """N must be a positive whole number of cards, at least the number of draws."""
    if isinstance(N, bool) or not isinstance(N, int | np.integer) or N <= 0:
        raise ValueError(
            f"population size N must be a positive whole number (or None for sampling "
            f"with replacement), not {N!r}"
        )
    if n > N:
        raise ValueError(
            f"{n} draws without replacement from a population of N = {N} cards: a sample "
            "cannot be larger than the population (pass N=None if it was drawn with "
            "replacement)"
        )


def null_means(x: Floats, N: int | None, t: float = NULL_MEAN) -> Floats:  # noqa: N803
    """``mu_j``: the mean of the undrawn cards before draw j if the population mean is t.

    Stark (2023), ALPHA §2.2.1: ``(N t - S_{j-1}) / (N - j + 1)`` without
    replacement, ``t`` with replacement (N None). Values can leave [0, u]:
    below 0 the null is certainly false, above u certainly true.
    """
    if N is None:
        return np.full(x.size, t)
    before = np.concatenate(([0.0], np.cumsum(x)[:-1]))
    remaining = N - np.arange(x.size, dtype=np.float64)
    mu: Floats = (N * t - before) / remaining
    return mu


def certainly_false(
    x: Floats,
    N: int | None,  # noqa: N803
    t: float = NULL_MEAN,
) -> NDArray[np.bool_]:
    """After draw j, do the draws alone already sum to more than N t (null surely false)?"""
    if N is None:
        return np.zeros(x.size, dtype=np.bool_)
    total = N * t
    flags: NDArray[np.bool_] = np.cumsum(x) > total + SUM_SLACK * max(total, 1.0)
    return flags


def undrawn_exhausted(
    x: Floats,
    N: int | None,  # noqa: N803
    t: float = NULL_MEAN,
) -> NDArray[np.bool_]:
    """Before draw j, does the null leave nothing (up to rounding) for the undrawn cards?

    Then they must all be 0 if the null holds: a draw of 0 is no evidence either
    way, a larger one proves the null false (:func:`certainly_false`).
    """
    if N is None:
        return np.zeros(x.size, dtype=np.bool_)
    total = N * t
    before = np.concatenate(([0.0], np.cumsum(x)[:-1]))
    flags: NDArray[np.bool_] = total - before <= SUM_SLACK * max(total, 1.0)
    return flags


def betting_log_wealth(
    x: Floats,
    lam: Floats,
    mu: Floats,
    *,
    u: float,
    N: int | None,  # noqa: N803
) -> Floats:
    """``log M_t`` of ``M_t = prod_j (1 + lam_j (x_j - mu_j))`` with the boundary cases.

    Waudby-Smith & Ramdas (2024), eq. (34); Stark (2023), eq. (10). ``lam_j``
    must lie in [0, 1/mu_j] and be predictable. Once the draws sum to more than
    N/2 the null is certainly false (log M = +inf from then on); once
    ``mu_j >= u`` it is certainly true (log M = -inf from then on: no later draw
    can reject); while the null leaves nothing for the undrawn cards
    (``mu_j = 0`` up to rounding) no bet is placed.
    """
    idle = undrawn_exhausted(x, N)
    sure_true = mu >= u
    lam = np.where(idle | sure_true, 0.0, lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = 1.0 + lam * (x - mu)
        log_terms = np.log(np.maximum(factor, 0.0))
    log_terms = np.where(np.isnan(log_terms), 0.0, log_terms)
    lw: Floats = np.cumsum(log_terms)
    # The null is surely true from the first mu_j >= u on: no later draw may reject.
    lw = np.where(np.maximum.accumulate(sure_true), -np.inf, lw)
    proven = np.maximum.accumulate(certainly_false(x, N))
    result: Floats = np.where(proven, np.inf, lw)
    return result


def cannot_confirm(n: int) -> Floats:
    """p-values of an assertion whose reported margin is not positive: 1 throughout."""
    return np.ones(n)
