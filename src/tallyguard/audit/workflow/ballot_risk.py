"""Risk of one contest in a ballot-level audit (polling or comparison).

SHANGRLA (Stark 2020, "Sets of half-average nulls generate risk-limiting
audits", FC 2020 workshops, LNCS 12063): the contest's reported outcome is a
set of assertions (:func:`~tallyguard.audit.assorters.make_assertions`), each
tested with a sequentially valid test on the audited prefix of the sample
(:data:`~tallyguard.audit.risk.METHODS`: ALPHA, Stark 2023, Ann. Appl. Stat.
17(1); betting, Waudby-Smith & Ramdas 2023; BRAVO; Kaplan-Markov). Polling
tests assorter values, comparison the overstatement assorter
``B = (1 - omega/u) / (2 - v/u)`` (Stark 2020, §3.2).

**Population and dilution.** The sample is drawn without replacement from
every card of the manifest, N of them, not only from the cards carrying the
contest, so the assertions are built with ``ballots = N``: a card without the
contest has assorter value 1/2 and the margin is diluted by the share of
cards that lack the contest (Stark 2020, §2). Every risk function is told N.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from tallyguard.audit.assorters import Assertion, make_assertions
from tallyguard.audit.measure import assertion_values
from tallyguard.audit.risk import METHODS
from tallyguard.audit.workflow.measured import AssertionPath, ContestMeasure, Floats, path_of
from tallyguard.audit.workflow.readings import (
    Cvrs,
    Readings,
    cvr_column,
    cvr_text,
    paper_column,
    paper_text,
)
from tallyguard.audit.workflow.result import CardDiscrepancy
from tallyguard.audit.workflow.sample import SampledDraw
from tallyguard.errors import InputError
from tallyguard.io.audited import AuditedSample
from tallyguard.io.contests import ReportedContest
from tallyguard.model import ContestKind

BallotKind = Literal["polling", "comparison"]


def contest_assertions(
    reported: ReportedContest, population: int
) -> tuple[list[Assertion], list[str]]:
    """The contest's assertions over the N cards sampled from, and notes on them.

    A supermajority contest that reports no winner has no assertion to test
    (tallyguard cannot confirm a failed measure by sampling): no assertions and a note.
    """
    contest = reported.contest
    if contest.kind is ContestKind.SUPERMAJORITY and not reported.winners:
        return [], [
            "No choice reached the share needed to win; tallyguard has no assertion to "
            "confirm that by sampling, so only a full hand count can settle it."
        ]
    assertions = make_assertions(contest, reported.totals, population)
    notes = []
    if population != reported.ballots:
        diluted = min(a.margin for a in assertions)
        line = (
            f"Diluted margin: the sample is drawn from all {population:,} cards of the "
            f"manifest but {reported.ballots:,} carry this contest; cards without it count "
            f"as 1/2, so the smallest assorter margin is {diluted:.4%}"
        )
        if reported.ballots > 0:
            full = min(
                a.margin for a in make_assertions(contest, reported.totals, reported.ballots)
            )
            line += f" instead of {full:.4%}"
        notes.append(line + ".")
    for a in assertions:
        if not a.can_confirm:
            notes.append(
                f"{a.name}: the reported margin is not positive; only a full hand count can "
                "settle it."
            )
    return assertions, notes


def overstatement_votes(assertion: Assertion, b_value: float) -> int:
    """The overstatement of one card, in votes of ``assertion``, from its B value.

    ``2 omega / u``: +2 (a vote for the loser reported as one for the winner),
    +1, 0, -1, -2 for a pair assorter (u = 1; as
    :meth:`~tallyguard.audit.assorters.Assertion.overstatement_count`). For a
    supermajority assorter (u = 1/(2f)) a non-zero overstatement rounds to the
    nearest non-zero whole number, so it is never shown as 0.
    """
    u = assertion.assorter.upper_bound
    if u == 1.0:
        return int(assertion.overstatement_count(np.array([b_value]))[0])
    ratio = 2.0 * (1.0 - b_value / assertion.noerror)
    if abs(ratio) < 1e-9:
        return 0
    votes = round(ratio)
    return votes if votes != 0 else (1 if ratio > 0 else -1)


def _test(
    assertion: Assertion, x: Floats, kind: BallotKind, method: str, population: int
) -> Floats:
    a = assertion.assorter
    if kind == "polling":
        u, eta = a.upper_bound, assertion.reported_mean
    else:
        u, eta = assertion.overstatement_upper_bound, assertion.noerror
    try:
        return np.asarray(METHODS[method](x, N=population, u=u, eta=eta), dtype=np.float64)
    except ValueError as refusal:
        raise InputError(
            f"method {method!r} cannot test {assertion.name!r}: {refusal}.",
            field="method",
            fix="choose another risk-measuring method for the audit (e.g. alpha).",
        ) from None


def measure_ballot_contest(
    reported: ReportedContest,
    *,
    kind: BallotKind,
    method: str,
    population: int,
    draws: Sequence[SampledDraw],
    rounds: Sequence[int],
    readings: Readings,
    cvrs: Cvrs,
    lost: Sequence[bool],
) -> ContestMeasure:
    """Every assertion's p-value path over the audited draws, and (comparison) discrepancies.

    Args:
        reported: The contest as reported (``ballots``: cards carrying it).
        kind: ``polling`` or ``comparison``.
        method: A key of :data:`~tallyguard.audit.risk.METHODS`.
        population: N, the cards of the manifest the sample is drawn from.
        draws: The audited prefix of the sample, in draw order.
        rounds: The round of each of ``draws``.
        readings: What the boards recorded (every draw has a reading for the
            contest unless it is ``lost``).
        cvrs: The CVRs (comparison).
        lost: Whether each draw was not found.
    """
    contest = reported.contest
    assertions, notes = contest_assertions(reported, population)
    paper = paper_column(contest, draws, readings, lost)
    if kind == "polling":
        sample = AuditedSample(votes=paper, cvr=None, mvr=None)
    else:
        sample = AuditedSample(votes=None, cvr=cvr_column(contest, draws, cvrs), mvr=paper)
    n = len(draws)
    paths = []
    values: dict[int, Floats] = {}
    for i, assertion in enumerate(assertions):
        a = assertion.assorter
        x = np.asarray(assertion_values(assertion, sample, kind), dtype=np.float64)
        values[i] = x
        if not assertion.can_confirm:
            p = np.ones(n)
        elif n == 0:
            p = np.ones(0)
        else:
            p = _test(assertion, x, kind, method, population)
        paths.append(
            AssertionPath(assertion.name, a.winner, a.loser, assertion.margin, path_of(p), x)
        )
    found: list[CardDiscrepancy] = []
    if kind == "comparison" and assertions:
        tightest = min(range(len(assertions)), key=lambda i: assertions[i].margin)
        for i, draw in enumerate(draws):
            card = draw.card
            on_paper = paper_text(readings.get(card, {}).get(contest.name), lost[i], contest)
            on_cvr = cvr_text(cvrs.get(card), contest)
            if on_paper == on_cvr:
                continue
            found.append(
                CardDiscrepancy(
                    draw=draw.draw,
                    round=rounds[i],
                    jurisdiction=card.jurisdiction,
                    tabulator=card.tabulator,
                    batch_name=card.batch_name,
                    position=card.position,
                    imprinted_id=draw.imprinted_id,
                    contest=contest.name,
                    reported=on_cvr,
                    audited=on_paper,
                    overstatement=overstatement_votes(
                        assertions[tightest], float(values[tightest][i])
                    ),
                )
            )
    return ContestMeasure(tuple(paths), tuple(notes), tuple(found))
