"""Where the count differs from the paper: vote transfers, CVR errors, wrong outcomes.

The paper is the truth an audit recovers. CVRs start as the paper and are then
changed here; every changed (card, contest) is listed with its cause and its
size in the taxonomy of comparison audits (Stark 2010; Lindeman & Stark 2012):
the overstatement of the margin between the reported winner with fewest votes
``w`` and the reported loser with most votes ``l``, in votes:
``(cvr_w - cvr_l) - (paper_w - paper_l)`` in {-2, -1, 0, 1, 2}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tallyguard.errors import InputError
from tallyguard.model import Contest
from tallyguard.simulate.ballots import Cards, Marks, valid_votes
from tallyguard.simulate.config import SimulationConfig
from tallyguard.simulate.units import IntArray, Units, targeted

CAUSES = ("", "transfer", "error", "wrong_outcome")
TRANSFER, ERROR, WRONG = 1, 2, 3
KINDS = {2: "o2", 1: "o1", 0: "neutral", -1: "u1", -2: "u2"}


def tallies(marks: Marks, present: np.ndarray, contest: Contest) -> dict[str, int]:
    """Valid votes per choice over the cards that carry the contest."""
    counts = valid_votes(marks[present], contest).sum(axis=0, dtype=np.int64)
    return {choice: int(n) for choice, n in zip(contest.choices, counts, strict=True)}


def reported_pair(contest: Contest, counts: dict[str, int]) -> tuple[int, int]:
    """Indices of the reported winner with fewest votes and the loser with most."""
    order = sorted(range(len(contest.choices)), key=lambda i: (-counts[contest.choices[i]], i))
    split = max(1, len(contest.winners(counts)))
    return order[split - 1], order[split]


@dataclass(frozen=True)
class Tampered:
    """CVR marks per contest, the cause of every CVR/paper difference, and truth."""

    cvr: list[Marks]
    paper: list[Marks]
    cause: list[np.ndarray]  # per contest, int8 per card: index into CAUSES
    pairs: list[tuple[int, int]]  # per contest: (w, l) choice indices
    transferred: IntArray  # per unit: main-contest votes re-attributed in the count
    transfer_units: np.ndarray  # per unit: chosen for vote transfer


def _set_single(marks: Marks, rows: np.ndarray, choice: int | None) -> None:
    marks[rows] = 0
    if choice is not None:
        marks[rows, choice] = 1


def _transfer(
    config: SimulationConfig,
    contest: Contest,
    units: Units,
    cards: Cards,
    cvr: Marks,
    rng: np.random.Generator,
) -> tuple[np.ndarray, IntArray, np.ndarray]:
    spec = config.manipulation.transfer
    leader = contest.choices.index(config.leader_name)
    hit_units = targeted(config, units) & (rng.random(units.n) < spec.unit_rate)
    votes = valid_votes(cvr, contest)
    single = votes.sum(axis=1) == 1
    if spec.source is None:
        from_source = single & (votes[:, leader] == 0)
    else:
        from_source = single & (votes[:, contest.choices.index(spec.source)] == 1)
    chosen = np.flatnonzero(
        hit_units[cards.unit] & from_source & (rng.random(cards.n) < spec.fraction)
    )
    _set_single(cvr, chosen, leader)
    moved = np.bincount(cards.unit[chosen], minlength=units.n).astype(np.int64)
    return chosen, moved, hit_units


def _errors(
    config: SimulationConfig,
    cvr: Marks,
    paper: Marks,
    present: np.ndarray,
    pair: tuple[int, int],
    rng: np.random.Generator,
) -> np.ndarray:
    spec = config.discrepancies
    w, loser = pair
    rows = np.flatnonzero(present)
    u = rng.random(rows.size)
    edges = np.cumsum(
        [spec.overstatement_2, spec.overstatement_1, spec.understatement_1, spec.understatement_2]
    )
    kind = np.searchsorted(edges, u, side="right")  # 0=o2, 1=o1, 2=u1, 3=u2, 4=none
    plan = ((w, loser), (w, None), (None, w), (loser, w))  # (cvr shows, paper shows)
    for code, (cvr_choice, paper_choice) in enumerate(plan):
        hit = rows[kind == code]
        _set_single(cvr, hit, cvr_choice)
        _set_single(paper, hit, paper_choice)
    hit_rows: np.ndarray = rows[kind < 4]
    return hit_rows


def _wrong_outcome(
    contest: Contest,
    cvr: Marks,
    paper: Marks,
    present: np.ndarray,
    cause: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Change the paper of the main contest until its true winner differs from the CVRs'."""
    reported, true = tallies(cvr, present, contest), tallies(paper, present, contest)
    if contest.winners(reported) != contest.winners(true):
        return
    ranked = sorted(range(len(contest.choices)), key=lambda i: (-reported[contest.choices[i]], i))
    top, second = ranked[0], ranked[1]
    p_top, total = true[contest.choices[top]], sum(true.values())
    if contest.share_to_win is None:
        frm, to, m = top, second, (p_top - true[contest.choices[second]]) // 2 + 1
    elif contest.winners(reported):
        frm, to, m = top, second, max(1, int(np.ceil(p_top - contest.share_to_win * total)))
    else:
        frm, to, m = second, top, int(np.floor(contest.share_to_win * total - p_top)) + 1
    same = np.all(cvr == paper, axis=1) & present & (cause == 0)
    candidates = np.flatnonzero(
        same & (valid_votes(paper, contest).sum(axis=1) == 1) & (paper[:, frm] == 1)
    )
    if candidates.size < m:
        raise InputError(
            f"cannot make the outcome of {contest.name!r} wrong: {m} ballots would have to change "
            f"but only {candidates.size} can.",
            field="discrepancies.wrong_outcome",
            fix="use a closer contest (shares) or more units.",
        )
    flip = rng.choice(candidates, size=m, replace=False)
    _set_single(paper, flip, to)
    cause[flip] = WRONG
    if contest.winners(tallies(paper, present, contest)) == contest.winners(reported):
        raise AssertionError("wrong-outcome construction failed")  # pragma: no cover


