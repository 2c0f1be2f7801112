"""The fraud model of Klimek, Yegorov, Hanel & Thurner: fair parameters, simulator, fit.

Klimek, Yegorov, Hanel & Thurner (2012), "Statistical detection of systematic
election irregularities", PNAS 109(41):16469-73 (arXiv 1201.3087), "Model"
section and SI. In the fair model a unit's turnout ``a`` and leader share ``v``
are independent normals N(τ, σ_τ) and N(ν, σ_ν) truncated to [0, 1]. With
probability f_i a unit has *incremental* fraud of intensity x ~ |N(0, θ)|, with
probability f_e *extreme* fraud, x ~ 1 - |N(0, 0.075)|; a share x of the
non-voters' ballots is added for the leader and each other vote turns into a
leader vote with probability x^α::

    turnout' = 1 - (1 - x)(1 - a)
    leader'  = N [a v + x (1 - a) + x^α (1 - v) a]

Fair parameters follow the paper as transcribed by Kobak (dkobak/elections,
``meduza2018``): τ, ν are the first local maxima of kernel density estimates of
turnout and share, σ_τ = rms(a - τ | a < τ, v < ν), σ_ν = rms(v - ν | v < ν),
θ = sqrt(rms(v - ν | v > ν)) (a square root of the rms, as the paper has it).

f_i, f_e and α are fitted by simulating the model on the observed electorates
(counts rounded to whole ballots) and minimising a distance between the
simulated and observed 2-D histograms (turnout x share, 1 % bins) over a grid
refined coarse-to-fine. Every grid point reuses the same random numbers
(common random numbers), so differences between grid points are differences
of the model, not of the draws. The default distance is the two-sample
chi-square Σ (H_sim - H_obs)² / (H_sim + H_obs): on elections simulated from
the model it recovers f_i, f_e, α without visible bias, whereas the distance
of the R port of Klimek's fitter (EFToolkit ``ComputeKlimekModel``),
Σ((H_sim - H_obs)/(H_obs + 1))², available as ``metric="eftoolkit"``,
overweights bins the data happen to leave empty and doubled f_e in our checks.

The fit is a *model fit*: Klimek's fit and Mebane & Kalinin's mixture fit of
the same Russian 2011 data differ five-fold in f_i (0.64 vs 0.12), so the
parameters are weakly identified; they come with a parametric-bootstrap
interval and are never a share of manipulated units.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import ndtr, ndtri

from tallyguard.forensics.table import FloatArray, IntArray

#: Spread of extreme fraud, x ~ 1 - |N(0, 0.075)| (Klimek et al. 2012, SI).
EXTREME_SD = 0.075
#: Grid of the kernel density estimate used to find the modes (0.1 pp).
KDE_GRID = 1000
#: A local maximum counts only when at least this share of the highest one.
MIN_PEAK = 0.1
#: Search box of the fit: f_i, f_e, alpha.
BOUNDS = ((0.0, 1.0), (0.0, 0.2), (0.5, 3.0))
#: Coarse grid of the fit (points per parameter) and refinement stages after it.
COARSE = (6, 5, 4)
STAGES = 6


def first_mode(values: FloatArray) -> float:
    """First local maximum of a Gaussian kernel density estimate of ``values`` in [0, 1].

    The estimate is binned: linear binning onto a 0.001 grid, convolved with a
    Gaussian of Scott's bandwidth (sd · n^(-1/5), scipy's ``gaussian_kde``
    default, which Kobak's transcription uses), so it costs O(n) rather than
    O(n · grid). Maxima lower than ``MIN_PEAK`` of the highest are ignored (a
    bump of units with zero votes is not the fair mode).
    """
    x = np.clip(values, 0.0, 1.0) * KDE_GRID
    low = np.minimum(np.floor(x).astype(np.int64), KDE_GRID - 1)
    frac = x - low
    mass = np.bincount(low, 1.0 - frac, minlength=KDE_GRID + 1)
    mass += np.bincount(low + 1, frac, minlength=KDE_GRID + 1)
    sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
    h = max(sd * values.size ** (-0.2) * KDE_GRID, 0.5)
    r = min(int(np.ceil(5 * h)), KDE_GRID)
    kernel = np.exp(-0.5 * (np.arange(-r, r + 1) / h) ** 2)
    density = np.convolve(mass, kernel, mode="full")[r : r + KDE_GRID + 1]
    inner = density[1:-1]
    peak = (inner >= density[:-2]) & (inner > density[2:]) & (inner >= MIN_PEAK * density.max())
    found = np.flatnonzero(peak)
    index = int(found[0]) + 1 if found.size else int(np.argmax(density))
    return index / KDE_GRID


@dataclass(frozen=True)
class FairParameters:
    """The fair-election model: modes τ, ν, spreads σ_τ, σ_ν and the fraud spread θ."""

    tau: float
    nu: float
    sigma_tau: float
    sigma_nu: float
    theta: float

    def to_json(self) -> dict[str, float]:
        return asdict(self)


def _rms(x: FloatArray) -> float:
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def fair_parameters(turnout: FloatArray, share: FloatArray) -> FairParameters:
    """Klimek et al. (2012) fair parameters of the units' turnout and share (module docstring).

    Spreads are floored at 0.001 so that the simulator stays defined on
    degenerate input.
    """
    tau, nu = first_mode(turnout), first_mode(share)
    dt, dv = turnout - tau, share - nu
    return FairParameters(
        tau=tau,
        nu=nu,
        sigma_tau=max(_rms(dt[(dt < 0) & (dv < 0)]), 1e-3),
        sigma_nu=max(_rms(dv[dv < 0]), 1e-3),
        theta=max(float(np.sqrt(_rms(dv[dv > 0]))), 1e-3),
    )


def _truncated_normal(mean: float, sd: float, u: FloatArray) -> FloatArray:
    """N(mean, sd) truncated to [0, 1], by inverting the CDF at uniforms ``u``."""
    lo, hi = ndtr(-mean / sd), ndtr((1.0 - mean) / sd)
    out: FloatArray = np.clip(mean + sd * ndtri(lo + u * (hi - lo)), 0.0, 1.0)
    return out


def _half_normal(sd: float, u: FloatArray) -> FloatArray:
    """|N(0, sd)| truncated to [0, 1], by inverting the CDF at uniforms ``u``."""
    top = 2.0 * ndtr(1.0 / sd) - 1.0
    out: FloatArray = np.clip(sd * ndtri(0.5 + 0.5 * u * top), 0.0, 1.0)
    return out


@dataclass(frozen=True)
class ModelDraws:
    """The random numbers of one simulated election (common to every parameter value).

    Units are taken in a random order ``order`` and given sorted class uniforms
    ``u_class`` (uniform order statistics): a unit is incremental when its
    uniform is below f_i and extreme when it lies in [f_i, f_i + f_e), so each
    class is a contiguous run and every f uses the same draws.
    """

    order: IntArray
    electorate: IntArray  # electorate[k] = observed electorate[order[k]]
    turnout: FloatArray
    share: FloatArray
    u_class: FloatArray
    x_incremental: FloatArray
    x_extreme: FloatArray

    def counts(self, f_i: float, f_e: float) -> tuple[int, int]:
        """Units with incremental fraud, and with any fraud, for rates f_i and f_e."""
        top = min(f_i + f_e, 1.0)
        k_i, k_ie = np.searchsorted(self.u_class, [f_i, top])
        return int(k_i), int(k_ie)


def draw_model(electorate: IntArray, fair: FairParameters, rng: np.random.Generator) -> ModelDraws:
    """Draw the fair turnout/share and the fraud intensities of every unit once."""
    n = electorate.shape[0]
    order = rng.permutation(n)
    gaps = rng.standard_exponential(n + 1)
    u = rng.random((3, n))
    return ModelDraws(
        order=order,
        electorate=electorate[order],
        turnout=_truncated_normal(fair.tau, fair.sigma_tau, u[0]),
        share=_truncated_normal(fair.nu, fair.sigma_nu, u[1]),
        u_class=np.cumsum(gaps)[:n] / gaps.sum(),
        x_incremental=_half_normal(fair.theta, u[2]),
        x_extreme=1.0 - _half_normal(EXTREME_SD, u[2]),
    )


class _Units:
    """Units of one fraud class, with what does not depend on α computed once.

    turnout' = 1 - (1 - x)(1 - a); leader' = N[a v + x(1 - a)] + N x^α (1 - v) a,
    both rounded to whole ballots.
    """

    def __init__(self, draws: ModelDraws, x: FloatArray, bins: int) -> None:
        n = draws.electorate.astype(np.float64)
        a, v = draws.turnout, draws.share
        self.bins = bins
        self.given = np.maximum(np.rint(n * (1.0 - (1.0 - x) * (1.0 - a))), 1.0)
        self.turnout = self.given / n
        self.row = np.minimum((self.turnout * bins).astype(np.int64), bins - 1) * bins
        self.base = n * (a * v + x * (1.0 - a))
        self.switch = n * (1.0 - v) * a
        with np.errstate(divide="ignore"):
            self.log_x = np.log(x)

    def share(self, alpha: float) -> FloatArray:
        leader = np.rint(self.base + np.exp(alpha * self.log_x) * self.switch)
        out: FloatArray = np.minimum(leader / self.given, 1.0)
        return out

    def bins_at(self, alpha: float) -> IntArray:
        col = np.minimum((self.share(alpha) * self.bins).astype(np.int64), self.bins - 1)
        out: IntArray = self.row + col
        return out


def simulate(
    draws: ModelDraws, f_i: float, f_e: float, alpha: float
) -> tuple[FloatArray, FloatArray]:
    """Turnout and leader share of every unit under the fraud model, in the units' order."""
    k_i, k_ie = draws.counts(f_i, f_e)
    x = np.zeros(draws.turnout.shape[0])
    x[:k_i] = draws.x_incremental[:k_i]
    x[k_i:k_ie] = draws.x_extreme[k_i:k_ie]
    units = _Units(draws, x, 1)
    turnout, share = np.empty_like(x), np.empty_like(x)
    turnout[draws.order], share[draws.order] = units.turnout, units.share(alpha)
    return turnout, share


