"""Measure the risk of a contest from the audited sample (pure computation).

The risk of a contest is the largest p-value of its assertions: the outcome is
confirmed at risk limit alpha when every assertion's sequential p-value is at
most alpha (Stark 2020, SHANGRLA §4). Polling audits test assorter values;
ballot-level comparison audits test overstatement-assorter values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from tallyguard.audit.assorters import Assertion, make_assertions
from tallyguard.audit.risk import COMPARISON_METHODS, METHODS, POLLING_METHODS
from tallyguard.errors import InputError
from tallyguard.io.audited import AuditedSample
from tallyguard.io.contests import ReportedContest

AuditKind = Literal["polling", "comparison"]
#: ALPHA: fewest ballots on average at Arlo's expected error rates, and within 2 % of
#: betting without errors (docs/audit-methods.md, tables (a) and (b)).
DEFAULT_METHOD: dict[str, str] = {"polling": "alpha", "comparison": "alpha"}


@dataclass(frozen=True)
class AssertionRisk:
    """The measured risk of one assertion."""

    assertion: str
    winner: str
    loser: str | None
    margin: float
    upper_bound: float
    p_value: float
    confirmed: bool


@dataclass(frozen=True)
class RiskReport:
    """The measured risk of a contest, with what it rests on."""

    contest: str
    kind: str
    method: str
    risk_limit: float
    sample_size: int
    population: int
    with_replacement: bool
    risk: float
    confirmed: bool
    assertions: tuple[AssertionRisk, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_risk_limit(alpha: float) -> float:
    """A risk limit must lie strictly between 0 and 1 (non-integer percentages are fine)."""
    if not 0.0 < alpha < 1.0:
        raise InputError(
            f"risk limit {alpha} is not between 0 and 1.",
            field="--risk-limit",
            fix="give it as a fraction, e.g. 0.05 for 5 %.",
        )
    return alpha


def assertion_values(assertion: Assertion, sample: AuditedSample, kind: AuditKind) -> np.ndarray:
    """The values a risk function tests: assorter values (polling) or B (comparison)."""
    a = assertion.assorter
    if kind == "polling":
        votes = sample.votes
        assert votes is not None
        return a.assort(votes.marks, on_card=~votes.off_card, found=~votes.missing)
    cvr, mvr = sample.cvr, sample.mvr
    assert cvr is not None
    assert mvr is not None
    cvr_values = np.where(cvr.missing, a.upper_bound, a.assort(cvr.marks, on_card=~cvr.off_card))
    paper = a.assort(mvr.marks, on_card=~mvr.off_card, found=~mvr.missing)
    return assertion.overstatement(cvr_values, paper)


def measure_risk(
    reported: ReportedContest,
    sample: AuditedSample,
    *,
    kind: AuditKind,
    method: str | None = None,
    risk_limit: float = 0.05,
    with_replacement: bool = False,
) -> RiskReport:
    """Sequential p-value of every assertion of ``reported`` given the audited sample.

    Sampling without replacement uses ``N = reported.ballots`` in the
    martingales; with replacement uses the infinite-population form (a sample
    drawn with replacement must never be tested with without-replacement math).
    """
    check_risk_limit(risk_limit)
    method = method or DEFAULT_METHOD[kind]
    allowed = POLLING_METHODS if kind == "polling" else COMPARISON_METHODS
    if method not in allowed:
        raise InputError(
            f"method {method!r} does not apply to {kind} audits.",
            field="--method",
            fix=f"choose one of {', '.join(allowed)}.",
        )
    if sample.size > reported.ballots and not with_replacement:
        raise InputError(
            f"the sample has {sample.size:,} cards but the contest has only "
            f"{reported.ballots:,} ballot cards.",
            field="ballots",
            fix="check 'ballots' in the contest file, or pass --with-replacement.",
        )
    population = None if with_replacement else reported.ballots
    notes: list[str] = []
    results = []
    for assertion in make_assertions(reported.contest, reported.totals, reported.ballots):
        a = assertion.assorter
        if not assertion.can_confirm:
            p = 1.0
            notes.append(f"{assertion.name}: the reported margin is not positive; only a full "
                         "hand count can settle it.")  # fmt: skip
        elif sample.size == 0:
            p = 1.0
        else:
            x = assertion_values(assertion, sample, kind)
            if kind == "polling":
                u, eta = a.upper_bound, assertion.reported_mean
            else:
                u, eta = assertion.overstatement_upper_bound, assertion.noerror
            p = float(METHODS[method](x, N=population, u=u, eta=eta)[-1])
        results.append(
            AssertionRisk(
                assertion=assertion.name,
                winner=a.winner,
                loser=a.loser,
                margin=assertion.margin,
                upper_bound=a.upper_bound,
                p_value=p,
                confirmed=p <= risk_limit,
            )
        )
    risk = max(r.p_value for r in results)
    return RiskReport(
        contest=reported.contest.name,
        kind=kind,
        method=method,
        risk_limit=risk_limit,
        sample_size=sample.size,
        population=reported.ballots,
        with_replacement=with_replacement,
        risk=risk,
        confirmed=risk <= risk_limit,
        assertions=tuple(results),
        notes=tuple(notes),
    )
