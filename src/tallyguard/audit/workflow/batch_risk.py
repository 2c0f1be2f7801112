"""Risk of one contest in a batch-comparison audit: batch-assorter ALPHA per pair.

For each (winner w, loser l) pair and each batch p with ``b_p`` ballots, the
overstatement of the pair's margin is ``e_p = (r_wp - r_lp) - (a_wp - a_lp)``,
``r`` the reported batch tally and ``a`` the hand count, and its bound is
``u_p = (r_wp - r_lp) + b_p`` (Stark 2008, "A sharper discrepancy measure for
post-election audits", Ann. Appl. Stat. 2(3)). Batches are sampled uniformly
without replacement from the P batches with ballots; the batch assorter
``x_p = (1 - e_p / max u) / (2 - 2V / (P max u))`` has mean above 1/2 iff the
pair's reported winner really won (SHANGRLA, Stark 2020), and it is tested
with ALPHA in its betting form (Stark 2023, "ALPHA: audit that learns from
previously hand-audited ballots", Ann. Appl. Stat. 17(1), eq. 10), told N = P
(:func:`~tallyguard.audit.risk.batch_alpha_p_values`). A contest is confirmed
when every pair is.

A batch that could not be found counts as the worst case for every pair:
``e_p = u_p`` (its hand count taken as every ballot for the loser).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tallyguard.audit.risk import batch_alpha_p_values
from tallyguard.audit.workflow.measured import AssertionPath, ContestMeasure, path_of
from tallyguard.audit.workflow.readings import Readings, batch_votes_text
from tallyguard.audit.workflow.result import CardDiscrepancy
from tallyguard.audit.workflow.sample import SampledDraw, batch_key
from tallyguard.errors import InputError
from tallyguard.io.audited import NOT_FOUND
from tallyguard.io.contests import ReportedContest
from tallyguard.model import Contest, ContestKind, ManifestBatch

Ints = NDArray[np.int64]
Tallies = Mapping[tuple[str, str, str], Mapping[str, int]]


@dataclass(frozen=True)
class BatchTable:
    """A contest's reported tallies over the population of batches (rows: batches)."""

    keys: tuple[tuple[str, str, str], ...]
    ballots: Ints  # b_p
    reported: Ints  # batches x choices
    row: dict[tuple[str, str, str], int]


def _label(key: tuple[str, str, str]) -> str:
    jurisdiction, tabulator, name = key
    return f"batch {tabulator + ' / ' if tabulator else ''}{name} of {jurisdiction}"


def _check_counts(
    votes: Mapping[str, int], contest: Contest, ballots: int, what: str, field: str
) -> list[int]:
    unknown = sorted(set(votes) - set(contest.choices))
    if unknown:
        raise InputError(
            f"{what} has votes for {unknown[0]!r}, which is not a choice of {contest.name!r}.",
            field=field,
            fix=f"use the contest's choices: {list(contest.choices)}.",
        )
    counts = [int(votes.get(c, 0)) for c in contest.choices]
    if any(v < 0 or v > ballots for v in counts) or sum(counts) > ballots * contest.votes_allowed:
        raise InputError(
            f"{what} gives {contest.name!r} {sum(counts):,} votes "
            f"({batch_votes_text(dict(zip(contest.choices, counts, strict=True)), contest)}) "
            f"but the batch holds {ballots:,} ballots.",
            field=field,
            fix="check the batch's tally and its number of ballots in the manifest.",
        )
    return counts


def batch_table(contest: Contest, batches: Sequence[ManifestBatch], tallies: Tallies) -> BatchTable:
    """The reported tallies of ``contest`` in every batch with ballots (0 where none is given).

    ``tallies`` maps batch -> choice -> votes over all contests; only the
    contest's choices are read (choice names are unique across contests).
    """
    population = [b for b in batches if b.num_ballots > 0]
    keys = tuple(batch_key(b) for b in population)
    ballots = np.array([b.num_ballots for b in population], dtype=np.int64)
    rows = []
    for key, b in zip(keys, population, strict=True):
        given = tallies.get(key, {})
        mine = {c: int(v) for c, v in given.items() if c in contest.choices}
        rows.append(
            _check_counts(
                mine, contest, b.num_ballots, f"the tally of {_label(key)}", "batch tallies"
            )
        )
    reported = np.array(rows, dtype=np.int64).reshape(len(keys), len(contest.choices))
    return BatchTable(keys, ballots, reported, {k: i for i, k in enumerate(keys)})


