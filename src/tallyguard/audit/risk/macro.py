"""Batch-level comparison audits: MACRO with PPEB sampling, and a batch-assorter ALPHA.

MACRO. Stark, P.B. (2008). "A sharper discrepancy measure for post-election
audits." Ann. Appl. Stat. 2(3), 982-985 (the maximum across-contest relative
overstatement); Stark (2009), "Risk-limiting post-election audits: P-values
from common probability inequalities", IEEE TIFS 4(4) (PPEB sampling and the
Kaplan-Markov bound with taints).

For batch p with ``b_p`` ballots, and each (winner, loser) pair k of a contest
with reported margin ``V_k`` votes, let ``e_pk`` be the overstatement of the
pair's margin in the batch and ``u_pk = (r_wp - r_lp) + b_p`` the most it could
be (:func:`tallyguard.audit.assorters.pair_overstatements`). Then (Stark 2008)

    e_p = max_k e_pk / V_k,   u_p = max_k u_pk / V_k,   U = sum_p u_p,

and if the reported outcome is wrong, ``sum_p e_p >= 1``. Batches are drawn
with replacement with probability ``u_p / U`` (PPEB); the taint of a draw is
``t = e_p / u_p <= 1``, and its expectation is at least ``1/U`` when the outcome
is wrong, so

    P_n = prod_{j<=n} (1 - 1/U) / (1 - t_j)

is the Kaplan-Markov p-value (Stark 2009; the form of Arlo's
``audit_math/macro.py``). Arlo counts negative errors (understatements) as 0;
so does this module unless ``credit_understatements`` is set (the bound is
valid either way, since ``u_p t_p = e_p >= e_pk / V_k`` for every pair).
A tie or loss (some ``V_k <= 0``) makes every bound infinite: p = 1.

This taint (``e_p`` and ``u_p`` each maximised over pairs, as in Stark 2008
and Arlo) is never larger than ``max_k e_pk / u_pk``, and equals it for a
single pair.

Batch-assorter ALPHA (SHANGRLA style; Stark 2020, and Stark 2023, ALPHA):
for one pair, with P batches sampled uniformly (without replacement by
default), let ``u* = max_p u_p`` (votes) and ``V = sum_p (r_wp - r_lp)``; the
batch value

    x_p = (1 - e_p / u*) * a,    a = 1 / (2 - 2V / (P u*)),

lies in [0, u_x] and its mean over the P batches exceeds 1/2 iff the total
overstatement is below V, i.e. iff the reported winner really won the pair.
It is tested with ALPHA, whose alternative before each draw is the adaptive
Kelly bet of :mod:`tallyguard.audit.risk.betting` translated to ALPHA's eta
(Stark 2023, eq. 10), or ShrinkTrunc from a given ``eta0``. A contest is
confirmed when every pair is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tallyguard.audit.assorters import pair_overstatements
from tallyguard.audit.risk.alpha import alpha_p_values
from tallyguard.audit.risk.base import (
    Floats,
    cannot_confirm,
    last_p_value,
    sequential_p_values,
)
from tallyguard.audit.risk.betting import betting_p_values

Ints = NDArray[np.int64]
Pairs = Sequence[tuple[int, int]]


def pair_margins(reported: ArrayLike, pairs: Pairs) -> Ints:
    """Reported margin ``V_k`` in votes of each (winner, loser) column pair, over all batches."""
    table = np.atleast_2d(np.asarray(reported, dtype=np.int64))
    margins: Ints = np.array([int((table[:, w] - table[:, lo]).sum()) for w, lo in pairs])
    return margins


def _relative(
    reported: ArrayLike,
    audited: ArrayLike,
    ballots: ArrayLike,
    pairs: Pairs,
    margins: ArrayLike,
) -> tuple[Floats, Floats, Ints, Ints]:
    """``e_pk / V_k`` and ``u_pk / V_k`` (batches x pairs), and e, u in votes."""
    v = np.asarray(margins, dtype=np.float64)
    if v.shape != (len(pairs),):
        raise ValueError(f"need one margin per pair: {len(pairs)} pairs, {v.size} margins")
    rep = np.atleast_2d(np.asarray(reported, dtype=np.int64))
    aud = np.atleast_2d(np.asarray(audited, dtype=np.int64))
    b = np.asarray(ballots, dtype=np.int64)
    if aud.shape != rep.shape or b.shape != (rep.shape[0],):
        raise ValueError("reported and audited need the same (batches x choices) shape")
    if (b < 0).any():
        raise ValueError(f"batch {int(np.flatnonzero(b < 0)[0])} has a negative ballot count")
    cols = [pair_overstatements(rep, aud, w, lo, b) for w, lo in pairs]
    e = np.stack([c[0] for c in cols], axis=1)
    u = np.stack([c[1] for c in cols], axis=1)
    if (u < 0).any():
        p = int(np.flatnonzero((u < 0).any(axis=1))[0])
        raise ValueError(f"batch {p} reports more votes than ballots for a pair")
    with np.errstate(divide="ignore", invalid="ignore"):
        return e / v, u / v, e, u


def batch_error_bounds(
    reported: ArrayLike, ballots: ArrayLike, pairs: Pairs, *, margins: ArrayLike
) -> Floats:
    """``u_p = max_k ((r_wp - r_lp) + b_p) / V_k`` for every batch (inf if some V_k <= 0).

    ``U = bounds.sum()``; PPEB draws batch p with probability ``u_p / U``.
    ``margins`` are the pairs' reported margins in votes (:func:`pair_margins`,
    reduced for pending or unauditable ballots as Arlo does).
    """
    rep = np.atleast_2d(np.asarray(reported, dtype=np.int64))
    if (np.asarray(margins) <= 0).any():
        return np.full(rep.shape[0], np.inf)
    _, u_rel, _, _ = _relative(rep, rep, ballots, pairs, margins)
    bounds: Floats = u_rel.max(axis=1)
    return bounds


def batch_taints(
    reported: ArrayLike,
    audited: ArrayLike,
    ballots: ArrayLike,
    pairs: Pairs,
    *,
    margins: ArrayLike,
) -> Floats:
    """Taint ``t_p = (max_k e_pk / V_k) / (max_k u_pk / V_k)`` of each sampled batch.

    Rows are the sampled batches in draw order (a batch drawn twice appears
    twice). Taints may be negative (understatements); a tie or loss (some
    ``V_k <= 0``) gives taints of 1 (the worst case; MACRO cannot confirm).
    Audited counts that overstate a margin by more than its bound (more votes
    than ballots) raise ValueError naming the row.
    """
    rep = np.atleast_2d(np.asarray(reported, dtype=np.int64))
    if (np.asarray(margins) <= 0).any():
        return np.ones(rep.shape[0])
    e_rel, u_rel, e, u = _relative(rep, audited, ballots, pairs, margins)
    over = (e > u).any(axis=1)
    if over.any():
        p = int(np.flatnonzero(over)[0])
        raise ValueError(
            f"sampled batch {p}: the audited counts overstate a margin by more than the "
            "batch's ballots allow (check its ballot count and audited tallies)"
        )
    top = u_rel.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        taints: Floats = np.where(top > 0, e_rel.max(axis=1) / top, 0.0)
    return taints


def macro_p_values(
    taints: ArrayLike, *, total_bound: float, credit_understatements: bool = False
) -> Floats:
    """Sequential MACRO p-values ``min(1, min_n prod_{j<=n} (1 - 1/U) / (1 - t_j))``.

    Args:
        taints: Taints of the PPEB draws in draw order, each at most 1.
        total_bound: U, the sum of the batches' relative error bounds (> 1);
            ``inf`` (a tie or loss) gives p = 1 throughout.
        credit_understatements: Use negative taints as they are (default: count
            them as 0, as Arlo does).
    """
    t = np.asarray(taints, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError("taints must be a 1-D sequence")
    bad = np.flatnonzero(~np.isfinite(t) | (t > 1.0 + 1e-12))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"taint t[{i}] = {t[i]!r} is not a number at most 1")
    if math.isnan(total_bound) or total_bound <= 1.0:
        raise ValueError(f"the total error bound U must exceed 1, not {total_bound!r}")
    if math.isinf(total_bound) or t.size == 0:
        return cannot_confirm(t.size)
    t = np.minimum(t, 1.0) if credit_understatements else np.clip(t, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        steps = np.log1p(-t) - math.log1p(-1.0 / total_bound)
    return sequential_p_values(np.cumsum(steps))


def macro_p_value(
    taints: ArrayLike, *, total_bound: float, credit_understatements: bool = False
) -> float:
    """The MACRO p-value after the last draw (1 for an empty sample)."""
    return last_p_value(
        macro_p_values(
            taints, total_bound=total_bound, credit_understatements=credit_understatements
        )
    )


def batch_assorter_values(
    errors: ArrayLike, *, bounds: ArrayLike, ballots: ArrayLike
) -> tuple[Floats, float, float]:
    """Batch values x, their upper bound u_x and no-error value a (module docstring).

    Args:
        errors: ``e_p`` (votes) of the sampled batches in draw order.
        bounds: ``u_p = (r_wp - r_lp) + b_p`` (votes) of every batch.
        ballots: ``b_p`` of every batch, in the order of ``bounds``.
    """
    e = np.asarray(errors, dtype=np.float64)
    u_p = np.asarray(bounds, dtype=np.float64)
    b_p = np.asarray(ballots, dtype=np.float64)
    if u_p.ndim != 1 or u_p.shape != b_p.shape or u_p.size == 0:
        raise ValueError("bounds and ballots need one entry per batch of the population")
    top = float(u_p.max())
    margin = float((u_p - b_p).sum())
    if top <= 0 or margin <= 0:
        return np.full(e.size, 0.5), 1.0, 0.5
    lowest = float((u_p - 2.0 * b_p).min())  # the most a batch can understate
    bad = np.flatnonzero((e > top) | (e < lowest))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"batch error errors[{i}] = {e[i]!r} lies outside [{lowest}, {top}]")
    a = 1.0 / (2.0 - 2.0 * margin / (u_p.size * top))
    x: Floats = (1.0 - e / top) * a
    return x, (1.0 - lowest / top) * a, a


def batch_alpha_p_values(
    errors: ArrayLike,
    *,
    bounds: ArrayLike,
    ballots: ArrayLike,
    replace: bool = False,
    eta0: float | None = None,
) -> Floats:
    """Sequential ALPHA p-values for one pair from uniformly sampled batches.

    Without replacement by default (N = number of batches). ``eta0`` None uses
    the adaptive Kelly alternative (the betting martingale in ALPHA's
    parametrisation); a number uses ShrinkTrunc from that eta0.
    """
    x, u_x, a = batch_assorter_values(errors, bounds=bounds, ballots=ballots)
    if a <= 0.5:
        return cannot_confirm(x.size)
    n_batches = None if replace else int(np.asarray(bounds).size)
    if eta0 is None:
        return betting_p_values(x, N=n_batches, u=u_x, eta=a)
    return alpha_p_values(x, N=n_batches, u=u_x, eta0=eta0)
