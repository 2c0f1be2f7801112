"""Tiny local risk functions for tests: BRAVO generalised to [0, u] (fixed-eta ALPHA).

M_j = prod_i [x_i eta / mu_i + (u - x_i)(u - eta) / (u - mu_i)] / u with mu_i = 1/2
(with replacement) or the without-replacement null mean (Stark 2023, ALPHA eq. 4
with a fixed eta, raised to mu_i + 1e-6 where it would fall below mu_i: ALPHA
needs eta_i > mu_i to stay a test supermartingale for "mean <= 1/2"). For u = 1
and x in {0, 1/2, 1} with replacement this is BRAVO (Lindeman, Stark & Yates
2012). For tests of the planning machinery only; the methods themselves live in
``tallyguard.audit.risk``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def fixed_eta(
    x: NDArray[np.float64],
    *,
    N: int | None,  # noqa: N803 - the contract's name
    u: float,
    eta: float,
) -> NDArray[np.float64]:
    x = np.asarray(x, dtype=np.float64)
    j = np.arange(x.size)
    if N is None:
        mu = np.full(x.size, 0.5)
    else:
        before = np.concatenate([[0.0], np.cumsum(x)[:-1]])
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = (N * 0.5 - before) / (N - j)
    etas = np.clip(np.maximum(eta, mu + 1e-6), 1e-12, u - 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (x * etas / mu + (u - x) * (u - etas) / (u - mu)) / u
    terms = np.where(mu < -1e-12, np.inf, np.where((mu >= u) | (mu <= 0), 1.0, terms))
    with np.errstate(over="ignore"):
        wealth = np.cumprod(terms)
    return np.minimum(1.0, 1.0 / np.maximum.accumulate(wealth))


STANDINS = {"bravo": fixed_eta}