def bin_index(turnout: FloatArray, share: FloatArray, bins: int) -> IntArray:
    """Flat index ``turnout_bin * bins + share_bin`` of equal bins on [0, 1] (1.0 in the last)."""
    t = np.minimum((np.clip(turnout, 0.0, 1.0) * bins).astype(np.int64), bins - 1)
    s = np.minimum((np.clip(share, 0.0, 1.0) * bins).astype(np.int64), bins - 1)
    out: IntArray = t * bins + s
    return out


Distance = Literal["chi2", "eftoolkit"]


def distance(simulated: FloatArray, observed: FloatArray, metric: Distance = "chi2") -> float:
    """Distance between two histograms of the same units (module docstring).

    ``chi2``: Σ (H_sim - H_obs)² / (H_sim + H_obs) over non-empty bins, the
    chi-square statistic for two binned data sets (Press et al., Numerical
    Recipes, 3rd ed. 2007, §14.3). ``eftoolkit``: Σ((H_sim - H_obs)/(H_obs + 1))².
    """
    d = simulated - observed
    if metric == "chi2":
        return float(np.dot(d.ravel() ** 2, 1.0 / np.maximum(simulated + observed, 1.0).ravel()))
    return float(np.sum((d / (observed + 1.0)) ** 2))


@dataclass(frozen=True)
class KlimekFit:
    """Best-fitting fraud-model parameters and the distances that support them."""

    fair: FairParameters
    f_i: float
    f_e: float
    alpha: float  # plays no part (and is not identified) when f_i = f_e = 0
    distance: float
    fair_distance: float  # distance with f_i = f_e = 0 (the fair model alone)
    evaluations: int
    units: int
    bins: int
    metric: Distance

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["alpha"] = self.alpha if self.f_i + self.f_e > 0 else None
        return out


