"""Kaplan-Markov p-values for ballot-level comparison audits ("super-simple").

Stark, P.B. (2010). "Super-simple simultaneous single-ballot risk-limiting
audits." EVT/WOTE '10, eqs. (9)-(11); Stark (2009), "Risk-limiting
post-election audits: P-values from common probability inequalities", IEEE
TIFS 4(4) (the Kaplan-Markov bound).

With diluted margin v (the smallest margin in votes over the cards that may
contain the contest), error-inflation factor gamma > 1 and a sample of n
ballots with o1, o2 one- and two-vote overstatements and u1, u2 one- and
two-vote understatements, the risk is (eq. 10)

    P = (1 - v/(2 gamma))^n (1 - 1/(2 gamma))^-o1 (1 - 1/gamma)^-o2
        (1 + 1/(2 gamma))^-u1 (1 + 1/gamma)^-u2,

as in rlacalc's ``KM_P_value``, Arlo's ``supersimple.compute_risk`` and
ColoradoRLA, with gamma = 1.03905. Arlo counts a ballot that cannot be found
(or that has no CVR) as a two-vote overstatement and ignores understatements
(``compute_risk`` clips them to 0): pass ``u1 = u2 = 0`` for its figures.

Sequential form on overstatement-assorter values (for the registry): a card
with overstatement omega (in units of the assorter's bound u_A) has
``B = (1 - omega/u_A) * eta``, eta the no-error value ``1/(2 - v/u_A)``, and
contributes the factor ``(1 - (v/u_A)/(2 gamma)) / (1 - (omega/u_A)/gamma)``,
which for a pair assorter (omega/u_A = e/2 for an e-vote overstatement) is the
factor of eq. (10). Algebraically this factor is ``(1/2 + g)/(B + g)`` with
``g = eta (gamma - 1)``: the inverse of a betting martingale with fixed bet
``lam = 1/(1/2 + g) < 2`` (SHANGRLA's ``NonnegMean.kaplan_markov`` with that g),
so the sequential p-value ``min(1, min_t P_t)`` is anytime-valid. The method
assumes sampling with replacement; on a sample drawn without replacement it
is conservative, so N is accepted and ignored.
"""

from __future__ import annotations

import math

import numpy as np

from tallyguard.audit.risk.base import (
    NULL_MEAN,
    Floats,
    cannot_confirm,
    check_sample,
    sequential_p_values,
)
from tallyguard.audit.risk.betting import require_comparison

GAMMA = 1.03905
"""The error-inflation factor of Stark's tools, Arlo, ColoradoRLA and rlacalc."""


def km_p_value(
    n: int,
    o1: int = 0,
    o2: int = 0,
    u1: int = 0,
    u2: int = 0,
    *,
    diluted_margin: float,
    gamma: float = GAMMA,
) -> float:
    """Kaplan-Markov risk after n ballots with the given discrepancy counts (eq. 10), <= 1.

    Equals ``min(1, rlacalc.KM_P_value(n, gamma, diluted_margin, o1, o2, u1, u2))``
    (note rlacalc's argument order: n, gamma, margin, o1, o2, u1, u2). A
    diluted margin of 0 or less (a tie or a loss) gives 1; n = 0 gives 1.
    """
    counts = (n, o1, o2, u1, u2)
    if any(int(c) != c or c < 0 for c in counts):
        raise ValueError(f"sample size and discrepancy counts must be whole numbers >= 0: {counts}")
    if o1 + o2 + u1 + u2 > n:
        raise ValueError(f"{o1 + o2 + u1 + u2} discrepancies cannot occur in {n} ballots")
    if not gamma > 1.0:
        raise ValueError(f"gamma must exceed 1, not {gamma!r}")
    if not diluted_margin <= 1.0:
        raise ValueError(f"a diluted margin cannot exceed 1, got {diluted_margin!r}")
    if diluted_margin <= 0.0:
        return 1.0
    log_p = (
        n * math.log1p(-diluted_margin / (2 * gamma))
        - o1 * math.log1p(-1 / (2 * gamma))
        - o2 * math.log1p(-1 / gamma)
        - u1 * math.log1p(1 / (2 * gamma))
        - u2 * math.log1p(1 / gamma)
    )
    return math.exp(log_p) if log_p < 0 else 1.0


def km_log_wealth(x: Floats, *, eta: float, gamma: float = GAMMA) -> Floats:
    """``-log P_t`` of eq. (10), draw by draw, from B values (see module docstring)."""
    g = eta * (gamma - 1.0)
    with np.errstate(divide="ignore"):
        steps = np.log(x + g) - math.log(NULL_MEAN + g)
    lw: Floats = np.cumsum(steps)
    return lw


def km_p_values(x: Floats, *, u: float, eta: float, gamma: float = GAMMA) -> Floats:
    """Sequential Kaplan-Markov p-values after each draw of B values in [0, u]."""
    values = check_sample(x, u=u)
    if not gamma > 1.0:
        raise ValueError(f"gamma must exceed 1, not {gamma!r}")
    if eta <= NULL_MEAN or values.size == 0:
        return cannot_confirm(values.size)
    return sequential_p_values(km_log_wealth(values, eta=eta, gamma=gamma))


def kaplan_markov(x: Floats, *, N: int | None, u: float, eta: float) -> Floats:  # noqa: N803
    """Registry adapter (``METHODS["kaplan-markov"]``): comparison B values, gamma = 1.03905.

    N is checked (a sample cannot exceed it) but otherwise ignored: the test
    uses with-replacement mathematics, conservative without replacement.
    """
    values = check_sample(x, u=u, N=N)
    if eta <= NULL_MEAN:
        return cannot_confirm(values.size)
    require_comparison("Kaplan-Markov", u, eta)
    return km_p_values(values, u=u, eta=eta)
