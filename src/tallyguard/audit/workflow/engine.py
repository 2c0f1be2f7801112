"""The audit re-derived from its inputs: the sample, every risk, the next step (pure).

:func:`evaluate` is what ``tallyguard audit status`` shows and what
``tallyguard verify`` recomputes: it draws the sample from the public seed
(:mod:`.sample`), finds the *audited prefix* (:mod:`.readings`: the longest run
of draws from draw 1 in which every draw has a reading for every contest, or
was not found; sequential tests depend on the order of the draws, so risk is
measured on that prefix only) and measures every contest, targeted and
opportunistic alike, on the same draws (SHANGRLA, Stark 2020, §4: one sample,
every assertion):

* polling and comparison: :mod:`.ballot_risk` (assertions over all N cards of
  the manifest, so a contest on some ballot styles has a diluted margin);
* batch: :mod:`.batch_risk` (batch-assorter ALPHA per pair, Stark 2023).

A contest's risk is the largest p-value of its assertions; it is confirmed
when that is at most the risk limit. The audit is confirmed when every
targeted contest is. The result depends only on the inputs: not on the order
of any mapping, nor on the order of the manifest's batches.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from tallyguard.audit.measure import check_risk_limit
from tallyguard.audit.risk import COMPARISON_METHODS, POLLING_METHODS
from tallyguard.audit.workflow.ballot_risk import measure_ballot_contest
from tallyguard.audit.workflow.batch_risk import measure_batch_contest
from tallyguard.audit.workflow.inputs import KINDS, AuditContest, AuditInputs
from tallyguard.audit.workflow.measured import AssertionPath, ContestMeasure
from tallyguard.audit.workflow.readings import audited_prefix, is_audited, is_lost, reading_text
from tallyguard.audit.workflow.result import (
    AssertionStatus,
    AuditResult,
    ContestStatus,
    Draw,
    HandCount,
    RoundStatus,
)
from tallyguard.audit.workflow.sample import (
    SampledDraw,
    check_batches,
    draw_sample,
    population_size,
)
from tallyguard.errors import InputError

__all__ = ["Measured", "draw_sample", "evaluate", "measure"]

BATCH_METHODS = ("alpha",)


def check_inputs(inputs: AuditInputs) -> int:
    """Check what the engine relies on; return the population size N.

    Raises:
        InputError: an unknown kind or method, a risk limit outside (0, 1),
            round sizes that do not grow, two contests with one name, a batch
            listed twice, or (once the seed is set) a contest reporting more
            cards than the manifest holds.
    """
    if inputs.kind not in KINDS:
        raise InputError(
            f"unknown audit kind {inputs.kind!r}.",
            field="kind",
            fix="polling, comparison or batch.",
        )
    check_risk_limit(inputs.risk_limit)
    allowed = {"polling": POLLING_METHODS, "comparison": COMPARISON_METHODS, "batch": BATCH_METHODS}
    if inputs.method not in allowed[inputs.kind]:
        raise InputError(
            f"method {inputs.method!r} does not apply to {inputs.kind} audits.",
            field="method",
            fix=f"choose one of {', '.join(allowed[inputs.kind])}.",
        )
    sizes = list(inputs.rounds)
    if any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in sizes) or any(
        b <= a for a, b in pairwise(sizes)
    ):
        raise InputError(
            f"round sizes {sizes} must be cumulative draw counts that grow from round to round.",
            field="rounds",
        )
    names = [c.reported.contest.name for c in inputs.contests]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(
            f"contest {twice[0]!r} is listed twice.", field="contests", fix="add each contest once."
        )
    check_batches(inputs.batches)
    cards = sum(b.num_ballots for b in inputs.batches)
    if inputs.seed is not None:
        for c in inputs.contests:
            if c.reported.ballots > cards:
                raise InputError(
                    f"contest {c.reported.contest.name!r} reports {c.reported.ballots:,} ballot "
                    f"cards but the manifests list only {cards:,}.",
                    field="ballots",
                    fix="load every jurisdiction's manifest, or correct the contest's ballots.",
                )
    return population_size(inputs)


@dataclass(frozen=True)
class Measured:
    """The sample with its audited prefix, and every contest measured on that prefix."""

    population: int
    sample: tuple[SampledDraw, ...]
    rounds: tuple[int, ...]  # the round of each draw
    audited: tuple[bool, ...]  # per draw
    prefix: int
    contests: tuple[ContestMeasure, ...]  # in the order of inputs.contests


def round_of(rounds: Sequence[int], draw: int) -> int:
    """The round (1-based) whose size first covers the 1-based ``draw``."""
    return bisect_left(list(rounds), draw) + 1


def _measure_contest(
    inputs: AuditInputs,
    contest: AuditContest,
    population: int,
    draws: Sequence[SampledDraw],
    rounds: Sequence[int],
) -> ContestMeasure:
    """One contest measured on the audited prefix ``draws`` (their rounds in ``rounds``)."""
    names = [c.reported.contest.name for c in inputs.contests]
    lost = [is_lost(inputs.readings.get(d.card), names) for d in draws]
    reported = contest.reported
    if inputs.kind == "batch":
        return measure_batch_contest(
            reported,
            batches=inputs.batches,
            tallies=inputs.batch_tallies,
            draws=draws,
            rounds=rounds,
            readings=inputs.readings,
            lost=lost,
        )
    cards = sum(b.num_ballots for b in inputs.batches)
    if reported.ballots > cards:  # no seed yet: say so, and measure nothing
        return ContestMeasure(
            (),
            (
                f"The contest reports {reported.ballots:,} ballot cards but the manifests list "
                f"only {cards:,}; load every jurisdiction's manifest.",
            ),
            (),
        )
    return measure_ballot_contest(
        reported,
        kind=inputs.kind,
        method=inputs.method,
        population=population,
        draws=draws,
        rounds=rounds,
        readings=inputs.readings,
        cvrs=inputs.cvrs,
        lost=lost,
    )


def measure(inputs: AuditInputs) -> Measured:
    """Draw the sample, find the audited prefix and measure every contest on it."""
    population = check_inputs(inputs)
    sample: list[SampledDraw] = []
    if inputs.seed is not None and inputs.rounds:
        sample = draw_sample(inputs, inputs.rounds[-1])
    names = [c.reported.contest.name for c in inputs.contests]
    audited = tuple(is_audited(inputs.readings.get(d.card), names) for d in sample)
    prefix = audited_prefix(audited)
    rounds = tuple(round_of(inputs.rounds, d.draw) for d in sample)
    contests = tuple(
        _measure_contest(inputs, c, population, sample[:prefix], rounds[:prefix])
        for c in inputs.contests
    )
    return Measured(population, tuple(sample), rounds, audited, prefix, contests)


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def _next_step(inputs: AuditInputs, m: Measured, statuses: Sequence[ContestStatus]) -> str:
    unit = "batches" if inputs.kind == "batch" else "cards"
    targeted = [s for s in statuses if s.targeted]
    if not targeted:
        return "Choose at least one targeted contest (tallyguard audit contest ... --targeted)."
    if inputs.seed is None:
        return (
            "Roll the public random seed (20 ten-sided dice) and enter it: tallyguard audit seed "
            "DIGITS."
        )
    if not inputs.rounds:
        return (
            "Draw round 1: tallyguard audit plan shows sample sizes, tallyguard audit draw "
            "draws the sample."
        )
    number, size = len(inputs.rounds), inputs.rounds[-1]
    missing = sum(1 for flag in m.audited if not flag)
    if missing:
        return f"Round {number}: {missing:,} of {size:,} sampled {unit} still need readings."
    if all(s.confirmed for s in targeted):
        return (
            f"Every targeted contest is confirmed at risk limit {_percent(inputs.risk_limit)}: "
            "the audit can finish."
        )
    unmet = " and ".join(f"{s.contest} (risk {s.risk:.3g})" for s in targeted if not s.confirmed)
    if size >= m.population:
        return (
            f"Risk limit not met for {unmet}, and every one of the {m.population:,} {unit} has "
            "been drawn: count all ballots by hand (tallyguard audit hand-count)."
        )
    return (
        f"Risk limit not met for {unmet}: start round {number + 1} (tallyguard audit next-round) "
        "or count all ballots by hand (tallyguard audit hand-count)."
    )


def hand_count_outcomes(inputs: AuditInputs) -> tuple[HandCount, ...]:
    """Each contest's winners by the full hand count, beside the reported winners."""
    outcomes = []
    for contest in inputs.contests:
        model = contest.reported.contest
        if model.name not in inputs.hand_count:
            continue
        counted = {c: int(inputs.hand_count[model.name].get(c, 0)) for c in model.choices}
        winners = tuple(model.winners(counted))
        outcomes.append(
            HandCount(
                contest=model.name,
                totals=counted,
                winners=winners,
                reported_winners=tuple(contest.reported.winners),
                outcome_as_reported=sorted(winners) == sorted(contest.reported.winners),
            )
        )
    return tuple(outcomes)