class _Objective:
    """Distance of the model at (f_i, f_e, α) to the observed histogram, with caches.

    Units are in class-uniform order, so the simulated units at (f_i, f_e) are
    the first k_i as incremental, the next up to k_ie as extreme, the rest
    clean; their bins at each α are computed once.
    """

    def __init__(self, draws: ModelDraws, observed: IntArray, bins: int, metric: Distance) -> None:
        self.draws, self.metric = draws, metric
        self.observed = observed.astype(np.float64)
        self.clean = _Units(draws, np.zeros_like(draws.turnout), bins).bins_at(1.0)
        self.incremental = _Units(draws, draws.x_incremental, bins)
        self.extreme = _Units(draws, draws.x_extreme, bins)
        self.by_alpha: dict[float, tuple[IntArray, IntArray]] = {}
        self.values: dict[tuple[int, int, float], float] = {}

    def _index(self, k_i: int, k_ie: int, alpha: float) -> IntArray:
        if k_ie == 0:
            return self.clean
        if alpha not in self.by_alpha:
            self.by_alpha[alpha] = (self.incremental.bins_at(alpha), self.extreme.bins_at(alpha))
        inc, ext = self.by_alpha[alpha]
        return np.concatenate((inc[:k_i], ext[k_i:k_ie], self.clean[k_ie:]))

    def __call__(self, f_i: float, f_e: float, alpha: float) -> float:
        k_i, k_ie = self.draws.counts(f_i, f_e)
        key = (k_i, k_ie, alpha if k_ie else 0.0)
        if key not in self.values:
            index = self._index(k_i, k_ie, alpha)
            sim = np.bincount(index, minlength=self.observed.shape[0]).astype(np.float64)
            self.values[key] = distance(sim, self.observed, self.metric)
        return self.values[key]