def batch_pairs(reported: ReportedContest) -> list[tuple[int, int]]:
    """(winner, loser) column pairs of the contest; supermajority contests are refused."""
    contest = reported.contest
    if contest.kind is ContestKind.SUPERMAJORITY:
        raise InputError(
            f"{contest.name!r} is a supermajority contest; batch audits cover plurality and "
            "approval contests.",
            field="kind",
            fix="audit it in a ballot-polling or ballot-comparison audit.",
        )
    winners = [contest.choices.index(w) for w in reported.winners]
    losers = [j for j in range(len(contest.choices)) if j not in winners]
    return [(w, lo) for w in winners for lo in losers]


def hand_counts(
    contest: Contest,
    draws: Sequence[SampledDraw],
    readings: Readings,
    lost: Sequence[bool],
    table: BatchTable,
) -> list[list[int] | None]:
    """Each audited batch's hand count for ``contest`` (None: not found)."""
    counts: list[list[int] | None] = []
    for i, draw in enumerate(draws):
        if lost[i]:
            counts.append(None)
            continue
        reading = readings[draw.card][contest.name]
        votes = reading.votes if reading.votes is not None and reading.result == "vote" else {}
        ballots = int(table.ballots[table.row[draw.card.batch]])
        what = f"the hand count of {_label(draw.card.batch)}"
        counts.append(_check_counts(votes, contest, ballots, what, "Votes"))
    return counts


def measure_batch_contest(
    reported: ReportedContest,
    *,
    batches: Sequence[ManifestBatch],
    tallies: Tallies,
    draws: Sequence[SampledDraw],
    rounds: Sequence[int],
    readings: Readings,
    lost: Sequence[bool],
) -> ContestMeasure:
    """Every pair's p-value path over the audited batches, notes and discrepancies.

    ``AssertionPath.margin`` is the pair's reported margin in votes over the
    ballots of all batches (the diluted margin); ``values`` hold the batch
    errors ``e_p`` in votes.
    """
    contest = reported.contest
    pairs = batch_pairs(reported)
    table = batch_table(contest, batches, tallies)
    audited = hand_counts(contest, draws, readings, lost, table)
    notes = []
    sums = {c: int(v) for c, v in zip(contest.choices, table.reported.sum(axis=0), strict=True)}
    if sums != {c: int(reported.totals.get(c, 0)) for c in contest.choices}:
        notes.append(
            f"The batch tallies add up to {batch_votes_text(sums, contest)}, not the reported "
            f"totals {batch_votes_text(reported.totals, contest)}; the audit checks the batch "
            "tallies."
        )
    rows = [table.row[d.card.batch] for d in draws]
    total_ballots = max(1, int(table.ballots.sum()))
    paths = []
    errors = np.zeros((len(pairs), len(draws)), dtype=np.int64)
    for k, (w, lo) in enumerate(pairs):
        rep_margin = table.reported[:, w] - table.reported[:, lo]
        bounds = rep_margin + table.ballots
        for i, hand in enumerate(audited):
            p = rows[i]
            errors[k, i] = bounds[p] if hand is None else rep_margin[p] - (hand[w] - hand[lo])
        margin = int(rep_margin.sum())
        name = f"{contest.name}: {contest.choices[w]} beats {contest.choices[lo]}"
        if margin <= 0:
            notes.append(
                f"{name}: the reported margin is not positive; only a full hand count can "
                "settle it."
            )
        x = errors[k].astype(np.float64)
        if margin <= 0 or not draws:
            p_values = np.ones(len(draws))
        else:
            try:
                p_values = batch_alpha_p_values(x, bounds=bounds, ballots=table.ballots)
            except ValueError as problem:  # pragma: no cover - counts are checked above
                raise InputError(f"{name}: {problem}.", field="Votes") from None
        paths.append(
            AssertionPath(
                name,
                contest.choices[w],
                contest.choices[lo],
                margin / total_ballots,
                path_of(p_values),
                x,
            )
        )
    found = []
    for i, draw in enumerate(draws):
        hand = audited[i]
        reported_row = [int(v) for v in table.reported[rows[i]]]
        if hand == reported_row:
            continue
        card = draw.card
        found.append(
            CardDiscrepancy(
                draw=draw.draw,
                round=rounds[i],
                jurisdiction=card.jurisdiction,
                tabulator=card.tabulator,
                batch_name=card.batch_name,
                position=card.position,
                imprinted_id=None,
                contest=contest.name,
                reported=batch_votes_text(
                    dict(zip(contest.choices, reported_row, strict=True)), contest
                ),
                audited=NOT_FOUND
                if hand is None
                else batch_votes_text(dict(zip(contest.choices, hand, strict=True)), contest),
                overstatement=int(errors[:, i].max()) if pairs else 0,
            )
        )
    return ContestMeasure(tuple(paths), tuple(notes), tuple(found))
