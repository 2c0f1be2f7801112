"""Validity harness: how often does each method confirm a wrong outcome?

A risk-limiting audit with risk limit alpha must confirm a wrong reported
outcome with probability at most alpha (Lindeman & Stark 2012; Stark 2020,
SHANGRLA §2: the null "assorter mean <= 1/2" is tested with an anytime-valid
test supermartingale, so by Ville's inequality P(some p_t <= alpha) <= alpha).
This module checks that by simulation: each :class:`Scenario` is a population
whose true assorter mean is 1/2 (a tie) or below (the reported winner lost),
audited as if the reported results were true. It reports the rate of wrongly
confirming with its Monte-Carlo standard error, and, on the population where
the reported outcome is right, the average sample size.

Scenario kinds follow the assorters of :mod:`tallyguard.audit.assorters`:
plurality pairs (u = 1), supermajority (u = 1/(2f)), and ballot-level
comparison (overstatement values B, u = 2/(2 - v)). Everything is seeded:
scenario i's audits use ``SeedSequence([seed, crc32(name), 0 or 1, block])``.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tallyguard.audit.assorters import Assertion, Assorter
from tallyguard.audit.plan.closed_form import ARLO_RATES, ErrorRates
from tallyguard.audit.plan.engine import RiskFunction, stopping_sizes
from tallyguard.audit.plan.population import (
    Population,
    comparison_population,
    discrepancy_counts,
    polling_populations,
)
from tallyguard.model import Contest, ContestKind

PAIR = Contest("validity-pair", "Pair", ContestKind.PLURALITY, ("W", "L", "O"))


@dataclass(frozen=True, eq=False)
class Scenario:
    """A wrong outcome to audit, and the same contest with the outcome right.

    ``truth`` and ``correct`` have the same types and targets (what the test
    is told: the reported results); only the counts differ.
    """

    name: str
    kind: str
    method: str
    truth: Population
    correct: Population
    replace: bool

    @property
    def ballots(self) -> int:
        return self.truth.size

    @property
    def reported_margin(self) -> float:
        return self.truth.targets[0].margin

    @property
    def true_mean(self) -> float:
        return float(self.truth.means()[0])


@dataclass(frozen=True)
class ValidityRow:
    """The measured behaviour of one method on one scenario."""

    scenario: str
    kind: str
    method: str
    with_replacement: bool
    ballots: int
    reported_margin: float
    true_mean: float
    alpha: float
    reps: int
    max_n: int
    wrong_rate: float
    wrong_se: float
    right_mean_size: float
    right_mean_se: float
    right_confirm_rate: float

    @property
    def valid(self) -> bool:
        """Rate of wrong confirmations at most alpha within 3 Monte-Carlo SE."""
        return self.wrong_rate <= self.alpha + 3 * max(self.wrong_se, _se(self.alpha, self.reps))


def _se(rate: float, reps: int) -> float:
    return math.sqrt(rate * (1 - rate) / reps)


def plurality_scenario(
    method: str,
    *,
    ballots: int,
    margin: float,
    true_margin: float = 0.0,
    blank: float = 0.1,
    replace: bool = False,
) -> Scenario:
    """A plurality pair W vs L (plus blank cards): reported ``margin``, true ``true_margin``.

    Margins are diluted (votes over all ``ballots`` cards); the truth keeps
    the same valid votes and moves (margin - true_margin)/2 of them from W to L.
    """
    valid = round(ballots * (1 - blank))

    def totals(m: float) -> dict[str, int]:
        w = round((valid + m * ballots) / 2)
        return {"W": w, "L": valid - w, "O": 0}

    reported = totals(margin)
    assorter = Assorter(PAIR, "W", "L")
    a = Assertion(assorter, assorter.reported_mean(reported, ballots), ballots)
    (correct,) = polling_populations([a], reported)
    (truth,) = polling_populations([a], totals(true_margin))
    name = f"plurality m={margin:.0%} true={true_margin:+.1%} {method}" + (" wr" * replace)
    return Scenario(name, "plurality", method, truth, correct, replace)


def supermajority_scenario(
    method: str,
    *,
    ballots: int,
    share_to_win: float,
    share: float,
    true_share: float,
    blank: float = 0.1,
    replace: bool = False,
) -> Scenario:
    """A supermajority measure: reported Yes ``share`` of valid votes, truly ``true_share``."""
    contest = Contest(
        "validity-super", "Measure", ContestKind.SUPERMAJORITY, ("Yes", "No"),
        share_to_win=share_to_win,
    )  # fmt: skip
    valid = round(ballots * (1 - blank))

    def totals(s: float) -> dict[str, int]:
        yes = round(valid * s)
        return {"Yes": yes, "No": valid - yes}

    assorter = Assorter(contest, "Yes", None)
    a = Assertion(assorter, assorter.reported_mean(totals(share), ballots), ballots)
    (correct,) = polling_populations([a], totals(share))
    (truth,) = polling_populations([a], totals(true_share))
    name = f"supermajority f={share_to_win:.3g} s={share:.0%} true={true_share:.4f} {method}"
    return Scenario(name + " wr" * replace, "supermajority", method, truth, correct, replace)


def comparison_scenario(
    method: str,
    *,
    ballots: int,
    margin: float,
    error: str = "2-vote",
    extra: int = 0,
    correct_rates: ErrorRates = ARLO_RATES,
    replace: bool = False,
) -> Scenario:
    """Ballot-level comparison of a pair with diluted ``margin`` whose CVRs are wrong.

    The truth has just enough ``error`` ("1-vote" or "2-vote") overstatements
    to wipe out the margin (B mean exactly 1/2: margin N / 2 two-vote or
    margin N one-vote errors), plus ``extra`` more (the winner lost). The
    right outcome has discrepancies at ``correct_rates``.
    """
    reported = {"W": round(ballots * (1 + margin) / 2), "L": round(ballots * (1 - margin) / 2)}
    reported["W"] = ballots - reported["L"]
    assorter = Assorter(PAIR, "W", "L")
    a = Assertion(assorter, assorter.reported_mean(reported, ballots), ballots)
    votes = reported["W"] - reported["L"]
    if error == "2-vote":
        wrong = math.ceil(votes / 2) + extra
        counts = np.array([ballots - wrong, 0, wrong, 0, 0], dtype=np.int64)
    elif error == "1-vote":
        wrong = votes + extra
        counts = np.array([ballots - wrong, wrong, 0, 0, 0], dtype=np.int64)
    else:
        raise ValueError(f"unknown error kind {error!r}")
    correct = comparison_population([a], counts=discrepancy_counts(correct_rates, ballots))
    truth = correct.with_counts(counts)
    name = f"comparison m={margin:.0%} {error}+{extra} {method}" + (" wr" * replace)
    return Scenario(name, "comparison", method, truth, correct, replace)


def default_scenarios(ballots: int = 5000) -> list[Scenario]:
    """The benchmark grid: 30 scenarios over margins, contest kinds and methods.

    Polling: BRAVO with replacement (how Arlo samples), ALPHA without.
    Comparison: ALPHA, betting and Kaplan-Markov, without replacement.
    """
    grid: list[Scenario] = []
    for margin in (0.02, 0.05, 0.1):
        for true_margin in (0.0, -0.005):
            grid.append(
                plurality_scenario(
                    "bravo", ballots=ballots, margin=margin, true_margin=true_margin, replace=True
                )
            )
            grid.append(
                plurality_scenario("alpha", ballots=ballots, margin=margin, true_margin=true_margin)
            )
    for share in (0.7, 0.8):
        for true_share in (2 / 3, 0.66):
            grid.append(
                supermajority_scenario(
                    "alpha", ballots=ballots, share_to_win=2 / 3, share=share, true_share=true_share
                )
            )
    for margin in (0.02, 0.05):
        for error, extra in (("2-vote", 0), ("1-vote", 0), ("2-vote", 5)):
            for method in ("alpha", "betting", "kaplan-markov"):
                grid.append(
                    comparison_scenario(
                        method, ballots=ballots, margin=margin, error=error, extra=extra
                    )
                )
    return grid


def _default_functions() -> Mapping[str, RiskFunction]:
    from tallyguard.audit.risk import METHODS

    return METHODS


def validity_table(
    scenarios: Sequence[Scenario],
    reps: int,
    seed: int,
    max_n: int,
    *,
    alpha: float = 0.05,
    functions: Mapping[str, RiskFunction] | None = None,
) -> list[ValidityRow]:
    """Simulate ``reps`` audits of every scenario's wrong and right outcome.

    Each audit draws up to ``max_n`` cards (all cards at most, without
    replacement). ``wrong_rate`` is the fraction of audits of the wrong
    outcome that confirmed within those draws; ``right_mean_size`` the mean
    number of draws to confirm the right outcome, counting an audit that did
    not confirm as ``max_n`` (or N: a full hand count). ``functions``
    replaces ``tallyguard.audit.risk.METHODS``. Pure: same inputs, same table.
    """
    funcs = _default_functions() if functions is None else functions
    rows = []
    for sc in scenarios:
        test = {sc.method: funcs[sc.method]}
        limit = max_n if sc.replace else min(max_n, sc.ballots)
        key = zlib.crc32(sc.name.encode())
        wrong = stopping_sizes(
            sc.truth, test, alpha=alpha, reps=reps, seed=(seed, key, 0), limit=limit,
            replace=sc.replace, horizon=limit,
        )  # fmt: skip
        right = stopping_sizes(
            sc.correct, test, alpha=alpha, reps=reps, seed=(seed, key, 1), limit=limit,
            replace=sc.replace,
        )  # fmt: skip
        confirmed = wrong[sc.method] > 0
        sizes = right[sc.method]
        rate = float(confirmed.mean())
        full = np.where(sizes > 0, sizes, limit if sc.replace else sc.ballots).astype(float)
        rows.append(
            ValidityRow(
                scenario=sc.name,
                kind=sc.kind,
                method=sc.method,
                with_replacement=sc.replace,
                ballots=sc.ballots,
                reported_margin=sc.reported_margin,
                true_mean=sc.true_mean,
                alpha=alpha,
                reps=reps,
                max_n=limit,
                wrong_rate=rate,
                wrong_se=_se(rate, reps),
                right_mean_size=float(full.mean()),
                right_mean_se=float(full.std(ddof=1) / math.sqrt(reps)) if reps > 1 else 0.0,
                right_confirm_rate=float((sizes > 0).mean()),
            )
        )
    return rows


def format_table(rows: Sequence[ValidityRow]) -> str:
    """A Markdown table of validity rows (for the benchmark and the docs)."""
    head = (
        "| scenario | N | max draws | true mean | wrong-confirm rate ± SE | ≤ α? "
        "| mean size if right ± SE | confirmed if right |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r.scenario} | {r.ballots:,} | {r.max_n:,} | {r.true_mean:.5f} "
            f"| {r.wrong_rate:.4f} ± {r.wrong_se:.4f} | {'yes' if r.valid else '**NO**'} "
            f"| {r.right_mean_size:,.0f} ± {r.right_mean_se:,.0f} | {r.right_confirm_rate:.1%} |"
        )
    return "\n".join(lines)
