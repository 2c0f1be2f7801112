"""Turnout–share relation within regions (the Sobyanin–Sukhovolsky signature).

Sobyanin & Sukhovolsky (1993; *Demokratiya, ogranichennaya fal'sifikatsiyami*,
Moscow, 1995) read ballot-box stuffing from the regression of a candidate's votes
per registered voter on turnout across precincts: if the extra turnout of a
precinct is cast in the same proportions as the rest, the leader's votes per
elector grow with turnout at the rate of the leader's share; ballots added for
the leader push that slope towards 1. Myagkov, Ordeshook & Shakin (2009), *The
Forensics of Election Fraud* (Cambridge UP), use the same regressions and the
turnout–share correlation; both are in the USAID Election Forensics Toolkit of
Mebane & Kalinin (EFToolkit).

Here, with t = ballots_issued/electorate, s = leader/ballots_cast and
y = leader/electorate, both statistics are pooled within region (each unit
weighted equally, every variable centred on its region's mean):

    r = Σ t̃ s̃ / sqrt(Σ t̃² · Σ s̃²),      b = Σ t̃ ỹ / Σ t̃²,

and the slope component reports b − s̄, s̄ = Σ_g S_tt,g · mean_g(s) / Σ_g S_tt,g
(the regional mean shares weighted as the slope weights the regions). Centring
within region matters: when regions differ in both mean turnout and mean share,
the unstratified correlation is non-zero without any unit-level relation
(``stratify=False`` shows this). The null is tested by permuting the shares
within each region, which leaves every region's turnouts, shares and sizes as
they are. Both statistics are linear in the permuted shares, so each replicate
costs one dot product per component.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tallyguard.forensics.result import Component, JsonValue, TestResult, monte_carlo_p_value
from tallyguard.forensics.table import BoolArray, FloatArray, IntArray, UnitTable

__all__ = ["MIN_REGION_UNITS", "Strata", "permutation_null", "region_strata", "run"]

#: Regions with fewer included units are pooled into one "other" stratum.
MIN_REGION_UNITS = 10
#: Elements per block of permuted shares (bounds memory at ~32 MB).
_BLOCK_ELEMENTS = 4_000_000

_NAME = "turnout_share_relation"
_TITLE = "Turnout–share relation within regions (Sobyanin–Sukhovolsky)"
_CITATION = (
    "Sobyanin & Sukhovolsky (1993, 1995); Myagkov, Ordeshook & Shakin (2009), The Forensics "
    "of Election Fraud, Cambridge UP; Mebane & Kalinin, USAID Election Forensics Toolkit"
)
_NULL = (
    "Within each region, the leader's share is independent of turnout: any permutation of "
    "the shares among the region's units is equally likely."
)
_CAVEATS = (
    "Honest heterogeneity inside a region (urban/rural, ethnic composition, mobilisation by "
    "one side) makes turnout and vote choice move together; this test cannot tell that "
    "from ballot stuffing, it only says the association is larger than independence allows.",
    "Regions are the only strata; a relation that runs through finer units (districts, "
    "commissions) or covariates is not removed.",
    "A negative relation is not evidence of anything, and no relation is not evidence of a "
    "clean count: vote switching without extra turnout leaves no trace here.",
)


def _caveats(min_units: int) -> tuple[str, ...]:
    rule = (
        "Units with electorate 0 or no ballots cast are excluded; regions with fewer than "
        f"{min_units} included units are pooled into one 'other' stratum."
    )
    return (*_CAVEATS, rule)


@dataclass(frozen=True)
class Strata:
    """Stratum codes (0 … k−1) per unit, their labels and the regions pooled into "other"."""

    codes: IntArray
    labels: tuple[str, ...]
    pooled: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.labels)


def region_strata(region: NDArray[np.str_] | None, *, min_units: int = MIN_REGION_UNITS) -> Strata:
    """Strata from a region column: one per region with ≥ ``min_units`` units.

    Smaller regions share one stratum labelled ``"other"`` (last); without a
    region column every unit is in the single stratum ``"all"``. Strata are
    numbered in order of first appearance.
    """
    if region is None:
        return Strata(np.zeros(0, dtype=np.int64), ("all",), ())
    names, first, inverse, counts = np.unique(
        region, return_index=True, return_inverse=True, return_counts=True
    )
    big = counts >= min_units
    rank = np.empty(names.shape[0], dtype=np.int64)
    by_appearance = np.argsort(first, kind="stable")
    kept = by_appearance[big[by_appearance]]
    rank[kept] = np.arange(kept.shape[0])
    small = ~big
    rank[small] = kept.shape[0]
    labels = [str(names[i]) for i in kept]
    pooled = tuple(str(names[i]) for i in by_appearance[small[by_appearance]])
    if pooled:
        labels.append("other (pooled)" if "other" in labels else "other")
    codes: IntArray = rank[inverse.ravel()].astype(np.int64)
    return Strata(codes, tuple(labels), pooled)


def _codes(strata: Strata, n: int) -> IntArray:
    return strata.codes if strata.codes.shape[0] == n else np.zeros(n, dtype=np.int64)


def _centre(x: FloatArray, codes: IntArray, counts: FloatArray) -> FloatArray:
    means = np.bincount(codes, weights=x, minlength=counts.shape[0]) / np.maximum(counts, 1.0)
    out: FloatArray = x - means[codes]
    return out


def _drop_constant(
    centred: FloatArray, codes: IntArray, counts: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Zero the centred values of strata whose sum of squares is rounding noise."""
    squares = np.asarray(
        np.bincount(codes, weights=centred * centred, minlength=counts.shape[0]), np.float64
    )
    constant = squares <= counts * 1e-24  # values lie in [0, ~1]: real spread is ≥ 1e-12
    if not constant.any():
        return centred, squares
    squares[constant] = 0.0
    kept: FloatArray = np.where(constant[codes], 0.0, centred)
    return kept, squares


