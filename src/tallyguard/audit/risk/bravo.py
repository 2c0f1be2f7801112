"""BRAVO: Wald's SPRT for ballot-polling audits, with replacement.

Lindeman, M., Stark, P.B. & Yates, V.S. (2012). "BRAVO: Ballot-polling
Risk-limiting Audits to Verify Outcomes." EVT/WOTE '12 (Wald's SPRT for
each winner-loser pair).

For a (winner w, loser l) pair with reported share ``s = V_w / (V_w + V_l)`` of
the pair's votes, the test statistic starts at T = 1 and, for each ballot drawn
(with replacement),

* a vote for w multiplies T by ``2 s`` (``s / (1/2)``),
* a vote for l multiplies T by ``2 (1 - s)``,
* any other ballot leaves it unchanged.

It is the likelihood ratio of the simple alternative "w's share is s" against
the null "w's share is 1/2"; the risk after n draws is ``min(1, 1/T_n)`` and
the sequential p-value ``min(1, 1/max_{m<=n} T_m)`` (Wald 1945; Ville's
inequality). In SHANGRLA terms (Stark 2020, §2.1) the pair assorter
``A = (b_w - b_l + 1)/2`` takes the values 1, 0, 1/2 on these three kinds of
ballot, and BRAVO is the betting martingale ``prod (1 + (2s - 1)(2x - 1))``.

Sampling without replacement: BRAVO ignores N. Applying with-replacement
mathematics to a sample drawn without replacement is conservative (the
reverse is not valid; see ``docs/audit-methods.md``, pitfall P3), so the
registry adapter accepts a finite N and ignores it.
"""

from __future__ import annotations

import math

import numpy as np

from tallyguard.audit.risk.base import Floats, cannot_confirm, check_sample, sequential_p_values

_ATOL = 1e-12


def _log_factors(winner_share: float) -> tuple[float, float]:
    """``log(2 s)`` and ``log(2 (1 - s))``; -inf for a share of exactly 1."""
    log_win = math.log(2.0 * winner_share)
    log_lose = math.log(2.0 * (1.0 - winner_share)) if winner_share < 1.0 else -math.inf
    return log_win, log_lose


def _check_share(winner_share: float) -> None:
    if not 0.0 <= winner_share <= 1.0 or math.isnan(winner_share):
        raise ValueError(f"winner_share must lie in [0, 1], not {winner_share!r}")


def bravo_p_values(x: Floats, *, winner_share: float) -> Floats:
    """Sequential BRAVO p-values after each draw of pair-assorter values in {0, 1/2, 1}.

    Args:
        x: Draws in order: 1 for a vote for the reported winner, 0 for one for
            the reported loser (and for a ballot that was not found: the worst
            case, Bañuelos & Stark 2012), 1/2 for anything else.
        winner_share: s, the winner's reported share of the pair's votes. A
            share of at most 1/2 (a tie or a loss) cannot be confirmed: p = 1.
    """
    values = check_sample(x, u=1.0)
    _check_share(winner_share)
    is_win = np.abs(values - 1.0) <= _ATOL
    is_lose = np.abs(values) <= _ATOL
    bad = np.flatnonzero(~(is_win | is_lose | (np.abs(values - 0.5) <= _ATOL)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"BRAVO needs pair-assorter values in {{0, 1/2, 1}} with u = 1; draw x[{i}] = "
            f"{float(values[i])!r} is not one (use ALPHA for other assorters)"
        )
    if winner_share <= 0.5 or values.size == 0:
        return cannot_confirm(values.size)
    log_win, log_lose = _log_factors(winner_share)
    with np.errstate(invalid="ignore"):
        steps = np.where(is_win, log_win, np.where(is_lose, log_lose, 0.0))
        log_wealth = np.cumsum(steps)
    return sequential_p_values(log_wealth)


def bravo_risk(n_winner: int, n_loser: int, winner_share: float) -> float:
    """BRAVO risk ``min(1, 1/T_n)`` after ``n_winner`` and ``n_loser`` votes for the pair.

    ``T_n = (2 s)^{n_w} (2 (1 - s))^{n_l}`` (LSY 2012), computed in logs.
    With ``s = V_w / (V_w + V_l)`` it equals rlacalc's
    ``ballot_polling_risk_level(V_w, V_l, n_w, n_l)`` capped at 1, where
    rlacalc gives a number (rlacalc returns NaN when ``s = 1``; this gives
    ``2^-n_w``, or 1 once a loser vote is seen). This is the risk at the end of
    the sample, not the sequential p-value (which takes the best T so far).
    """
    if n_winner < 0 or n_loser < 0:
        raise ValueError("vote counts in the sample cannot be negative")
    _check_share(winner_share)
    if winner_share <= 0.5:
        return 1.0
    log_win, log_lose = _log_factors(winner_share)
    if n_loser and math.isinf(log_lose):
        return 1.0
    log_t = n_winner * log_win + (n_loser * log_lose if n_loser else 0.0)
    return math.exp(-log_t) if log_t > 0 else 1.0


def bravo(x: Floats, *, N: int | None, u: float, eta: float) -> Floats:  # noqa: N803
    """Registry adapter (``METHODS["bravo"]``) for pair assorters (u = 1).

    The contract passes only eta, the reported assorter mean over all cards,
    ``(1 + (V_w - V_l)/N)/2``, not the pair's share. The adapter uses
    ``s = eta``: that is the exact share when every card carries a vote for w
    or l, and otherwise a share between 1/2 and the true s, which keeps the
    test valid (any s > 1/2 does) at some cost in sample size. Call
    :func:`bravo_p_values` with the pair's own share to get the classical
    figures. N is checked (a sample cannot exceed it) but otherwise ignored
    (with-replacement mathematics; see module docstring).
    """
    if not math.isclose(u, 1.0, rel_tol=0.0, abs_tol=_ATOL):
        raise ValueError(
            f"BRAVO applies to pair assorters with u = 1 (plurality, approval), not u = {u!r}; "
            "use ALPHA for supermajority contests and comparison audits"
        )
    values = check_sample(x, u=1.0, N=N)
    return bravo_p_values(values, winner_share=eta)
