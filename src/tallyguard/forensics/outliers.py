"""Units whose leader share departs from what a prior election (or covariates) predicts.

Within each region the current leader share is regressed on the same choice's
share in a prior election (and the prior turnout, and any covariates) with
Huber's M-estimator (Huber 1964, Annals of Mathematical Statistics 35:73–101,
ψ_c(u) = max(−c, min(c, u)) with c = 1.345), fitted by iteratively reweighted
least squares (Holland & Welsch 1977, Communications in Statistics A6:813–827)
with the scale re-estimated at every step as the normalised median absolute
deviation of the residuals, s = 1.4826 · median|r − median r|.

Per unit, z = r / sd with sd = sqrt(τ² + v): v is the binomial sampling
variance of the unit's current share (and of its prior share, times the fitted
slope squared), τ² the region's extra-binomial variance, set so that the
standardised residuals have MAD 1 (``scale="mad"`` uses the plain MAD scale s
instead, which over-flags small units). The two-sided p-value is taken from
the standard normal, p = 2Φ(−|z|); Benjamini–Hochberg (1995) q-values run over
all tested units, and ``flagged_units`` are those with q ≤ ``q_threshold``.
The normal reference is a screening device: honest residuals have heavier
tails, which is why flags are leads and not findings.

The headline asks whether the flags lean towards the leader. Its null is sign
symmetry of the residuals: a Rademacher wild bootstrap (Liu 1988, Annals of
Statistics 16:1696–1708; Davidson & Flachaire 2008, Journal of Econometrics
146:162–169) flips each residual's sign with probability 1/2. |z|, p and q
are unchanged by a sign flip, so among the K flagged units the bootstrap count
of units above their prediction is exactly Binomial(K, 1/2); the p-value
P(Binomial(K, 1/2) ≥ k₊) is computed exactly instead of by simulation
(``rng`` and ``replicates`` are accepted for the common interface and unused).
The secondary component applies the same sign test to every unit with
|z| > ``tail_z``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import brentq
from scipy.special import bdtrc, erfc

from tallyguard.forensics.multiplicity import bh_qvalues_array
from tallyguard.forensics.relation import MIN_REGION_UNITS, region_strata
from tallyguard.forensics.result import Component, JsonValue, TestResult
from tallyguard.forensics.table import BoolArray, FloatArray, IntArray, UnitTable

__all__ = ["HUBER_C", "HuberFit", "binomial_scale", "huber_irls", "run", "sign_test_p_value"]

#: Huber's tuning constant: 95 % asymptotic efficiency at the normal.
HUBER_C = 1.345
_MAD_NORMAL = 1.482602218505602  # 1 / Φ⁻¹(3/4)
_Q75 = 1.0 / _MAD_NORMAL
Scale = Literal["binomial", "mad"]

_NAME = "outliers_vs_prior"
_TITLE = "Outliers against a prior election (robust regression per region)"
_CITATION = (
    "Huber (1964), Ann. Math. Statist. 35:73–101; Holland & Welsch (1977); Benjamini & "
    "Hochberg (1995), JRSS B 57:289–300; Liu (1988) wild bootstrap"
)
_CAVEATS = (
    "Redistricting and renumbering of units break the match by unit id; a unit whose "
    "boundary changed can look like an outlier. Unmatched units are not tested.",
    "A change of candidates, alliances or party labels between the elections shifts shares "
    "for honest reasons; so do local events (a candidate's home town, a factory closing).",
    "Per-unit p-values use a normal reference for z = residual / sd, sd from binomial "
    "sampling noise plus a MAD-calibrated regional term; honest residuals have heavier "
    "tails, so flags appear in both directions in clean elections.",
    "The headline assumes residuals symmetric about zero; shares near 0 or 1 in small units "
    "are skewed by arithmetic, and a one-sided honest swing (e.g. a strong local candidate) "
    "rejects it as well as ballot stuffing does.",
    "Flagged units are leads for inspection (protocols, observers' reports, recounts), not "
    "findings. Current turnout is not a predictor because stuffing changes it.",
)


@dataclass(frozen=True)
class HuberFit:
    """One stratum's Huber regression: coefficients, residual scale, convergence."""

    beta: FloatArray
    scale: float
    iterations: int
    converged: bool


