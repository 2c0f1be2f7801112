"""Betting martingale for ballot-level comparison audits, with adaptive near-Kelly bets.

Waudby-Smith, I. & Ramdas, A. (2024). "Estimating means of bounded random
variables by betting." JRSS-B 86(1), 1-27: the betting martingale, eq. (34)
(without replacement: Waudby-Smith & Ramdas, and Stark 2023, ALPHA eq. 10).
Spertus, J.V. (2023). "COBRA: Comparison-Optimal Betting for Risk-limiting
Audits." arXiv:2304.01010: the Kelly-optimal bet for overstatement assorters
given error rates, and adapting the assumed rates to the sample.

The test of "mean(B) <= 1/2" for overstatement-assorter values ``x_j = B_j``
in [0, u], ``u = 2 eta``, ``eta`` the no-error value ``1/(2 - v/u_A)``, is

    M_t = prod_{j<=t} (1 + lam_j (x_j - mu_j))
        = prod_{j<=t} (1 + kappa_j (x_j / mu_j - 1)),   kappa_j = lam_j mu_j in [0, 1),

with ``mu_j`` the null mean of the undrawn cards (1/2 with replacement). Any
predictable ``lam_j`` in [0, 1/mu_j] keeps M a nonnegative supermartingale
under the null, so the bets below affect only efficiency, never validity.

The bet (COBRA, generalised to whatever values B takes): before draw j,
``lam_j`` maximises the expected log-growth ``sum_k w_jk log(1 + lam (s_k - mu_j))``
under a predictable estimate of the distribution of B, namely ``d`` pseudo-draws
from a prior (no error with probability ``1 - p1 - p2``: B = eta; a one-vote
overstatement with probability p1: B = eta/2; a two-vote overstatement with
probability p2: B = 0) plus the j - 1 values already drawn (the shrinkage of
ALPHA's ShrinkTrunc, applied to the error rates as in COBRA's adaptive
bets). The prior's positive mass at B = 0 keeps ``kappa_j < 1``, and it is
further capped at ``max_fraction`` < 1 (hedging), so one two-vote overstatement
(B = 0) multiplies the wealth by at least ``1 - max_fraction`` and never zeroes
it. With no discrepancies the bet approaches ``max_fraction``: at diluted
margin 1 % and alpha 5 % the audit stops after 605 draws, against 598 for the
all-in bet (``ceil(ln(1/alpha) / ln(2/(2 - v)))``, which no test can beat) and
622 for Kaplan-Markov.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tallyguard.audit.risk.alpha import is_comparison
from tallyguard.audit.risk.base import (
    NULL_MEAN,
    Floats,
    betting_log_wealth,
    cannot_confirm,
    check_sample,
    null_means,
    sequential_p_values,
)

MAX_SUPPORT = 32
"""Beyond this many distinct values, the bet is estimated from values rounded down."""

_BISECTIONS = 48


def _support(values: Floats, prior_points: Floats, u: float) -> tuple[Floats, NDArray[np.int64]]:
    """Support points and the index of each draw's point (rounded down when too many)."""
    est = values
    if np.unique(values).size > MAX_SUPPORT:
        step = u / MAX_SUPPORT
        est = np.floor(values / step) * step  # rounding down only makes bets smaller
    points = np.unique(np.concatenate((est, prior_points)))
    return points, np.searchsorted(points, est).astype(np.int64)