def _hand_count_step(outcomes: Sequence[HandCount]) -> str:
    parts = [
        f"{h.contest}: {', '.join(h.winners) or 'no winner'} "
        + ("(as reported)" if h.outcome_as_reported else "(NOT as reported)")
        for h in outcomes
    ]
    return "The full hand count decides the outcome. " + "; ".join(parts) + "."


def _assertion_status(
    contest: str, path: AssertionPath, draws: int, alpha: float
) -> AssertionStatus:
    p = path.p_at(draws)
    return AssertionStatus(
        contest=contest,
        assertion=path.name,
        winner=path.winner,
        loser=path.loser,
        margin=float(path.margin),
        p_value=float(p),
        confirmed=p <= alpha,
        p_values=path.p_values[:draws],
    )


def evaluate(inputs: AuditInputs) -> AuditResult:
    """The audit's sample, risks, discrepancies and next step, re-derived from its inputs.

    With no seed or no round yet the sample is empty and every contest's risk
    is 1. Otherwise the sample is the first ``inputs.rounds[-1]`` draws and
    every contest is measured on its audited prefix (module docstring); each
    round's risks are those after the audited draws within its size.

    Raises:
        InputError: inconsistent inputs (see :func:`check_inputs`), readings or
            CVRs naming choices a contest does not have, or counts a batch
            cannot hold.
    """
    m = measure(inputs)
    alpha = inputs.risk_limit
    contests: list[ContestStatus] = []
    assertions: list[AssertionStatus] = []
    for contest, measured in zip(inputs.contests, m.contests, strict=True):
        reported = contest.reported
        name = reported.contest.name
        risk = float(measured.risk_at(m.prefix))
        contests.append(
            ContestStatus(
                contest=name,
                targeted=contest.targeted,
                winners=tuple(reported.winners),
                ballots=int(reported.ballots),
                population=m.population,
                totals={c: int(reported.totals.get(c, 0)) for c in reported.contest.choices},
                risk=risk,
                confirmed=bool(measured.paths) and risk <= alpha,
                audited=m.prefix,
                notes=measured.notes,
            )
        )
        assertions.extend(_assertion_status(name, p, m.prefix, alpha) for p in measured.paths)
    rounds = []
    for number, size in enumerate(inputs.rounds if m.sample else (), start=1):
        upto = min(m.prefix, size)
        risks = {
            s.contest: float(c.risk_at(upto)) for s, c in zip(contests, m.contests, strict=True)
        }
        rounds.append(
            RoundStatus(
                round=number,
                sample_size=size,
                audited=sum(1 for flag in m.audited[:size] if flag),
                risks=risks,
                confirmed={
                    s.contest: bool(c.paths) and risks[s.contest] <= alpha
                    for s, c in zip(contests, m.contests, strict=True)
                },
            )
        )
    names = {c.reported.contest.name: c.reported.contest for c in inputs.contests}
    sample = []
    for draw, number, flag in zip(m.sample, m.rounds, m.audited, strict=True):
        recorded = inputs.readings.get(draw.card, {})
        sample.append(
            Draw(
                draw=draw.draw,
                round=number,
                ticket=draw.ticket,
                jurisdiction=draw.card.jurisdiction,
                tabulator=draw.card.tabulator,
                batch_name=draw.card.batch_name,
                position=draw.card.position,
                container=draw.container,
                imprinted_id=draw.imprinted_id,
                audited=flag,
                readings={
                    name: reading_text(recorded[name], names[name])
                    for name in names
                    if name in recorded
                },
            )
        )
    discrepancies = sorted(
        (d for c in m.contests for d in c.discrepancies),
        key=lambda d: (d.draw, list(names).index(d.contest)),
    )
    targeted = [s for s in contests if s.targeted]
    hand_count = hand_count_outcomes(inputs)
    return AuditResult(
        name=inputs.name,
        election=inputs.election,
        kind=inputs.kind,
        method=inputs.method,
        risk_limit=float(inputs.risk_limit),
        seed=inputs.seed,
        population=m.population,
        rounds=tuple(rounds),
        contests=tuple(contests),
        assertions=tuple(assertions),
        sample=tuple(sample),
        discrepancies=tuple(discrepancies),
        confirmed=bool(targeted) and all(s.confirmed for s in targeted),
        next_step=_hand_count_step(hand_count) if hand_count else _next_step(inputs, m, contests),
        hand_count=hand_count,
    )
