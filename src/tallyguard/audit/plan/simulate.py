"""Sample sizes by simulation: how many ballots finish the audit in one round.

For one assertion or a whole contest, and every applicable risk-measuring
method side by side, this simulates seeded audits of a hypothetical population
(:mod:`~tallyguard.audit.plan.population`) and reports the sample size that
confirms the outcome in one round with probability 0.5 / 0.7 / 0.9, the
expected sample size, and the Monte-Carlo standard error of each. This is
SHANGRLA's quantile-of-simulated-sample-sizes approach (Stark 2020, §4.2;
``Audit.find_sample_size``) and Arlo's probability-of-completion options
(70/80/90 %, pitfall P9: estimates, not guarantees).

A contest confirms when its last assertion does, so its size is the quantile of
the per-replication maximum over its assertions, all audited on the same draws.
Sizes at or above the number of cards mean a full hand count and are reported
as such; a tie or a reported loss (margin <= 0) plans a full hand count
directly. After a round that did not confirm, :func:`next_round_size`
continues the simulation from the values observed so far.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tallyguard.audit.assorters import Assertion
from tallyguard.audit.plan.closed_form import ARLO_RATES, ErrorRates
from tallyguard.audit.plan.engine import RiskFunction, stopping_sizes
from tallyguard.audit.plan.population import (
    AuditKind,
    Floats,
    Ints,
    Population,
    comparison_population,
    polling_populations,
    remove_observed,
)
from tallyguard.errors import InputError

QUANTILES = (0.5, 0.7, 0.9)


@dataclass(frozen=True)
class PlanRow:
    """One method's sample sizes for an assertion or a contest.

    ``sizes`` are cumulative draws (including ``already_drawn``); a size equal
    to ``limit`` with ``full_hand_count`` true means the audit is expected to
    end in a full hand count with at least that probability.
    """

    subject: str
    method: str
    quantiles: tuple[float, ...]
    sizes: tuple[int, ...]
    size_se: tuple[float, ...]
    full_hand_count: tuple[bool, ...]
    expected: float
    expected_se: float
    limit: int
    already_drawn: int
    reps: int
    seed: int
    with_replacement: bool
    note: str = ""

    @property
    def next_round(self) -> tuple[int, ...]:
        """Draws still to make in the next round, per quantile."""
        return tuple(max(0, s - self.already_drawn) for s in self.sizes)


def quantile_with_se(sizes: Ints, q: float) -> tuple[int, float]:
    """Empirical q-quantile (smallest n with P(stop <= n) >= q) and its standard error.

    The SE is half the width of the order-statistic interval with ranks
    ``qR -+ sqrt(R q (1-q))`` (the binomial +-1 SD of the count below the
    quantile; David & Nagaraja 2003, Order Statistics, §7.1).
    """
    s = np.sort(np.asarray(sizes))
    reps = s.size
    k = max(1, math.ceil(q * reps - 1e-9))
    half = math.sqrt(reps * q * (1 - q))
    lo = max(1, math.floor(q * reps - half))
    hi = min(reps, math.ceil(q * reps + half))
    return int(s[k - 1]), float(s[hi - 1] - s[lo - 1]) / 2.0


def summarise(
    sizes: Ints,
    *,
    subject: str,
    method: str,
    quantiles: Sequence[float],
    limit: int,
    already_drawn: int,
    seed: int,
    replace: bool,
    note: str = "",
) -> PlanRow:
    """A :class:`PlanRow` from simulated stopping sizes."""
    pairs = [quantile_with_se(sizes, q) for q in quantiles]
    values = np.asarray(sizes, dtype=np.float64)
    se = float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else 0.0
    return PlanRow(
        subject=subject,
        method=method,
        quantiles=tuple(quantiles),
        sizes=tuple(min(n, limit) for n, _ in pairs),
        size_se=tuple(e for _, e in pairs),
        full_hand_count=tuple(n >= limit for n, _ in pairs),
        expected=float(values.mean()),
        expected_se=se,
        limit=limit,
        already_drawn=already_drawn,
        reps=int(values.size),
        seed=seed,
        with_replacement=replace,
        note=note,
    )


def risk_functions(
    kind: AuditKind,
    names: Sequence[str] | None,
    populations: Sequence[Population] = (),
) -> dict[str, RiskFunction]:
    """The methods of ``tallyguard.audit.risk`` that apply to ``kind`` (or those named).

    A method that refuses one of the populations' assertions (BRAVO on a
    supermajority assorter with u != 1, say) is left out when no methods were
    named, and is an :class:`InputError` when it was named.
    """
    from tallyguard.audit.risk import COMPARISON_METHODS, METHODS, POLLING_METHODS

    applicable = POLLING_METHODS if kind == "polling" else COMPARISON_METHODS
    chosen = list(applicable) if names is None else list(names)
    wrong = [n for n in chosen if n not in applicable]
    if wrong:
        raise InputError(
            f"method(s) {wrong} do not apply to {kind} audits.",
            field="method",
            fix=f"choose from {list(applicable)}.",
        )
    result = {}
    for name in chosen:
        try:
            for pop in populations:  # one card of every type
                for t, values in zip(pop.targets, pop.values, strict=True):
                    METHODS[name](values, N=None, u=t.upper_bound, eta=t.eta)
        except ValueError as refusal:
            if names is not None:
                raise InputError(f"method {name!r}: {refusal}", field="method") from refusal
            continue
        result[name] = METHODS[name]
    return result


def _horizon(populations: Sequence[Population], alpha: float) -> float:
    """A rough first horizon: ln(1/alpha) over the per-draw drift of the closest assertion."""
    drifts = []
    for pop in populations:
        for spec, mean in zip(pop.targets, pop.means(), strict=True):
            gap = (mean - 0.5) / spec.upper_bound
            drifts.append(2.0 * gap * gap if pop.kind == "polling" else gap)
    drift = min(drifts)
    return math.log(1 / alpha) / drift if drift > 0 else math.inf


def plan_populations(
    populations: Sequence[Population],
    *,
    subject: str,
    alpha: float = 0.05,
    methods: Mapping[str, RiskFunction],
    reps: int = 1000,
    seed: int = 0,
    replace: bool = False,
    quantiles: Sequence[float] = QUANTILES,
    observed: Sequence[Floats | None] | None = None,
) -> list[PlanRow]:
    """Plan rows for the assertions of ``populations`` confirmed together, one per method.

    Assertions inside one population share draws; separate populations are
    simulated independently (seeds ``[seed, i]``) and the contest needs the
    per-replication maximum. ``observed`` (one assertions x m0 array per
    population) conditions on the draws of earlier rounds.
    """
    if not 0 < alpha < 1:
        raise InputError(f"risk limit {alpha!r} must lie strictly between 0 and 1.", field="alpha")
    if reps < 1 or any(not 0 < q < 1 for q in quantiles):
        raise InputError("need reps >= 1 and quantiles strictly between 0 and 1.")
    ballots = populations[0].size
    prior = [None] * len(populations) if observed is None else list(observed)
    m0 = max((0 if o is None else np.atleast_2d(o).shape[1]) for o in prior)
    limit = ballots

    def common(note: str, sizes: Ints) -> list[PlanRow]:
        return [
            summarise(
                sizes,
                subject=subject,
                method=name,
                quantiles=quantiles,
                limit=limit,
                already_drawn=m0,
                seed=seed,
                replace=replace,
                note=note,
            )
            for name in methods
        ]

    if not all(t.can_confirm for pop in populations for t in pop.targets):
        note = "reported margin <= 0 (a tie or a loss): only a full hand count settles it"
        return common(note, np.full(reps, limit, dtype=np.int64))
    if m0 >= ballots:
        return common("every card has been drawn", np.full(reps, limit, dtype=np.int64))
    guess = _horizon(populations, alpha)
    worst = {name: np.zeros(reps, dtype=np.int64) for name in methods}
    for i, (pop, obs) in enumerate(zip(populations, prior, strict=True)):
        if pop.size != ballots:
            raise InputError("the populations of one contest must have the same number of cards.")
        remaining = None if obs is None or replace else remove_observed(pop, obs)
        sizes = stopping_sizes(
            pop,
            methods,
            alpha=alpha,
            reps=reps,
            seed=(seed,) if len(populations) == 1 else (seed, i),
            limit=limit,
            replace=replace,
            observed=obs,
            remaining=remaining,
            horizon=guess + m0,
        )
        for name in methods:  # 0: not confirmed, a full hand count; never fewer than m0
            stop = np.where(sizes[name] == 0, limit, np.maximum(sizes[name], m0))
            worst[name] = np.maximum(worst[name], stop)
    return [
        summarise(
            worst[name],
            subject=subject,
            method=name,
            quantiles=quantiles,
            limit=limit,
            already_drawn=m0,
            seed=seed,
            replace=replace,
        )
        for name in methods
    ]


def _populations(
    assertions: Sequence[Assertion],
    kind: AuditKind,
    totals: Mapping[str, int] | None,
    rates: ErrorRates,
) -> list[Population]:
    if kind == "polling":
        if totals is None:
            raise InputError("a ballot-polling plan needs the reported tallies.", field="totals")
        return polling_populations(assertions, totals)
    if kind == "comparison":
        return [comparison_population(assertions, rates)]
    raise InputError(f"unknown audit kind {kind!r}.", field="kind", fix="polling or comparison")


def plan_contest(
    assertions: Sequence[Assertion],
    *,
    kind: AuditKind,
    totals: Mapping[str, int] | None = None,
    rates: ErrorRates = ARLO_RATES,
    alpha: float = 0.05,
    methods: Sequence[str] | None = None,
    reps: int = 1000,
    seed: int = 0,
    replace: bool = False,
    quantiles: Sequence[float] = QUANTILES,
    functions: Mapping[str, RiskFunction] | None = None,
) -> list[PlanRow]:
    """First-round sample sizes for a contest (all its assertions), one row per method.

    Polling: cards are drawn from the reported tallies ``totals``;
    comparison: from no-error cards plus discrepancies at ``rates`` (Arlo's
    defaults). Without replacement unless ``replace``. ``functions`` replaces
    ``tallyguard.audit.risk.METHODS`` (e.g. in tests).
    """
    populations = _populations(assertions, kind, totals, rates)
    funcs = dict(functions) if functions else risk_functions(kind, methods, populations)
    subject = assertions[0].assorter.contest.name if len(assertions) > 1 else assertions[0].name
    return plan_populations(
        populations,
        subject=subject,
        alpha=alpha,
        methods=funcs,
        reps=reps,
        seed=seed,
        replace=replace,
        quantiles=quantiles,
    )


def plan_assertion(
    assertion: Assertion,
    *,
    kind: AuditKind,
    totals: Mapping[str, int] | None = None,
    rates: ErrorRates = ARLO_RATES,
    alpha: float = 0.05,
    methods: Sequence[str] | None = None,
    reps: int = 1000,
    seed: int = 0,
    replace: bool = False,
    quantiles: Sequence[float] = QUANTILES,
    functions: Mapping[str, RiskFunction] | None = None,
) -> list[PlanRow]:
    """First-round sample sizes for one assertion, every method side by side.

    Same arguments as :func:`plan_contest`; the population holds the
    assertion's values only.
    """
    return plan_contest(
        [assertion],
        kind=kind,
        totals=totals,
        rates=rates,
        alpha=alpha,
        methods=methods,
        reps=reps,
        seed=seed,
        replace=replace,
        quantiles=quantiles,
        functions=functions,
    )


def next_round_size(
    assertions: Sequence[Assertion],
    observed: Sequence[NDArray[np.float64]],
    *,
    kind: AuditKind,
    totals: Mapping[str, int] | None = None,
    rates: ErrorRates = ARLO_RATES,
    alpha: float = 0.05,
    methods: Sequence[str] | None = None,
    reps: int = 1000,
    seed: int = 0,
    replace: bool = False,
    quantiles: Sequence[float] = QUANTILES,
    functions: Mapping[str, RiskFunction] | None = None,
) -> list[PlanRow]:
    """Cumulative sample size for the next round, given the values observed so far.

    ``observed[i]`` holds assertion i's values (assorter values for polling,
    overstatement values B for comparison) on the cards drawn so far, in draw
    order; all have the same length m0. Each simulated audit starts from these
    values and continues with draws from the hypothetical population minus the
    cards already drawn (without replacement), so the sizes count the m0 cards
    already audited; ``PlanRow.next_round`` gives the draws still to make.
    """
    if len(observed) != len(assertions):
        raise InputError("give the observed values of every assertion.", field="observed")
    lengths = {np.asarray(o).shape[-1] for o in observed}
    if len(lengths) != 1:
        raise InputError("every assertion must be observed on the same draws.", field="observed")
    populations = _populations(assertions, kind, totals, rates)
    funcs = dict(functions) if functions else risk_functions(kind, methods, populations)
    names = [a.name for a in assertions]
    per_pop: list[Floats | None] = []
    for pop in populations:
        rows = [np.asarray(observed[names.index(t.name)], np.float64) for t in pop.targets]
        per_pop.append(np.vstack(rows))
    subject = assertions[0].assorter.contest.name if len(assertions) > 1 else assertions[0].name
    return plan_populations(
        populations,
        subject=subject,
        alpha=alpha,
        methods=funcs,
        reps=reps,
        seed=seed,
        replace=replace,
        quantiles=quantiles,
        observed=per_pop,
    )
