"""Parametric-bootstrap intervals of the Klimek model fit (``forensics/klimek.py``).

Elections are simulated from the fitted model on the observed electorates and
the whole fitting procedure is repeated on each (Davison & Hinkley 1997,
section 2.2); the report gives percentile intervals, the bias of the refits and
the reverse-percentile interval that corrects for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tallyguard.forensics.klimek import (
    BOUNDS,
    KlimekFit,
    draw_model,
    fair_parameters,
    fit,
    simulate,
)
from tallyguard.forensics.table import FloatArray, IntArray


def _interval(values: FloatArray, level: float) -> list[tuple[float, float]]:
    q = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return [(float(q[0, j]), float(q[1, j])) for j in range(values.shape[1])]


Pair = tuple[float, float]


@dataclass(frozen=True)
class Bootstrap:
    """Parametric-bootstrap intervals of f_i, f_e and α (dicts keyed by parameter name).

    ``percentile``: quantiles of the refits. ``bias``: mean refit minus the
    fit. ``basic``: the bias-corrected (reverse-percentile) interval
    (2 θ̂ - q_high, 2 θ̂ - q_low), clipped to the search box (Davison & Hinkley
    1997, eq. 5.6); read it when the bias is not small against the spread.
    ``fair``: intervals of the fair parameters re-estimated from the simulated
    elections; fitted values outside them mean that the estimators do not
    reproduce their own input under the fitted model.
    """

    level: float
    replicates: int
    refit_fair: bool
    percentile: dict[str, Pair]
    basic: dict[str, Pair]
    bias: dict[str, float]
    fair: dict[str, Pair]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def bootstrap(
    result: KlimekFit,
    electorate: IntArray,
    *,
    rng: np.random.Generator,
    replicates: int = 50,
    level: float = 0.95,
    refit_fair: bool = True,
) -> Bootstrap:
    """Parametric bootstrap: simulate elections from the fitted model, refit, take quantiles.

    Each replicate draws a fresh election on the same electorates from the
    fitted parameters and redoes the fit with fresh model draws: the fair
    parameters re-estimated from it (the whole procedure) or, with
    ``refit_fair=False``, held at the fitted values (an interval conditional
    on the fair model, which leaves out their estimation error and bias).
    """
    if replicates < 2:
        raise ValueError("the bootstrap needs at least two replicates")
    estimates = np.empty((replicates, 3))
    fairs = np.empty((replicates, 5))
    for b in range(replicates):
        draws = draw_model(electorate, result.fair, rng)
        t, s = simulate(draws, result.f_i, result.f_e, result.alpha)
        again = fair_parameters(t, s)
        fairs[b] = list(again.to_json().values())
        fair = again if refit_fair else result.fair
        refit = fit(t, s, electorate, rng=rng, bins=result.bins, fair=fair, metric=result.metric)
        estimates[b] = (refit.f_i, refit.f_e, refit.alpha)
    names = ("f_i", "f_e", "alpha")
    point = (result.f_i, result.f_e, result.alpha)
    percentile = _interval(estimates, level)
    bias = estimates.mean(axis=0) - np.array(point)
    return Bootstrap(
        level=level,
        replicates=replicates,
        refit_fair=refit_fair,
        percentile=dict(zip(names, percentile, strict=True)),
        basic={
            n: (max(2 * p - q[1], lo), min(2 * p - q[0], hi))
            for n, p, q, (lo, hi) in zip(names, point, percentile, BOUNDS, strict=True)
        },
        bias=dict(zip(names, bias.tolist(), strict=True)),
        fair=dict(zip(result.fair.to_json(), _interval(fairs, level), strict=True)),
    )
