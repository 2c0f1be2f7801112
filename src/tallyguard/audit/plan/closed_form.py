"""Closed-form sample sizes: BRAVO's average sample number and Kaplan-Markov.

Every function here reproduces a published formula and, where one exists, the
reference implementation users already trust (``rlacalc`` 0.4.0 by Neal
McBurnett, Arlo's ``server/audit_math/supersimple.py``). The few places where
tallyguard deliberately differs are listed in each docstring and in
``docs/audit-methods.md``.

Sizes are whole numbers of ballot draws returned as ``float`` so that
``math.inf`` can say "no finite sample suffices: count every ballot" where
rlacalc returns ``nan``.

References:
    Lindeman, Stark & Yates (2012), "BRAVO: Ballot-polling risk-limiting
    audits to verify outcomes", EVT/WOTE '12, §5 and §9.2 (the ASN
    approximation, their Table 1).
    Stark (2010), "Super-simple simultaneous single-ballot risk-limiting
    audits", EVT/WOTE '10, eqs. (9)-(11) (the Kaplan-Markov bound and the
    sample size ``n_min``), with the error-inflation factor gamma.
    Lindeman & Stark (2012), "A gentle introduction to risk-limiting audits",
    IEEE Security & Privacy 10(5), p. 5 (the same sample-size rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tallyguard.audit.risk.kaplan_markov import GAMMA
from tallyguard.errors import InputError

KM_GAMMA = GAMMA
"""The error-inflation factor of Stark's tools, Arlo, AGI and ColoradoRLA."""

_RLACALC_BALLOTS = 100_000.0  # rlacalc's normalising constant; it cancels but fixes rounding


