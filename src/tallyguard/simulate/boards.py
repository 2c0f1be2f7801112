"""Simulated audit boards: fill a round's reading templates from a simulated election's paper.

A simulated election directory (``tallyguard simulate election``) holds the CVRs
(``cvrs.csv``) and, in ``truth/discrepancies.csv``, every card and contest where
the paper differs from its CVR (marks joined by ``|``). The paper of a card is
therefore its CVR with those differences applied; a board "reads" it exactly.
Used by the demo and the end-to-end tests, never by a real audit.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

from tallyguard.io.contests import read_contests
from tallyguard.io.csvfile import open_csv
from tallyguard.io.cvr_csv import read_cvr_csv
from tallyguard.io.readings import BALLOT_COLUMNS, BATCH_COLUMNS

Card = tuple[str, str, int]  # jurisdiction, batch name, position
Paper = dict[Card, dict[str, tuple[str, ...]]]


def paper_ballots(election: Path, *, use_cvrs: bool = False) -> Paper:
    """Every card's paper marks (or, with ``use_cvrs``, its CVR), by contest."""
    cards: Paper = {}
    ids: dict[str, Card] = {}
    for record in read_cvr_csv(election / "cvrs.csv").records():
        assert record.jurisdiction is not None
        assert record.batch_name is not None
        assert record.position is not None
        card = (record.jurisdiction, record.batch_name, record.position)
        cards[card] = dict(record.votes)
        ids[record.cvr_id] = card
    if use_cvrs:
        return cards
    table = open_csv(election / "truth" / "discrepancies.csv")
    for _, row in table.rows():
        card = ids[row["cvr_id"]]
        cards[card][row["contest"]] = tuple(filter(None, row["paper"].split("|")))
    return cards


def _interpretation(marks: tuple[str, ...] | None, votes_allowed: int) -> str:
    if marks is None:
        return "NOT ON CARD"
    if not marks:
        return "BLANK"
    if len(marks) > votes_allowed:
        return "OVERVOTE"
    return ";".join(marks)


def fill_readings(
    template: Path, election: Path, *, paper: Paper | None = None, not_found: int = 0
) -> str:
    """The template's CSV text with every ``Interpretation`` read off the paper.

    ``not_found`` cards (the first ones of the template) are recorded as
    ``NOT FOUND``, to exercise the worst-case rule.
    """
    paper = paper if paper is not None else paper_ballots(election)
    allowed = {
        c.contest.name: c.contest.votes_allowed
        for c in read_contests(election / "contests.json").contests
    }
    table = open_csv(template)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    missing: set[Card] = set()
    if tuple(table.header) == BATCH_COLUMNS:
        writer.writerow(BATCH_COLUMNS)
        sums: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for (jurisdiction, batch, _), votes in paper.items():
            for contest, marks in votes.items():
                if len(marks) <= allowed[contest]:
                    for mark in marks:
                        sums[(jurisdiction, batch, contest)][mark] += 1
        for _, row in table.rows():
            key = (row["Jurisdiction"], row["Batch Name"], row["Contest"])
            writer.writerow(
                [row[c] for c in BATCH_COLUMNS[:-1]] + [sums[key].get(row["Choice"], 0)]
            )
        return buffer.getvalue()
    writer.writerow(BALLOT_COLUMNS)
    for _, row in table.rows():
        card = (row["Jurisdiction"], row["Batch Name"], int(row["Ballot Position"]))
        if card not in missing and len(missing) < not_found:
            missing.add(card)
        if card in missing:
            text = "NOT FOUND"
        else:
            text = _interpretation(paper[card].get(row["Contest"]), allowed[row["Contest"]])
        writer.writerow([row[c] for c in BALLOT_COLUMNS[:5]] + [text, row.get("Comment", "")])
    return buffer.getvalue()


def reported_batch_tallies(election: Path, contests: list[str]) -> str:
    """Batch tallies as a count would report them: the CVRs' valid votes per batch.

    One row per manifest batch, a column per choice of ``contests`` (choice names
    must be distinct across them).
    """
    cvrs = paper_ballots(election, use_cvrs=True)
    reported = read_contests(election / "contests.json").contests
    chosen = [c.contest for c in reported if c.contest.name in contests]
    choices = [choice for c in chosen for choice in c.choices]
    sums: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (jurisdiction, batch, _), votes in cvrs.items():
        for contest in chosen:
            marks = votes.get(contest.name, ())
            if len(marks) <= contest.votes_allowed:
                for mark in marks:
                    sums[(jurisdiction, batch)][mark] += 1
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Jurisdiction", "Tabulator", "Batch Name", *choices])
    manifest = open_csv(election / "manifest.csv")
    for _, row in manifest.rows():
        key = (row["Jurisdiction"], row["Batch Name"])
        writer.writerow([*key[:1], row["Tabulator"], key[1], *(sums[key][c] for c in choices)])
    return buffer.getvalue()