def tamper(
    config: SimulationConfig,
    contests: list[Contest],
    units: Units,
    cards: Cards,
    streams: dict[str, np.random.Generator],
) -> Tampered:
    """Apply vote transfers (main contest), CVR errors (every contest), wrong outcome."""
    paper = [marks.copy() for marks in cards.paper]
    cvr = [marks.copy() for marks in cards.paper]
    cause = [np.zeros(cards.n, dtype=np.int8) for _ in contests]
    moved, transferred, transfer_units = _transfer(
        config, contests[0], units, cards, cvr[0], streams["transfer"]
    )
    cause[0][moved] = TRANSFER
    pairs = []
    rng = streams["discrepancies"]
    for c, contest in enumerate(contests):
        pair = reported_pair(contest, tallies(cvr[c], cards.present[c], contest))
        pairs.append(pair)
        hit = _errors(config, cvr[c], paper[c], cards.present[c], pair, rng)
        cause[c][hit] = ERROR
    if config.discrepancies.wrong_outcome:
        _wrong_outcome(contests[0], cvr[0], paper[0], cards.present[0], cause[0], rng)
    return Tampered(
        cvr=cvr,
        paper=paper,
        cause=cause,
        pairs=pairs,
        transferred=transferred,
        transfer_units=transfer_units,
    )


def overstatement(t: Tampered, c: int, contest: Contest, rows: np.ndarray) -> np.ndarray:
    """Margin overstatement in votes, (cvr_w - cvr_l) - (paper_w - paper_l), per row."""
    w, loser = t.pairs[c]
    cv = valid_votes(t.cvr[c][rows], contest).astype(np.int64)
    pv = valid_votes(t.paper[c][rows], contest).astype(np.int64)
    result: np.ndarray = (cv[:, w] - cv[:, loser]) - (pv[:, w] - pv[:, loser])
    return result
