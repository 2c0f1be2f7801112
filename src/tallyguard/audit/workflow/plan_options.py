"""Sample-size options for the next round, each with its probability of finishing the audit.

For every targeted contest the existing planners simulate seeded audits of a
hypothetical population (SHANGRLA's quantile-of-simulated-sample-sizes
approach, Stark 2020, §4.2; Arlo's probability-of-completion options):

* polling and comparison, round 1: :func:`~tallyguard.audit.plan.plan_contest`
  with the audit's kind and method, the assertions built over the N cards of
  the manifest (so the diluted margin is planned for), without replacement;
  polling draws from the reported tallies, comparison from no-error cards plus
  Arlo's discrepancy rates (:data:`~tallyguard.audit.plan.ARLO_RATES`);
* polling and comparison, later rounds:
  :func:`~tallyguard.audit.plan.next_round_size`, which continues each
  simulated audit from the values observed on the audited prefix;
* batch: :func:`plan_batch_contest`, which simulates batch-assorter ALPHA
  (Stark 2023) on the batches not yet audited, in uniformly random order
  without replacement, each batch's overstatement being the net of one- and
  two-vote errors drawn card by card at Arlo's rates, continuing from the
  batches already audited. (MACRO's closed form,
  :func:`~tallyguard.audit.plan.batch.plan_macro`, plans PPEB sampling with
  the Kaplan-Markov bound, a different test.)

A contest's size at probability q is the q-quantile of its simulated stopping
sizes; the round's size is the largest over the targeted contests. Sizes are
cumulative draws. They are **estimates from seeded simulation, not
guarantees** (pitfall P9 of ``docs/audit-methods.md``): the same inputs, reps
and seed give the same sizes, but the audit of the real sample decides, and
with several targeted contests the chance that all finish is estimated per
contest, not jointly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tallyguard.audit.plan import QUANTILES, next_round_size, plan_contest
from tallyguard.audit.plan.simulate import quantile_with_se
from tallyguard.audit.risk import batch_alpha_p_values
from tallyguard.audit.workflow.ballot_risk import contest_assertions
from tallyguard.audit.workflow.batch_risk import batch_pairs, batch_table
from tallyguard.audit.workflow.engine import Measured, measure
from tallyguard.audit.workflow.inputs import AuditContest, AuditInputs
from tallyguard.audit.workflow.measured import ContestMeasure
from tallyguard.errors import InputError

#: Arlo's per-card discrepancy rates (o1, o2, u1, u2), as in ``ARLO_RATES``.
BATCH_RATES = (0.001, 0.0001, 0.001, 0.0001)


@dataclass(frozen=True)
class PlanOption:
    """A cumulative sample size and the estimated probability that the audit ends with it.

    ``per_contest`` gives each targeted contest's own size at that probability;
    ``sample_size`` is their maximum (at least the draws made so far, at most the
    population). ``note`` states the assumptions and any contest expected to
    need a full hand count.
    """

    probability: float
    sample_size: int
    per_contest: dict[str, int]
    note: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ContestPlan:
    sizes: tuple[int, ...]  # cumulative, per quantile
    full_hand_count: tuple[bool, ...]


def _stable_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "big")


def _first_confirming(p_values: np.ndarray, alpha: float) -> int:
    hits = np.flatnonzero(p_values <= alpha)
    return int(hits[0]) + 1 if hits.size else 0


def plan_batch_contest(
    contest: AuditContest,
    inputs: AuditInputs,
    m: Measured,
    measured: ContestMeasure,
    *,
    reps: int,
    seed: int,
    quantiles: Sequence[float] = QUANTILES,
) -> ContestPlan:
    """Simulated cumulative sizes of a batch audit of one contest (module docstring)."""
    reported = contest.reported
    pairs = batch_pairs(reported)
    table = batch_table(reported.contest, inputs.batches, inputs.batch_tallies)
    total = len(table.keys)
    full = ContestPlan((total,) * len(quantiles), (True,) * len(quantiles))
    margins = [table.reported[:, w] - table.reported[:, lo] for w, lo in pairs]
    if not pairs or any(int(r.sum()) <= 0 for r in margins):
        return full
    bounds = [r + table.ballots for r in margins]
    lowest = [r - table.ballots for r in margins]
    observed = [path.values for path in measured.paths]
    m0 = m.prefix
    done = {table.row[d.card.batch] for d in m.sample[:m0]}
    remaining = np.array([p for p in range(total) if p not in done], dtype=np.int64)
    if remaining.size == 0:
        return full

    def stop(order: np.ndarray, errors: np.ndarray, horizon: int) -> int:
        """Draws (cumulative) at which every pair confirms within the horizon (0: none)."""
        worst = 0
        drawn = order[:horizon]
        for k in range(len(pairs)):
            e = np.clip(errors[:horizon], lowest[k][drawn], bounds[k][drawn])
            x = np.concatenate([observed[k], e.astype(np.float64)])
            p = batch_alpha_p_values(x, bounds=bounds[k], ballots=table.ballots)
            hit = _first_confirming(p, inputs.risk_limit)
            if hit == 0:
                return 0
            worst = max(worst, hit)
        return max(worst, m0)

    guess = stop(remaining, np.zeros(remaining.size, dtype=np.int64), remaining.size)
    start = max(16, 2 * (guess - m0)) if guess else remaining.size
    rng = np.random.default_rng(np.random.SeedSequence([seed, _stable_key(reported.contest.name)]))
    sizes = np.empty(reps, dtype=np.int64)
    o1, o2, u1, u2 = BATCH_RATES
    for r in range(reps):
        order = rng.permutation(remaining)
        b = table.ballots[order]
        errors = (
            rng.binomial(b, o1)
            + 2 * rng.binomial(b, o2)
            - rng.binomial(b, u1)
            - 2 * rng.binomial(b, u2)
        )
        horizon = min(start, order.size)
        while True:
            found = stop(order, errors, horizon)
            if found or horizon >= order.size:
                break
            horizon = min(2 * horizon, order.size)
        sizes[r] = found if found else total
    chosen = [min(quantile_with_se(sizes, q)[0], total) for q in quantiles]
    return ContestPlan(tuple(chosen), tuple(s >= total for s in chosen))


def plan_ballot_contest(
    contest: AuditContest,
    inputs: AuditInputs,
    m: Measured,
    measured: ContestMeasure,
    *,
    reps: int,
    seed: int,
    quantiles: Sequence[float] = QUANTILES,
) -> ContestPlan:
    """Simulated cumulative sizes of a polling or comparison audit of one contest."""
    reported = contest.reported
    assertions, _ = contest_assertions(reported, m.population)
    if not assertions:
        return ContestPlan((m.population,) * len(quantiles), (True,) * len(quantiles))
    kind = "polling" if inputs.kind == "polling" else "comparison"
    common: dict[str, Any] = {
        "kind": kind,
        "totals": reported.totals,
        "alpha": inputs.risk_limit,
        "methods": [inputs.method],
        "reps": reps,
        "seed": seed,
        "quantiles": quantiles,
    }
    if m.prefix == 0:
        rows = plan_contest(assertions, **common)
    else:
        rows = next_round_size(assertions, [p.values for p in measured.paths], **common)
    row = rows[0]
    return ContestPlan(tuple(int(s) for s in row.sizes), tuple(row.full_hand_count))


_ASSUMPTION = {
    "polling": "the reported results are right",
    "comparison": "discrepancies at Arlo's rates (0.1% one-vote and 0.01% two-vote over- and "
    "understatements)",
    "batch": "discrepancies in each batch at Arlo's per-card rates (0.1% one-vote, 0.01% two-vote)",
}


def plan_round(inputs: AuditInputs, *, reps: int = 1000, seed: int = 0) -> list[PlanOption]:
    """Sample-size options for the next round (cumulative), one per probability of finishing.

    Round 1 plans from the reported results; later rounds continue from the
    audited prefix of the sample. A targeted contest already confirmed needs
    no more draws. Probabilities are those of
    :data:`~tallyguard.audit.plan.QUANTILES` (0.5, 0.7, 0.9). Sizes are
    estimates from ``reps`` seeded simulations (module docstring).

    Raises:
        InputError: no targeted contest, ``reps`` < 1, or anything
            :func:`~tallyguard.audit.workflow.engine.evaluate` rejects.
    """
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise InputError(f"reps must be a whole number >= 1, not {reps!r}.", field="--reps")
    m = measure(inputs)
    if m.population == 0:
        raise InputError("the manifests hold no ballots.", field="manifest", fix="load them.")
    targeted = [(c, cm) for c, cm in zip(inputs.contests, m.contests, strict=True) if c.targeted]
    if not targeted:
        raise InputError(
            "the audit has no targeted contest to plan for.",
            field="contests",
            fix="add one: tallyguard audit contest --contests FILE --name NAME --targeted.",
        )
    drawn = len(m.sample)
    plans: dict[str, ContestPlan] = {}
    confirmed: list[str] = []
    for contest, measured in targeted:
        name = contest.reported.contest.name
        if measured.paths and measured.risk_at(m.prefix) <= inputs.risk_limit:
            confirmed.append(name)
            plans[name] = ContestPlan((m.prefix,) * len(QUANTILES), (False,) * len(QUANTILES))
        elif inputs.kind == "batch":
            plans[name] = plan_batch_contest(contest, inputs, m, measured, reps=reps, seed=seed)
        else:
            plans[name] = plan_ballot_contest(contest, inputs, m, measured, reps=reps, seed=seed)
    options = []
    for j, q in enumerate(QUANTILES):
        per = {name: min(plan.sizes[j], m.population) for name, plan in plans.items()}
        size = min(m.population, max(drawn, *per.values()))
        parts = [
            f"Estimated from {reps:,} seeded simulated audits (seed {seed}) assuming "
            f"{_ASSUMPTION[inputs.kind]}; the audit of the real sample decides"
        ]
        hand = [name for name, plan in plans.items() if plan.full_hand_count[j]]
        if hand:
            parts.append(f"a full hand count is likely for {', '.join(hand)}")
        if confirmed:
            parts.append(f"already confirmed: {', '.join(confirmed)}")
        if size == drawn and m.prefix < drawn:
            parts.append("the draws made so far may suffice once they are all read")
        options.append(PlanOption(float(q), int(size), per, "; ".join(parts) + "."))
    return options