def kelly_bets(
    values: Floats,
    mu: Floats,
    *,
    u: float,
    eta: float,
    p1: float,
    p2: float,
    d: float,
    max_fraction: float,
) -> Floats:
    """Predictable bets ``lam_j``: argmax of the estimated expected log-growth, capped.

    Solved for all j at once by bisection on the (decreasing) derivative
    ``g(lam) = sum_k w_jk z_jk / (1 + lam z_jk)``, ``z_jk = s_k - mu_j``.
    """
    prior_points = np.array([eta, eta / 2.0, 0.0])
    prior_mass = np.array([1.0 - p1 - p2, p1, p2])
    points, index = _support(values, prior_points, u)
    n, k = values.size, points.size
    onehot = np.zeros((n, k))
    onehot[np.arange(n), index] = 1.0
    seen = np.vstack((np.zeros((1, k)), np.cumsum(onehot, axis=0)[:-1]))
    weights = seen + d * np.bincount(
        np.searchsorted(points, prior_points), weights=prior_mass, minlength=k
    )
    z = points[None, :] - mu[:, None]
    usable = (mu > 0.0) & (mu < u)
    safe_mu = np.where(usable, mu, 1.0)
    hi = max_fraction / safe_mu

    def slope(lam: Floats) -> Floats:
        result: Floats = (weights * z / (1.0 + lam[:, None] * z)).sum(axis=1)
        return result

    lo = np.zeros(n)
    up = hi.copy()
    at_zero, at_cap = slope(lo), slope(up)
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + up)
        rising = slope(mid) > 0.0
        lo = np.where(rising, mid, lo)
        up = np.where(rising, up, mid)
    lam = np.where(at_zero <= 0.0, 0.0, np.where(at_cap >= 0.0, hi, lo))
    bets: Floats = np.where(usable, lam, 0.0)
    return bets


def betting_p_values(
    x: Floats,
    *,
    N: int | None,  # noqa: N803
    u: float,
    eta: float,
    p1: float = 1e-3,
    p2: float = 1e-4,
    d: float = 100.0,
    max_fraction: float = 0.99,
) -> Floats:
    """Sequential p-values of the adaptive betting martingale after each draw.

    Args:
        x: Overstatement-assorter values B in draw order, in [0, u].
        N: Cards in the population; None when drawn with replacement.
        u: Upper bound of B, ``2 / (2 - v/u_A)``.
        eta: No-error value of B, ``1 / (2 - v/u_A)`` (at most 1/2: p = 1).
        p1, p2: Assumed rates of one- and two-vote overstatements (the prior).
        d: Weight of the prior, in draws.
        max_fraction: Cap on ``kappa_j = lam_j mu_j``, in (0, 1).
    """
    values = check_sample(x, u=u, N=N)
    if not (0.0 < max_fraction < 1.0):
        raise ValueError(f"max_fraction must lie strictly between 0 and 1, not {max_fraction!r}")
    if p1 < 0 or p2 <= 0 or p1 + p2 >= 1 or d <= 0:
        raise ValueError("need rates p1 >= 0, p2 > 0 with p1 + p2 < 1, and a prior weight d > 0")
    if eta > u * (1 + 1e-12):
        raise ValueError(f"eta = {eta!r} exceeds the upper bound u = {u!r}")
    if eta <= NULL_MEAN or values.size == 0:
        return cannot_confirm(values.size)
    mu = null_means(values, N)
    lam = kelly_bets(values, mu, u=u, eta=eta, p1=p1, p2=p2, d=d, max_fraction=max_fraction)
    return sequential_p_values(betting_log_wealth(values, lam, mu, u=u, N=N))


def require_comparison(method: str, u: float, eta: float) -> None:
    """ValueError unless (u, eta) are an overstatement assorter's (``u = 2 eta > 1``)."""
    if not is_comparison(u, eta):
        raise ValueError(
            f"{method} is for ballot-level comparison audits: pass overstatement-assorter "
            f"values B with u = Assertion.overstatement_upper_bound and eta = "
            f"Assertion.noerror (so u = 2 eta > 1); got u = {u!r}, eta = {eta!r}"
        )


def betting(x: Floats, *, N: int | None, u: float, eta: float) -> Floats:  # noqa: N803
    """Registry adapter (``METHODS["betting"]``): comparison B values only."""
    if eta <= NULL_MEAN:
        return cannot_confirm(check_sample(x, u=u, N=N).size)
    require_comparison("the betting martingale", u, eta)
    return betting_p_values(x, N=N, u=u, eta=eta)