def permutation_null(
    share: FloatArray,
    weights: FloatArray,
    codes: IntArray,
    *,
    rng: np.random.Generator,
    replicates: int,
) -> FloatArray:
    """``replicates × k`` draws of ``share_π @ weights`` with π permuting within strata.

    ``weights`` is ``n × k``; strata are processed one at a time, replicates in
    blocks, and each block row is shuffled in place (Fisher–Yates) by
    ``Generator.permuted``.
    """
    order = np.argsort(codes, kind="stable")
    s_sorted = share[order]
    w_sorted = weights[order]
    bounds = np.searchsorted(codes[order], np.arange(int(codes.max(initial=0)) + 2))
    out = np.zeros((replicates, weights.shape[1]))
    for g in range(bounds.shape[0] - 1):
        lo, hi = int(bounds[g]), int(bounds[g + 1])
        if hi - lo < 2:
            out += s_sorted[lo:hi] @ w_sorted[lo:hi]
            continue
        rows = max(1, _BLOCK_ELEMENTS // (hi - lo))
        for start in range(0, replicates, rows):
            stop = min(replicates, start + rows)
            block = np.tile(s_sorted[lo:hi], (stop - start, 1))
            rng.permuted(block, axis=1, out=block)
            out[start:stop] += block @ w_sorted[lo:hi]
    return out


def _skipped(reason: str, details: dict[str, JsonValue], min_units: int) -> TestResult:
    components = (
        Component("correlation", {}, None, skipped=reason),
        Component("slope", {}, None, skipped=reason),
    )
    return TestResult(
        name=_NAME,
        title=_TITLE,
        citation=_CITATION,
        null=_NULL,
        components=components,
        headline="correlation",
        caveats=_caveats(min_units),
        details=details,
    )


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den > 0.0 else None


def _null_summary(null: FloatArray) -> dict[str, JsonValue]:
    return {
        "null_mean": float(null.mean()),
        "null_sd": float(null.std(ddof=1)) if null.size > 1 else 0.0,
        "null_q95": float(np.quantile(null, 0.95)),
    }


def run(
    table: UnitTable,
    *,
    rng: np.random.Generator,
    replicates: int = 1000,
    stratify: bool = True,
    min_region_units: int = MIN_REGION_UNITS,
) -> TestResult:
    """Pooled within-region turnout–share correlation and votes-per-elector slope.

    Headline: the correlation, one-sided upper (stuffing raises turnout and the
    leader's share together). Both p-values are Monte-Carlo permutation
    p-values, (1 + #{null ≥ observed}) / (R + 1), with shares permuted within
    each stratum. ``stratify=False`` treats the whole table as one stratum (it
    is wrong on heterogeneous data and is kept to show why).
    """
    if replicates < 1:
        raise ValueError("replicates must be at least 1")
    if not table.has_electorate:
        return _skipped(
            "the table reports no electorate, so turnout is undefined", {}, min_region_units
        )
    include: BoolArray = (table.electorate > 0) & (table.ballots_cast > 0)
    n_zero_electorate = int(np.count_nonzero(table.electorate <= 0))
    n_no_ballots = int(np.count_nonzero((table.electorate > 0) & (table.ballots_cast <= 0)))
    sub = table.subset(include)
    strata = region_strata(sub.region if stratify else None, min_units=min_region_units)
    codes = _codes(strata, sub.n)
    details: dict[str, JsonValue] = {
        "n_units": sub.n,
        "excluded": {"electorate_zero": n_zero_electorate, "no_ballots_cast": n_no_ballots},
        "stratified": stratify and table.region is not None,
        "strata": list(strata.labels),
        "pooled_regions": list(strata.pooled),
    }
    if sub.n < 3:
        return _skipped(
            f"only {sub.n} units with electorate and ballots", details, min_region_units
        )

    electorate = sub.electorate.astype(np.float64)
    t = sub.ballots_issued / electorate
    s = sub.leader_votes / sub.ballots_cast.astype(np.float64)
    c = sub.ballots_cast / electorate  # y = s · c, leader votes per elector
    k = strata.count
    counts = np.bincount(codes, minlength=k).astype(np.float64)
    tc, sc, yc = _centre(t, codes, counts), _centre(s, codes, counts), _centre(s * c, codes, counts)
    # A variable constant within a stratum centres to rounding noise; make that exactly 0.
    tc, s_tt_g = _drop_constant(tc, codes, counts)
    sc, s_ss_g = _drop_constant(sc, codes, counts)
    s_ts_g = np.bincount(codes, weights=tc * sc, minlength=k)
    s_ty_g = np.bincount(codes, weights=tc * yc, minlength=k)
    mean_s_g = np.bincount(codes, weights=s, minlength=k) / np.maximum(counts, 1.0)
    s_tt, s_ss = float(s_tt_g.sum()), float(s_ss_g.sum())
    details["by_region"] = [
        {
            "region": strata.labels[g],
            "n": int(counts[g]),
            "correlation": _ratio(float(s_ts_g[g]), float(np.sqrt(s_tt_g[g] * s_ss_g[g]))),
            "slope": _ratio(float(s_ty_g[g]), float(s_tt_g[g])),
            "share": float(mean_s_g[g]),
        }
        for g in range(k)
    ]
    if s_tt <= 0.0 or s_ss <= 0.0:
        what = "turnout" if s_tt <= 0.0 else "the leader's share"
        return _skipped(f"{what} does not vary within any region", details, min_region_units)

    corr = float(s_ts_g.sum()) / float(np.sqrt(s_tt * s_ss))
    slope = float(s_ty_g.sum()) / s_tt
    pooled_share = float(np.sum(s_tt_g * mean_s_g)) / s_tt
    ta, sa = t - t.mean(), s - s.mean()
    unstratified = float(np.sum(ta * sa) / np.sqrt(np.sum(ta * ta) * np.sum(sa * sa)))
    # Both statistics are linear in the shares once the within-stratum means drop out.
    weights = np.column_stack([tc / np.sqrt(s_tt * s_ss), tc * c / s_tt])
    null = permutation_null(s, weights, codes, rng=rng, replicates=replicates)
    # Observed values as the null computes them, less a rounding tolerance (as in
    # scipy.stats.permutation_test), so replicates equal to the data count as ties.
    observed = s @ weights
    tolerance = 1e-12 * (np.abs(s) @ np.abs(weights))
    null_slope_mean = float(np.sum(weights[:, 1] * mean_s_g[codes]))
    correlation = Component(
        "correlation",
        {
            "statistic": corr,
            "unstratified_correlation": unstratified,
            "n_units": sub.n,
            "n_strata": k,
            "replicates": replicates,
            **_null_summary(null[:, 0]),
        },
        monte_carlo_p_value(float(observed[0] - tolerance[0]), null[:, 0]),
    )
    slope_component = Component(
        "slope",
        {
            "statistic": slope - pooled_share,
            "slope": slope,
            "pooled_share": pooled_share,
            "null_expected_slope": null_slope_mean,
            "replicates": replicates,
            **_null_summary(null[:, 1] - pooled_share),
        },
        monte_carlo_p_value(float(observed[1] - tolerance[1]), null[:, 1]),
    )
    return TestResult(
        name=_NAME,
        title=_TITLE,
        citation=_CITATION,
        null=_NULL,
        components=(correlation, slope_component),
        headline="correlation",
        caveats=_caveats(min_region_units),
        details=details,
    )
