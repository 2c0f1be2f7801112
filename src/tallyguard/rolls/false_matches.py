"""Expected false matches among flagged pairs: Σ(1 − p) and its interval.

Each flagged pair with match probability p is, by the model's own account, a
false match with probability 1 − p; if the pairs are independent given their
probabilities, the number of false matches is Poisson-binomial with mean
Σ(1 − p) and variance Σ p(1 − p). Its distribution is computed exactly by
multiplying the generating polynomials ``p + (1 − p) z`` (the convolution form of
the recursion in Hong 2013, "On computing the distribution function for the
Poisson binomial distribution", Computational Statistics & Data Analysis
59:41–51), in a balanced tree by FFT.

The figure is only as good as the probabilities: raw Fellegi–Sunter
probabilities are over-confident on family look-alikes (twins, Jr/Sr), so the
birthday-problem count of chance matches and a clerical-review sample must be
reported beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import fft, stats

from tallyguard.errors import InputError


def _rates(probabilities: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Flagged pairs' match probabilities as floats in [0, 1], or an InputError."""
    values = np.asarray(probabilities, dtype=np.float64).ravel()
    bad = ~np.isfinite(values) | (values < 0) | (values > 1)
    if bad.any():
        row = int(np.argmax(bad))
        raise InputError(
            f"{int(bad.sum())} match probabilities are not in [0, 1]; first at pair "
            f"{row + 1}: {values[row]}",
            field="match_probability",
            fix="give probabilities between 0 and 1",
        )
    return values


def expected_false_matches(probabilities: npt.ArrayLike) -> float:
    """Σ(1 − p) over flagged pairs: the model's own count of false matches among them."""
    return float((1.0 - _rates(probabilities)).sum())


def poisson_binomial_pmf(rates: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """P(X = k), k = 0..n, for X a sum of independent Bernoulli(``rates``).

    Exact up to rounding: the product of the generating polynomials ``(1 − q) + q z``,
    multiplied pairwise in a balanced tree by FFT (O(n log² n)), the divide-and-
    conquer form of the convolution recursion (cf. Hong 2013, CSDA 59:41–51).
    """
    q = _rates(rates)
    total = q.size
    certain = int((q == 1).sum())
    q = q[(q > 0) & (q < 1)]
    polys = np.stack([1 - q, q], axis=1) if q.size else np.ones((1, 1))
    while polys.shape[0] > 1:
        if polys.shape[0] % 2:
            unit = np.zeros((1, polys.shape[1]))
            unit[0, 0] = 1.0
            polys = np.vstack([polys, unit])
        size = 2 * polys.shape[1] - 1
        length = fft.next_fast_len(size, real=True)
        spectra = fft.rfft(polys[0::2], length) * fft.rfft(polys[1::2], length)
        polys = np.clip(fft.irfft(spectra, length)[:, :size], 0.0, None)
    pmf = np.zeros(total + 1)
    head = polys[0, : q.size + 1]
    pmf[certain : certain + q.size + 1] = head / head.sum()
    return pmf


@dataclass(frozen=True)
class FalseMatchEstimate:
    """Σ(1 − p) over flagged pairs, with a ``confidence`` interval of the false-match count.

    The count is Poisson-binomial (one Bernoulli(1 − p) per pair, independent given
    the probabilities); ``method`` says whether the interval is exact or normal.
    It is only as good as the probabilities: raw Fellegi–Sunter probabilities are
    over-confident on family look-alikes, so check them against a review sample.
    """

    pairs: int
    expected: float
    variance: float
    low: int
    high: int
    method: str
    confidence: float = 0.95

    def to_json(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "expected_false_matches": self.expected,
            "variance": self.variance,
            "interval": [self.low, self.high],
            "confidence": self.confidence,
            "interval_method": self.method,
        }


def false_match_estimate(
    probabilities: npt.ArrayLike, *, confidence: float = 0.95, exact_limit: int = 1_000_000
) -> FalseMatchEstimate:
    """Σ(1 − p) and its interval: exact Poisson-binomial quantiles up to ``exact_limit``
    pairs, beyond that the normal approximation with variance Σ p(1 − p)."""
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}")
    p = _rates(probabilities)
    q = 1.0 - p
    expected, variance = float(q.sum()), float((p * q).sum())
    low_q, high_q = (1 - confidence) / 2, (1 + confidence) / 2
    if p.size <= exact_limit:
        cdf = np.cumsum(poisson_binomial_pmf(q))
        low, high = (int(np.searchsorted(cdf, level - 1e-12)) for level in (low_q, high_q))
        method = "exact Poisson-binomial"
    else:
        spread = float(stats.norm.ppf(high_q)) * math.sqrt(variance)
        low = max(0, math.floor(expected - spread))
        high = min(p.size, math.ceil(expected + spread))
        method = "normal approximation, variance sum p(1 - p)"
    return FalseMatchEstimate(p.size, expected, variance, low, high, method, confidence)