def _best(
    objective: _Objective, axes: list[list[float]], start: tuple[float, ...] | None = None
) -> tuple[float, ...]:
    """The lowest (value, f_i, f_e, alpha) over the product of ``axes`` (and ``start``)."""
    points = ((objective(*p), *p) for p in itertools.product(*axes))
    return min(points) if start is None else min(start, *points)


def _grid_search(objective: _Objective) -> tuple[float, ...]:
    """Best point of the coarse grid, then ``STAGES`` rounds of 3x3x3 grids of halving step."""
    axes = [np.linspace(lo, hi, k).tolist() for (lo, hi), k in zip(BOUNDS, COARSE, strict=True)]
    best = _best(objective, axes)
    steps = [a[1] - a[0] for a in axes]
    for _ in range(STAGES):
        steps = [s / 2 for s in steps]
        around = [
            sorted({float(np.clip(c + d * s, lo, hi)) for d in (-1, 0, 1)})
            for c, s, (lo, hi) in zip(best[1:], steps, BOUNDS, strict=True)
        ]
        best = _best(objective, around, best)
    return best


def fit(
    turnout: FloatArray,
    share: FloatArray,
    electorate: IntArray,
    *,
    rng: np.random.Generator,
    bins: int | None = None,
    fair: FairParameters | None = None,
    metric: Distance = "chi2",
) -> KlimekFit:
    """Fit f_i, f_e and α of the Klimek model to the units' fingerprint (module docstring).

    ``fair`` defaults to :func:`fair_parameters` of the same units. One set of
    model draws (``draw_model``) serves every grid point. ``bins`` per axis
    defaults to sqrt(n / 5) within [20, 100] (1 % bins from 50,000 units): on
    sparse histograms the distance favours models that occupy fewer bins,
    which pulled f_i down by 0.04 at 5,000 units with 100 bins.
    """
    n = turnout.shape[0]
    bins = bins or int(np.clip(np.sqrt(n / 5), 20, 100))
    fair = fair or fair_parameters(turnout, share)
    observed = np.bincount(bin_index(turnout, share, bins), minlength=bins * bins)
    objective = _Objective(draw_model(electorate, fair, rng), observed, bins, metric)
    value, f_i, f_e, alpha = _grid_search(objective)
    return KlimekFit(
        fair=fair,
        f_i=float(f_i),
        f_e=float(f_e),
        alpha=float(alpha),
        distance=value,
        fair_distance=objective(0.0, 0.0, 0.0),
        evaluations=len(objective.values),
        units=n,
        bins=bins,
        metric=metric,
    )
