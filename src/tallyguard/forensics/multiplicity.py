"""False-discovery-rate control across a battery of forensic tests (and across units).

Benjamini & Hochberg (1995), "Controlling the false discovery rate: a practical
and powerful approach to multiple testing", JRSS B 57(1):289–300: order the m
p-values p_(1) ≤ … ≤ p_(m) and reject H_(1) … H_(k) for the largest k with
p_(k) ≤ k·α/m (their step-up procedure, section 3). The equivalent adjusted
p-values ("q-values" here, following Yekutieli & Benjamini 1999) are

    q_(i) = min_{j ≥ i} min(1, m·p_(j) / j),

so that H_i is rejected at level α exactly when q_i ≤ α. Benjamini & Yekutieli
(2001), Annals of Statistics 29(4):1165–1188, Theorem 1.3, keep the FDR at α
under arbitrary dependence by multiplying m/j by c(m) = Σ_{i=1}^{m} 1/i.

The arithmetic follows ``scipy.stats.false_discovery_control`` step for step,
so both give bit-identical results. Skipped tests (``None``, or NaN in the
array form) are left out of m and stay ``None`` (NaN).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
Method = Literal["bh", "by"]

__all__ = ["Method", "bh_qvalues", "bh_qvalues_array", "bh_reject"]


def bh_qvalues_array(p: ArrayLike, *, method: Method = "bh") -> FloatArray:
    """Adjusted p-values of a float vector; NaN entries are skipped and stay NaN.

    Args:
        p: p-values in [0, 1], NaN for a test that was not run.
        method: ``"bh"`` (Benjamini–Hochberg 1995, independent or positively
            dependent tests) or ``"by"`` (Benjamini–Yekutieli 2001, any dependence).

    Raises:
        ValueError: a p-value outside [0, 1], or an unknown method.
    """
    if method not in ("bh", "by"):
        raise ValueError(f"unknown method {method!r}: use 'bh' or 'by'")
    values = np.asarray(p, dtype=np.float64).ravel()
    present = ~np.isnan(values)
    ps = values[present]
    if np.any((ps < 0.0) | (ps > 1.0)):
        raise ValueError("p-values must lie in [0, 1]")
    out = np.full(values.shape, np.nan)
    m = ps.shape[0]
    if m <= 1:
        out[present] = ps
        return out
    order = np.argsort(ps)
    ranked = ps[order]
    i = np.arange(1, m + 1, dtype=np.float64)
    ranked *= m / i
    if method == "by":
        ranked *= np.sum(1.0 / i)
    np.minimum.accumulate(ranked[::-1], out=ranked[::-1])
    adjusted = np.empty(m)
    adjusted[order] = ranked
    out[present] = np.clip(adjusted, 0.0, 1.0)
    return out


def bh_qvalues(p: Sequence[float | None], *, method: Method = "bh") -> list[float | None]:
    """Benjamini–Hochberg q-values (adjusted p-values) of a list with skipped entries.

    Each q-value is monotone in its p-value, never below it and at most 1;
    ``None`` (a skipped test) is not counted in m and stays ``None``.
    """
    values = np.array([np.nan if v is None else float(v) for v in p], dtype=np.float64)
    q = bh_qvalues_array(values, method=method)
    return [None if v is None else float(x) for v, x in zip(p, q, strict=True)]


def bh_reject(
    p: Sequence[float | None], alpha: float = 0.05, *, method: Method = "bh"
) -> list[bool | None]:
    """Which hypotheses the step-up procedure rejects at FDR level ``alpha``.

    ``True`` where q ≤ alpha (the step-up rule of Benjamini & Hochberg 1995,
    section 3), ``None`` for a skipped test.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return [None if q is None else q <= alpha for q in bh_qvalues(p, method=method)]