@dataclass(frozen=True)
class ErrorRates:
    """Discrepancy rates per audited card: one- and two-vote over/understatements.

    ``o1``/``o2`` are Stark's r1/r2 and ``u1``/``u2`` his s1/s2 (Stark 2010, §3).
    """

    o1: float = 0.0
    o2: float = 0.0
    u1: float = 0.0
    u2: float = 0.0

    def __post_init__(self) -> None:
        for name in ("o1", "o2", "u1", "u2"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InputError(
                    f"discrepancy rate {name}={value!r} must lie in [0, 1].", field=name
                )
        if self.o1 + self.o2 + self.u1 + self.u2 > 1.0:
            raise InputError("discrepancy rates add up to more than 1.", field="rates")


ARLO_RATES = ErrorRates(o1=0.001, o2=0.0001, u1=0.001, u2=0.0001)
"""The expected error rates Arlo plans comparison audits with (supersimple.py)."""

NO_ERRORS = ErrorRates()


def _check_risk(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise InputError(f"risk limit {alpha!r} must lie strictly between 0 and 1.", field="alpha")


def _check_gamma(gamma: float) -> None:
    if not gamma > 1.0:
        raise InputError(f"error-inflation factor gamma={gamma!r} must exceed 1.", field="gamma")


def bravo_asn(margin: float, alpha: float, risk_level: float = 1.0) -> float:
    """BRAVO's average sample number for a two-choice contest (rlacalc ``findAsn``).

    Lindeman, Stark & Yates (2012), §9.2: with ``s_w`` the winner's share of
    the votes for the two choices, ``z_w = ln(2 s_w)``, ``z_l = ln(2 (1 - s_w))``
    and ``p_w``, ``p_l`` the choices' shares of the ballots,

        ASN = ceil[(ln(risk_level / alpha) + z_w / 2) / ((p_w + p_l)(p_w z_w + p_l z_l))].

    ``margin`` is (winner - loser) / (winner + loser), as in rlacalc (every
    ballot carries a vote for one of the two). ``risk_level`` is the risk
    measured so far (1 before the audit starts), so ``ln(risk_level / alpha)``
    is the evidence still missing.

    Equal to rlacalc 0.4.0 for 0 < margin < 1 (same floating-point steps).
    Differences: a tie or a loss (margin <= 0) returns ``inf`` (rlacalc: nan),
    and margin = 1 returns the formula's limit, ceil[(ln(risk/alpha) + ln 2 / 2)
    / ln 2] (5 at alpha = 5 %), where rlacalc returns a hard-coded 4 for every
    risk limit (its source marks this FIXME; the 99 % margin already gives 6).
    """
    _check_risk(alpha)
    if not 0.0 < risk_level <= 1.0:
        raise InputError(f"risk level {risk_level!r} must lie in (0, 1].", field="risk_level")
    if margin > 1.0:
        raise InputError(f"margin {margin!r} cannot exceed 1.", field="margin")
    if risk_level <= alpha:
        return 0.0
    if margin <= 0.0:
        return math.inf
    ballots = _RLACALC_BALLOTS
    vw = ballots * (0.5 + margin / 2.0)
    vl = ballots * (0.5 - margin / 2.0)
    sw = vw / (vw + vl)
    zw = math.log(2.0 * sw)
    pw = vw / ballots
    pl = vl / ballots
    loser_term = pl * math.log(2.0 * (1.0 - sw)) if vl > 0 else 0.0
    drift = ((vw + vl) / ballots) * (pw * zw + loser_term)
    return float(math.ceil((math.log(1.0 / alpha * risk_level) + zw / 2.0) / drift))


def km_nmin(
    margin: float,
    alpha: float,
    *,
    gamma: float = KM_GAMMA,
    o1: int = 0,
    o2: int = 0,
    u1: int = 0,
    u2: int = 0,
) -> float:
    """Kaplan-Markov sample size given discrepancy counts (rlacalc ``nmin``, Arlo ``nMin``).

    Stark (2010), eq. (11) / Lindeman & Stark (2012), p. 5: the smallest n with
    Kaplan-Markov P-value below alpha,

        n_min = max(o1 + o2 + u1 + u2,
                    ceil(-2 gamma [ln alpha + o1 ln(1 - 1/(2 gamma)) + o2 ln(1 - 1/gamma)
                                   + u1 ln(1 + 1/(2 gamma)) + u2 ln(1 + 1/gamma)] / margin)),

    ``margin`` being the diluted margin. The first term (you cannot have seen
    more discrepancies than ballots) is Arlo's ``o1 + o2 + u1 + u2``; rlacalc
    writes ``o1 + o2 + u1 + u1`` (u2 missing, a typo: pitfall P7). The two
    agree unless 2 u2 or u1 + u2 discrepancies outnumber the formula's n,
    which needs absurd error counts. A margin <= 0 returns ``inf``.
    """
    _check_risk(alpha)
    _check_gamma(gamma)
    if margin > 1.0:
        raise InputError(f"diluted margin {margin!r} cannot exceed 1.", field="margin")
    if min(o1, o2, u1, u2) < 0:
        raise InputError("discrepancy counts must all be >= 0.", field="discrepancies")
    if margin <= 0.0:
        return math.inf
    evidence = (
        math.log(alpha)
        + o1 * math.log(1.0 - 1.0 / (2.0 * gamma))
        + o2 * math.log(1.0 - 1.0 / gamma)
        + u1 * math.log(1.0 + 1.0 / (2.0 * gamma))
        + u2 * math.log(1.0 + 1.0 / gamma)
    )
    return float(max(o1 + o2 + u1 + u2, math.ceil(-2.0 * gamma * evidence / margin)))


def _km_drift(margin: float, gamma: float, rates: ErrorRates) -> float:
    """Expected log-P-value change per draw (negative when the audit can stop)."""
    return (
        math.log(1 - margin / (2 * gamma))
        - rates.o1 * math.log(1 - 1 / (2 * gamma))
        - rates.o2 * math.log(1 - 1 / gamma)
        - rates.u1 * math.log(1 + 1 / (2 * gamma))
        - rates.u2 * math.log(1 + 1 / gamma)
    )


def km_expected_sample_size(
    margin: float,
    alpha: float,
    rates: ErrorRates = ARLO_RATES,
    *,
    gamma: float = KM_GAMMA,
) -> float:
    """Kaplan-Markov sample size when discrepancies occur at their expected rates.

    rlacalc ``KM_Expected_sample_size`` (after Stark's S157F17 notebook): the
    log P-value falls by ``-d`` per draw on average, with
    ``d = ln(1 - margin/(2 gamma)) - r1 ln(1 - 1/(2 gamma)) - r2 ln(1 - 1/gamma)
    - s1 ln(1 + 1/(2 gamma)) - s2 ln(1 + 1/gamma)`` (Stark 2010, eq. 10 in
    expectation), so ``n = ceil(ln alpha / d)``. ``inf`` when ``d >= 0`` (errors
    eat the margin: a full hand count; rlacalc returns nan). An estimate, not a
    stopping rule: the audit stops on the measured P-value.
    """
    _check_risk(alpha)
    _check_gamma(gamma)
    if margin <= 0.0:
        return math.inf
    drift = _km_drift(margin, gamma, rates)
    if drift >= 0:
        return math.inf
    return float(math.ceil(math.log(alpha) / drift))


def km_expected_sample_size_rounded(
    margin: float,
    alpha: float,
    rates: ErrorRates = ARLO_RATES,
    *,
    gamma: float = KM_GAMMA,
    round_up_1: bool = True,
    round_up_2: bool = False,
) -> float:
    """rlacalc ``KM_Expected_sample_size_rounded``: expected counts, then ``n_min``.

    Starting from :func:`km_expected_sample_size`, turn the rates into counts
    at the current n (one-vote counts rounded up when ``round_up_1``, two-vote
    counts when ``round_up_2``, otherwise Python's round-half-even like
    rlacalc) and recompute :func:`km_nmin`, up to 10 times until n is stable.
    ``inf`` when there is no finite answer: the drift is not negative, or the
    iteration has not settled after 10 rounds (rlacalc returns nan for both).
    """
    n = km_expected_sample_size(margin, alpha, rates, gamma=gamma)
    rounds = 10
    for attempt in range(rounds):
        if math.isinf(n):
            return n
        one = math.ceil if round_up_1 else round
        two = math.ceil if round_up_2 else round
        counts = {
            "o1": int(one(rates.o1 * n)),
            "u1": int(one(rates.u1 * n)),
            "o2": int(two(rates.o2 * n)),
            "u2": int(two(rates.u2 * n)),
        }
        previous, n = n, km_nmin(margin, alpha, gamma=gamma, **counts)
        if n == previous:
            # rlacalc discards an answer that only settles in its last round
            return math.inf if attempt == rounds - 1 else n
    return math.inf


def arlo_comparison_sample_size(
    margin: float,
    alpha: float,
    rates: ErrorRates = ARLO_RATES,
    *,
    gamma: float = KM_GAMMA,
) -> float:
    """Arlo's initial ballot-comparison sample size (``supersimple.get_sample_sizes``).

    One step of :func:`km_expected_sample_size_rounded`: n0 from the expected
    drift, one-vote counts ``ceil(rate * n0)``, then :func:`km_nmin` with the
    two-vote *rates* passed as if they were counts (Arlo's code does exactly
    this; 0.0001 of a two-vote overstatement adds well under one ballot).
    ``inf`` where Arlo returns "all ballots".
    """
    n0 = km_expected_sample_size(margin, alpha, rates, gamma=gamma)
    if math.isinf(n0):
        return n0
    o1 = math.ceil(rates.o1 * n0)
    u1 = math.ceil(rates.u1 * n0)
    evidence = (
        math.log(alpha)
        + o1 * math.log(1.0 - 1.0 / (2.0 * gamma))
        + rates.o2 * math.log(1.0 - 1.0 / gamma)
        + u1 * math.log(1.0 + 1.0 / (2.0 * gamma))
        + rates.u2 * math.log(1.0 + 1.0 / gamma)
    )
    n = math.ceil(-2.0 * gamma * evidence / margin)
    return float(max(o1 + u1 + rates.o2 + rates.u2, n))


def comparison_noerror_bound(margin: float, alpha: float, *, upper_bound: float = 1.0) -> float:
    """Fewest draws any test supermartingale needs in a comparison audit with no errors.

    With no discrepancies every overstatement-assorter value is
    ``B = 1 / (2 - v/u)`` (Stark 2020, SHANGRLA §3.2). A test supermartingale
    for "mean <= 1/2" multiplies by at most ``B / (1/2) = 2 / (2 - v/u)`` per
    draw (betting everything), so reaching ``1/alpha`` takes at least

        n = ceil(ln(1/alpha) / ln(2 / (2 - v/u)))

    draws with replacement: 598 for v = 1 %, alpha = 5 %, u = 1 (Kaplan-Markov
    needs 623 because gamma > 1 holds back part of each bet). ``inf`` for
    v <= 0.
    """
    _check_risk(alpha)
    if margin <= 0.0:
        return math.inf
    ratio = margin / upper_bound
    if ratio >= 2.0:
        raise InputError(f"margin {margin!r} exceeds twice the assorter bound.", field="margin")
    return float(math.ceil(math.log(1.0 / alpha) / math.log(2.0 / (2.0 - ratio))))
