"""ALPHA: the test supermartingale of Stark (2023) with the ShrinkTrunc estimator.

Stark, P.B. (2023). "ALPHA: Audit that Learns from Previously Hand-Audited
Ballots." Annals of Applied Statistics 17(1), 641-679. arXiv:2201.02707.

For draws ``x_j`` in [0, u] the ALPHA supermartingale is

    T_j = prod_{i<=j} ( x_i eta_i / mu_i + (u - x_i)(u - eta_i) / (u - mu_i) ) / u,

where ``mu_i`` is the mean of the undrawn cards if the null "mean <= 1/2" holds
with equality (1/2 with replacement; ``(N/2 - S_{i-1}) / (N - i + 1)`` without,
§2.2.1) and ``eta_i`` is a *predictable* estimate of the true mean, computed
from the first i - 1 draws only. Each factor equals ``1 + lam_i (x_i - mu_i)``
with ``lam_i = (eta_i / mu_i - 1) / (u - mu_i)`` (eq. 10: ALPHA is a betting
martingale), so ``eta_i`` in (mu_i, u] keeps T a nonnegative supermartingale
under the null. With ``u = 1``, x in {0, 1/2, 1}, a fixed eta and sampling
with replacement, ALPHA is BRAVO.

ShrinkTrunc (the paper's truncated shrinkage estimator): the sample mean shrunk
towards the reported mean ``eta0`` with weight d, optionally pulled towards u
with weight f/sd, then truncated into ``[mu_j + c/sqrt(d + j - 1), u - c/sqrt(d + j - 1)]``:

    eta_j = min( u(1 - eps) - e_j,
                 max( [(d eta0 + S_{j-1}) / (d + j - 1) + f u / sd_j] / (1 + f / sd_j),
                      mu_j (1 + eps) + e_j ) ),      e_j = c / sqrt(d + j - 1).

The floating-point details (the ``eps`` factors, ``sd_1 = sd_2 = 1``, the running
standard deviation of the first j - 1 draws with divisor j - 1, floored at
``minsd``) follow SHANGRLA's ``NonnegMean.shrink_trunc`` so that the p-values
agree with it to 1e-9 (tests/audit/risk/data/shangrla_alpha_vectors.json).
Where SHANGRLA special-cases the boundaries (``mu_j`` outside (0, u)) this module
declares the null certainly true or false (:mod:`tallyguard.audit.risk.base`),
which gives the same sequential p-values, except that a sample whose total
already exceeds N/2 gets p = 0 at that draw (SHANGRLA: at the next one).

For ballot-level comparison audits (overstatement assorter B with ``u = 2 eta``,
eta the no-error value) the mean of B is not what a good bet should track: B
takes the no-error value on almost every card, and the best bet is nearly "all
in". The registry therefore runs ALPHA there with the fixed alternative that
SHANGRLA's ``NonnegMean.optimal_comparison`` gives for a small assumed rate of
two-vote overstatements (:func:`optimal_comparison_eta`).
"""

from __future__ import annotations

import math

import numpy as np

from tallyguard.audit.risk.base import (
    NULL_MEAN,
    Floats,
    betting_log_wealth,
    cannot_confirm,
    check_sample,
    null_means,
    sequential_p_values,
)

EPS = float(np.finfo(float).eps)

POLLING_D = 20_000.0
"""ShrinkTrunc weight d of the registry's polling ALPHA.

SHANGRLA's default d = 100 follows the sample mean quickly; when the reported
shares are right, that noise costs draws against BRAVO, whose bet is then the
optimal one. With d = 20,000 the bet stays near the reported mean for the sample
sizes polling audits reach, so sampling without replacement makes ALPHA need no
more draws than BRAVO on average (seeded simulation, same draws for both,
two-choice contest, mean draws to reach 5 %, N = 100,000: margin 2 %: BRAVO
13,577, d = 1,000 14,124, d = 20,000 12,425; 5 %: 2,343, 2,527, 2,302; 10 %:
603, -, 600; 20 %: 151.5, -, 151.3; N = 10,000, 10 %: 582, -, 552), while it
still learns when they are wrong (reported 20 %, true 10 %: BRAVO 6,823,
d = 1,000 848, d = 20,000 1,772; reported 10 %, true 6 %: 2,652, 1,799, 2,201).
"""


def shrink_trunc(
    x: Floats,
    *,
    N: int | None,  # noqa: N803
    u: float,
    eta0: float,
    c: float | None = 0.5,
    d: float = 100.0,
    f: float = 0.0,
    minsd: float = 1e-6,
) -> Floats:
    """ShrinkTrunc ``eta_j`` for every draw j (Stark 2023), from the draws before j only.

    ``c=None`` means SHANGRLA's default ``(eta0 - 1/2)/2 - eps``; a ``c`` so large
    that ``u - c < 1/2 + c`` (e.g. 0.5 with u = 1) is replaced by ``(u - c)/2``,
    as SHANGRLA does, so that the truncation interval is not empty.
    """
    t = NULL_MEAN
    if c is None:
        c = (eta0 - t) / 2 - EPS
    if u - c < t + c:
        c = (u - c) / 2
    n = x.size
    j = np.arange(1, n + 1, dtype=np.float64)
    before = np.concatenate(([0.0], np.cumsum(x)[:-1]))
    mu = null_means(x, N, t)
    if f != 0.0:
        shifted = x - (x[0] if n else 0.0)
        k = np.arange(1, n + 1, dtype=np.float64)
        mean = np.cumsum(shifted) / k
        var = np.maximum(np.cumsum(shifted * shifted) / k - mean * mean, 0.0)
        sd = np.concatenate(([1.0], np.maximum(np.sqrt(var), minsd)[:-1]))
        if n > 1:
            sd[1] = 1.0
        weighted = ((d * eta0 + before) / (d + j - 1) + u * f / sd) / (1 + f / sd)
    else:
        weighted = (d * eta0 + before) / (d + j - 1)
    tol = c / np.sqrt(d + j - 1)
    eta: Floats = np.minimum(u * (1 - EPS) - tol, np.maximum(weighted, mu * (1 + EPS) + tol))
    return eta


