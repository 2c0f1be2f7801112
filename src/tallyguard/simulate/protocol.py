"""Unit-level results (the polling-station protocol) and falsified round numbers.

The protocol reports the main contest: electorate, ballots issued, ballots cast
(cards in the box), invalid (blank or overvoted) and votes per choice, from the
count (CVRs). Rounding manipulation then rewrites some protocols so that turnout
and/or the leader's share are integer percentages, the fingerprint found by
Kobak, Shpilkin & Pshenichnikov (2016, Ann. Appl. Stat. 10(1):54-75).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tallyguard.model import Contest
from tallyguard.simulate.ballots import Cards, valid_votes
from tallyguard.simulate.config import SimulationConfig
from tallyguard.simulate.units import BoolArray, IntArray, Units, targeted


@dataclass(frozen=True)
class Protocols:
    """Reported unit results of the main contest, and what rounding changed."""

    electorate: IntArray
    issued: IntArray
    cast: IntArray
    invalid: IntArray
    votes: IntArray  # (units, choices)
    rounded_share: IntArray  # the integer percentage written, or -1
    rounded_turnout: IntArray  # the integer percentage written, or -1
    padded: IntArray  # ballots added to the protocol by rounding


def count(
    units: Units, cards: Cards, stuffed: IntArray, cvr: np.ndarray, contest: Contest
) -> Protocols:
    """Honest protocols: the count of the CVRs per unit."""
    votes = valid_votes(cvr, contest)
    per_choice = np.stack(
        [
            np.bincount(cards.unit, weights=votes[:, j], minlength=units.n)
            for j in range(votes.shape[1])
        ],
        axis=1,
    ).astype(np.int64)
    cast = np.bincount(cards.unit, minlength=units.n).astype(np.int64)
    none = -np.ones(units.n, dtype=np.int64)
    return Protocols(
        electorate=units.electorate.copy(),
        issued=units.issued + stuffed,
        cast=cast,
        invalid=cast - per_choice.sum(axis=1),
        votes=per_choice,
        rounded_share=none,
        rounded_turnout=none.copy(),
        padded=np.zeros(units.n, dtype=np.int64),
    )


def _take(rng: np.random.Generator, pools: IntArray, amount: IntArray) -> IntArray:
    """Remove ``amount`` items per row uniformly at random from the columns' ``pools``.

    Sequential hypergeometric draws: column j gives Hypergeom(pool_j, rest, left).
    """
    taken = np.zeros_like(pools)
    left = amount.copy()
    rest = pools.sum(axis=1)
    for j in range(pools.shape[1]):
        rest = rest - pools[:, j]
        taken[:, j] = rng.hypergeometric(pools[:, j], rest, left)
        left = left - taken[:, j]
    return taken


@dataclass(frozen=True)
class Rounded:
    """Protocol columns after :func:`round_to_integer_percentages` (copies)."""

    issued: IntArray
    cast: IntArray
    votes: IntArray  # (units, choices)
    rounded_share: IntArray  # the integer percentage written, or -1
    rounded_turnout: IntArray  # the integer percentage written, or -1
    padded: IntArray  # ballots added to the protocol


def round_to_integer_percentages(
    electorate: IntArray,
    issued: IntArray,
    cast: IntArray,
    votes: IntArray,
    hit: BoolArray,
    leader: int,
    target: str,
    rng: np.random.Generator,
) -> Rounded:
    """Rewrite the ``hit`` protocols to integer percentages (Kobak et al. 2016), on arrays.

    Share (``target`` ``share`` or ``both``): P = ceil(100 L / C); the cast
    ballots are padded up to the next C' for which P% of C' is whole, the
    leader gets exactly P% of C' and the other choices lose the difference
    (uniformly at random) or gain the padding the leader does not take.
    Turnout (``turnout`` or ``both``): T = ceil(100 issued / electorate) and
    issued = round(T% of the electorate), exact to within 0.5/electorate.
    Units with no ballot cast (share) or no electorate (turnout) are left alone.
    """
    n = int(electorate.shape[0])
    votes, cast, issued = votes.copy(), cast.copy(), issued.copy()
    rounded_share = -np.ones(n, dtype=np.int64)
    rounded_turnout = -np.ones(n, dtype=np.int64)
    padded = np.zeros(n, dtype=np.int64)
    if target in ("share", "both"):
        rows = np.flatnonzero(hit & (cast > 0))
        lead, c = votes[rows, leader], cast[rows]
        pct = -(-100 * lead // c)
        step = (100 // np.gcd(pct, 100)).astype(np.int64)
        new_cast = -(-c // step) * step
        new_lead = pct * new_cast // 100
        pad = new_cast - c
        gain = new_lead - lead
        others = np.delete(votes[rows], leader, axis=1)
        take = np.maximum(gain - pad, 0)
        feasible = take <= others.sum(axis=1)
        rows, others, take, pad, gain = (
            rows[feasible],
            others[feasible],
            take[feasible],
            pad[feasible],
            gain[feasible],
        )
        pct, new_cast, new_lead = pct[feasible], new_cast[feasible], new_lead[feasible]
        others = others - _take(rng, others, take)
        give = np.maximum(pad - gain, 0)
        shares = (others + 1) / (others + 1).sum(axis=1, keepdims=True)
        others = others + rng.multinomial(give, shares)
        votes[rows] = np.insert(others, leader, new_lead, axis=1)
        cast[rows] = new_cast
        issued[rows] += pad
        padded[rows] = pad
        rounded_share[rows] = pct
    if target in ("turnout", "both"):
        rows = np.flatnonzero(hit & (electorate > 0))
        e = electorate[rows]
        pct = -(-100 * issued[rows] // e)
        issued[rows] = np.rint(pct * e / 100).astype(np.int64)
        rounded_turnout[rows] = pct
    return Rounded(
        issued=issued,
        cast=cast,
        votes=votes,
        rounded_share=rounded_share,
        rounded_turnout=rounded_turnout,
        padded=padded,
    )


def round_protocols(
    config: SimulationConfig,
    units: Units,
    protocols: Protocols,
    leader: int,
    rng: np.random.Generator,
) -> Protocols:
    """Falsify a random share of protocols to integer percentages (Kobak et al. 2016).

    The units hit are drawn first (one uniform per unit), then
    :func:`round_to_integer_percentages` rewrites them.
    """
    spec = config.manipulation.rounding
    hit = targeted(config, units) & (rng.random(units.n) < spec.unit_rate) & (protocols.cast > 0)
    out = round_to_integer_percentages(
        protocols.electorate,
        protocols.issued,
        protocols.cast,
        protocols.votes,
        hit,
        leader,
        spec.target,
        rng,
    )
    return Protocols(
        electorate=protocols.electorate,
        issued=out.issued,
        cast=out.cast,
        invalid=protocols.invalid.copy(),
        votes=out.votes,
        rounded_share=out.rounded_share,
        rounded_turnout=out.rounded_turnout,
        padded=out.padded,
    )