def _mad_scale(r: FloatArray) -> float:
    scale = _MAD_NORMAL * float(np.median(np.abs(r - np.median(r))))
    if scale <= 0.0:  # more than half the residuals equal: fall back to the mean deviation
        scale = float(np.sqrt(np.pi / 2.0) * np.mean(np.abs(r - np.median(r))))
    return scale


def _lstsq(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.asarray(np.linalg.lstsq(a, b, rcond=None)[0], dtype=np.float64)


def huber_irls(
    x: FloatArray,
    y: FloatArray,
    *,
    c: float = HUBER_C,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> HuberFit:
    """Huber M-estimate of ``y ≈ x @ beta`` by IRLS, MAD scale updated each step.

    At convergence ``Σ ψ_c(r_i / s) x_i = 0`` with ``s`` the returned scale.
    ``x`` must contain the intercept column if one is wanted.
    """
    beta = _lstsq(x, y)
    for iteration in range(1, max_iter + 1):
        r = y - x @ beta
        scale = _mad_scale(r)
        if scale <= 0.0:  # exact fit
            return HuberFit(beta, 0.0, iteration, True)
        u = np.abs(r) / scale
        w = np.where(u <= c, 1.0, c / np.maximum(u, c))
        sw = np.sqrt(w)
        new = _lstsq(x * sw[:, None], y * sw)
        step = float(np.max(np.abs(new - beta)))
        beta = new
        if step <= tol * (1.0 + float(np.max(np.abs(beta)))):
            return HuberFit(beta, _mad_scale(y - x @ beta), iteration, True)
    return HuberFit(beta, _mad_scale(y - x @ beta), max_iter, False)


def sign_test_p_value(positive: int, total: int) -> float:
    """P(Binomial(total, 1/2) ≥ positive): exact one-sided sign-test p-value."""
    if positive <= 0:
        return 1.0
    return float(bdtrc(positive - 1, total, 0.5))


def binomial_scale(resid: FloatArray, sampling_var: FloatArray) -> tuple[FloatArray, float]:
    """Per-unit residual SDs ``sqrt(τ² + v_i)`` whose standardised residuals have MAD 1.

    ``v_i`` is unit i's binomial sampling variance, τ² the extra-binomial
    variance shared by the stratum, chosen so that median|r − median r| / sd
    equals Φ⁻¹(3/4) (the MAD of a standard normal). When the residuals are
    narrower than sampling noise alone, τ² = 0 and every ``sqrt(v_i)`` is scaled
    down by the same factor. Returns the SDs and τ.
    """
    centred = np.abs(resid - np.median(resid))

    def excess(tau2: float) -> float:
        return float(np.median(centred / np.sqrt(tau2 + sampling_var))) - _Q75

    at_zero = excess(0.0)
    if at_zero <= 0.0:
        factor = max((at_zero + _Q75) / _Q75, 1e-6)
        sd: FloatArray = factor * np.sqrt(sampling_var)
        return sd, 0.0
    upper = float(np.median(centred) / _Q75) ** 2  # there, every sd ≥ the plain MAD scale
    tau2 = float(brentq(excess, 0.0, upper, xtol=1e-14 * upper, rtol=1e-12))
    sd = np.sqrt(tau2 + sampling_var)
    return sd, float(np.sqrt(tau2))


@dataclass(frozen=True)
class _Design:
    columns: dict[str, FloatArray]
    usable: BoolArray
    matching: dict[str, JsonValue]
    prior_cast: FloatArray | None


def _duplicated(ids: np.ndarray) -> BoolArray:
    _, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    out: BoolArray = counts[inverse.ravel()] > 1
    return out


def _design(
    table: UnitTable, prior: UnitTable | None, covariates: dict[str, np.ndarray] | None
) -> _Design:
    n = table.n
    columns: dict[str, FloatArray] = {}
    usable: BoolArray = table.ballots_cast > 0
    matching: dict[str, JsonValue] = {}
    prior_cast: FloatArray | None = None
    if prior is not None:
        dup_cur, dup_prior = _duplicated(table.unit_id), _duplicated(prior.unit_id)
        cur_pos, prior_pos = np.flatnonzero(~dup_cur), np.flatnonzero(~dup_prior)
        _, i_cur, i_prior = np.intersect1d(
            table.unit_id[cur_pos], prior.unit_id[prior_pos], return_indices=True
        )
        cur_idx, prior_idx = cur_pos[i_cur], prior_pos[i_prior]
        choice = table.leader if table.leader in prior.votes else prior.leader
        share = np.full(n, np.nan)
        share[cur_idx] = prior.share(choice)[prior_idx]
        columns["prior_share"] = share
        prior_cast = np.full(n, np.nan)
        prior_cast[cur_idx] = prior.ballots_cast[prior_idx]
        if prior.has_electorate:
            turnout = np.full(n, np.nan)
            turnout[cur_idx] = prior.turnout()[prior_idx]
            columns["prior_turnout"] = turnout
        matched = int(cur_idx.shape[0])
        matching = {
            "current_units": n,
            "prior_units": prior.n,
            "matched": matched,
            "unmatched_current": n - matched,
            "unmatched_prior": prior.n - matched,
            "duplicate_ids_current": int(np.count_nonzero(dup_cur)),
            "duplicate_ids_prior": int(np.count_nonzero(dup_prior)),
            "prior_choice": choice,
        }
    for name, values in (covariates or {}).items():
        column = np.asarray(values, dtype=np.float64)
        if column.shape != (n,):
            raise ValueError(f"covariate {name!r} has shape {column.shape}, expected ({n},)")
        columns[name] = column
    for column in columns.values():
        usable &= np.isfinite(column)
    return _Design(columns, usable, matching, prior_cast)


def _sign_component(
    name: str, z: FloatArray, selected: BoolArray, extra: dict[str, JsonValue]
) -> Component:
    total = int(np.count_nonzero(selected))
    positive = int(np.count_nonzero(selected & (z > 0.0)))
    statistics: dict[str, JsonValue] = {
        "statistic": positive,
        "selected": total,
        "below_prediction": total - positive,
        "expected_under_null": total / 2.0,
        **extra,
    }
    return Component(name, statistics, sign_test_p_value(positive, total))


def _result(
    null: str,
    components: tuple[Component, ...],
    details: dict[str, JsonValue],
    flagged: tuple[str, ...] = (),
) -> TestResult:
    return TestResult(
        name=_NAME,
        title=_TITLE,
        citation=_CITATION,
        null=null,
        components=components,
        headline="positive_outliers",
        caveats=_CAVEATS,
        details=details,
        flagged_units=flagged,
    )


def _skip(null: str, reason: str, details: dict[str, JsonValue]) -> TestResult:
    skipped = (
        Component("positive_outliers", {}, None, skipped=reason),
        Component("tail_asymmetry", {}, None, skipped=reason),
    )
    return _result(null, skipped, details)


def _sampling_var(
    predicted: FloatArray,
    cast: FloatArray,
    beta_prior: float,
    prior_share: FloatArray | None,
    prior_cast: FloatArray | None,
) -> FloatArray:
    """Binomial variance of the current share plus that of the prior share, through its slope."""
    pi = np.clip(predicted, 0.01, 0.99)
    var: FloatArray = pi * (1.0 - pi) / cast
    if prior_share is not None and prior_cast is not None:
        pp = np.clip(prior_share, 0.01, 0.99)
        var = var + beta_prior**2 * pp * (1.0 - pp) / prior_cast
    return var


def run(
    table: UnitTable,
    *,
    rng: np.random.Generator,
    replicates: int = 1000,
    prior: UnitTable | None = None,
    covariates: dict[str, np.ndarray] | None = None,
    q_threshold: float = 0.05,
    tail_z: float = 3.0,
    scale: Scale = "binomial",
    min_region_units: int = MIN_REGION_UNITS,
    max_listed: int = 1000,
) -> TestResult:
    """Flag units far from their robust prediction; test whether flags lean to the leader.

    Args:
        table: the current election.
        rng, replicates: accepted for the common interface; the headline's
            null distribution is exact (see the module docstring).
        prior: an earlier election on (mostly) the same units, matched by
            ``unit_id``; its share of the current leader's name (or, if absent,
            of its own leader) and its turnout are the predictors.
        covariates: extra predictors, one value per unit of ``table``
            (default: ``table.covariates``).
        q_threshold: the FDR level at which units are flagged.
        tail_z: |z| beyond which units enter the secondary sign test.
        scale: ``"binomial"`` (default) divides each residual by
            ``sqrt(τ² + v_i)``, v_i the unit's binomial sampling variance (see
            ``binomial_scale``), so small units are not flagged for their size;
            ``"mad"`` divides by the stratum's plain 1.4826·MAD.
        min_region_units: smaller regions are pooled into one "other" stratum.
        max_listed: at most this many flagged units are listed in ``details``.
    """
    del rng, replicates  # the sign-flip null is computed exactly
    covariates = table.covariates if covariates is None else covariates
    if prior is None and not covariates:
        null = "Residuals of the robust regression are symmetric about zero within region."
        return _skip(null, "no prior election given (and no covariates)", {})
    design = _design(table, prior, covariates)
    names = ["intercept", *design.columns]
    null = (
        "Within each region, the residuals of the Huber regression of the leader's share on "
        f"{', '.join(names[1:])} are symmetric about zero and independent, so a flagged "
        "unit is as likely to lie below its prediction as above it."
    )
    details: dict[str, JsonValue] = {"matching": design.matching, "predictors": names[1:]}
    idx = np.flatnonzero(design.usable)
    strata = region_strata(
        None if table.region is None else table.region[idx],
        min_units=max(min_region_units, 3 * len(names)),
    )
    codes: IntArray = strata.codes if table.region is not None else np.zeros(idx.size, np.int64)
    x_all = np.column_stack([np.ones(idx.size), *(col[idx] for col in design.columns.values())])
    y_all = table.share()[idx]
    cast = table.ballots_cast[idx].astype(np.float64)
    prior_share = design.columns["prior_share"][idx] if prior is not None else None
    prior_cast = None if design.prior_cast is None else design.prior_cast[idx]
    predicted, z = np.full(idx.size, np.nan), np.full(idx.size, np.nan)
    fits: list[JsonValue] = []
    for g, label in enumerate(strata.labels):
        members = np.flatnonzero(codes == g)
        if members.size < len(names) + 3:
            fits.append({"region": label, "n": int(members.size), "fitted": False})
            continue
        fit = huber_irls(x_all[members], y_all[members])
        predicted[members] = x_all[members] @ fit.beta
        resid = y_all[members] - predicted[members]
        info: dict[str, JsonValue] = {"mad_scale": fit.scale}
        if scale == "binomial":
            var = _sampling_var(
                predicted[members],
                cast[members],
                float(fit.beta[1]) if prior_share is not None else 0.0,
                None if prior_share is None else prior_share[members],
                None if prior_cast is None else prior_cast[members],
            )
            sd, tau = binomial_scale(resid, var)
            z[members] = resid / sd
            info.update(extra_binomial_sd=tau, median_sd=float(np.median(sd)))
        else:
            z[members] = resid / fit.scale if fit.scale > 0.0 else 0.0
        fits.append(
            {
                "region": label,
                "n": int(members.size),
                "fitted": True,
                "coefficients": dict(zip(names, map(float, fit.beta), strict=True)),
                **info,
                "iterations": fit.iterations,
                "converged": fit.converged,
            }
        )
    tested = ~np.isnan(z)
    p = np.where(tested, erfc(np.abs(z) / np.sqrt(2.0)), np.nan)
    q = bh_qvalues_array(p)
    details.update(
        n_tested=int(np.count_nonzero(tested)),
        n_not_tested=table.n - int(np.count_nonzero(tested)),
        strata=list(strata.labels),
        pooled_regions=list(strata.pooled),
        fits=fits,
        scale=scale,
        per_unit_p_values="two-sided, standard normal reference for z = residual / sd",
    )
    if not tested.any():
        return _skip(null, "no region has enough matched units to fit", details)
    flagged_mask: BoolArray = tested & (q <= q_threshold)
    order = np.flatnonzero(flagged_mask)
    order = order[np.argsort(q[order], kind="stable")]
    region = table.region
    details["n_flagged"] = int(order.size)
    details["flagged"] = [
        {
            "unit_id": str(table.unit_id[idx[i]]),
            "region": None if region is None else str(region[idx[i]]),
            "share": float(y_all[i]),
            "predicted": float(predicted[i]),
            "z": float(z[i]),
            "q": float(q[i]),
        }
        for i in order[:max_listed]
    ]
    components = (
        _sign_component("positive_outliers", z, flagged_mask, {"q_threshold": q_threshold}),
        _sign_component(
            "tail_asymmetry", z, tested & (np.abs(np.nan_to_num(z)) > tail_z), {"z": tail_z}
        ),
    )
    flagged = tuple(str(u) for u in table.unit_id[idx[order]])
    return _result(null, components, details, flagged)