def alpha_log_wealth(x: Floats, eta: Floats, *, N: int | None, u: float) -> Floats:  # noqa: N803
    """``log T_j`` of the ALPHA supermartingale for given predictable ``eta_j`` (Stark 2023).

    Any ``eta_j <= mu_j`` is replaced by "no bet" (a factor of 1): a bet on a
    mean below the null mean is not a supermartingale for "mean <= 1/2".
    """
    mu = null_means(x, N)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(eta > mu, (eta / mu - 1.0) / (u - mu), 0.0)
    lam = np.where(np.isfinite(lam) & (lam > 0), lam, 0.0)
    return betting_log_wealth(x, lam, mu, u=u, N=N)


def alpha_p_values(
    x: Floats,
    *,
    N: int | None,  # noqa: N803
    u: float,
    eta0: float,
    c: float | None = 0.5,
    d: float = 100.0,
    f: float = 0.0,
    minsd: float = 1e-6,
) -> Floats:
    """Sequential ALPHA-ShrinkTrunc p-values for "mean <= 1/2" after each draw.

    Equals SHANGRLA ``NonnegMean(test=alpha_mart, estim=shrink_trunc, N=N or inf,
    u=u, eta=eta0, t=1/2, c=c, d=d, f=f, minsd=minsd)`` (its history made
    non-increasing). Args:
        x: Assorter values in draw order, in [0, u].
        N: Cards in the population; None when drawn with replacement.
        u: Upper bound of the assorter.
        eta0: The reported (alternative) mean; ``eta0 <= 1/2`` cannot confirm
            anything and gives p = 1 throughout.
        c, d, f, minsd: ShrinkTrunc tuning (Stark 2023; SHANGRLA's names).
    """
    values = check_sample(x, u=u, N=N)
    if eta0 > u * (1 + 1e-12):
        raise ValueError(f"eta0 = {eta0!r} exceeds the upper bound u = {u!r}")
    if eta0 <= NULL_MEAN or values.size == 0:
        return cannot_confirm(values.size)
    if d <= 0 or f < 0 or minsd <= 0:
        raise ValueError("ShrinkTrunc needs d > 0, f >= 0 and minsd > 0")
    eta = shrink_trunc(values, N=N, u=u, eta0=eta0, c=c, d=d, f=f, minsd=minsd)
    return sequential_p_values(alpha_log_wealth(values, eta, N=N, u=u))


def optimal_comparison_eta(u: float, p2: float = 1e-4) -> float:
    """SHANGRLA ``NonnegMean.optimal_comparison``: eta for B values with 2-vote rate p2.

    ``eta = (1 - u (1 - p2)) / (2 - 2u) + u (1 - p2) - 1/2`` (the alternative
    that makes the ALPHA bet Kelly-optimal when a fraction p2 of the cards are
    two-vote overstatements, B = 0, and the rest are error-free; Stark 2023, on
    comparison audits). When the margin is so small that the assumed rate p2
    would erase it (roughly v/(2 u_A) < p2), the formula gives eta <= 1/2: the
    Kelly bet is then no bet at all, and the p-values stay at 1.
    """
    if not u > 1.0:
        raise ValueError(f"overstatement-assorter bound u = {u!r} must exceed 1 (a margin > 0)")
    return (1 - u * (1 - p2)) / (2 - 2 * u) + u * (1 - p2) - 0.5


def alpha_fixed_p_values(
    x: Floats,
    *,
    N: int | None,  # noqa: N803
    u: float,
    eta: float,
) -> Floats:
    """ALPHA p-values with the same alternative ``eta`` before every draw (Stark 2023)."""
    values = check_sample(x, u=u, N=N)
    if eta <= NULL_MEAN or values.size == 0:
        return cannot_confirm(values.size)
    etas = np.full(values.size, min(eta, u))
    return sequential_p_values(alpha_log_wealth(values, etas, N=N, u=u))


def is_comparison(u: float, eta: float) -> bool:
    """Do (u, eta) describe an overstatement assorter: ``u = 2 eta`` with a positive margin?

    Polling assorters have ``u <= 1`` whenever the share to win is at least
    1/2, while B has ``u = 2 / (2 - v/u_A) > 1`` for every positive margin v.
    """
    return u > 1.0 and math.isclose(u, 2.0 * eta, rel_tol=1e-9)


def alpha(x: Floats, *, N: int | None, u: float, eta: float) -> Floats:  # noqa: N803
    """Registry adapter (``METHODS["alpha"]``).

    Polling (assorter values, eta the reported mean): ALPHA-ShrinkTrunc with
    ``eta0 = eta``, c = 0.5 and d = :data:`POLLING_D`. Comparison (B values,
    ``u = 2 eta``): ALPHA with the fixed ``optimal_comparison`` alternative for
    p2 = 1e-4 (ShrinkTrunc would track the mean of B, a poor bet there).
    """
    if is_comparison(u, eta):
        return alpha_fixed_p_values(x, N=N, u=u, eta=optimal_comparison_eta(u))
    return alpha_p_values(x, N=N, u=u, eta0=eta, d=POLLING_D)
