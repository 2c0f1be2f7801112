"""Summaries behind ``tallyguard inspect``: what a file holds and what looks odd.

A CVR summary counts, per contest, the cards carrying it, the votes per choice
and the over- and undervoted cards (more / fewer marks than the votes allowed,
as NIST SP 1500-103 §2 defines them). The oddities it reports are the ones that
break a ballot-comparison audit later (Arlo's most common upload failures,
``server/api/cvrs.py``): cards that cannot be located (no batch or position),
batches whose positions have gaps (the manifest must count the missing cards),
imprinted ids used twice, contests on no card.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from tallyguard.io.batch_tallies import read_batch_tallies
from tallyguard.io.contests import read_contests
from tallyguard.io.csvfile import open_csv
from tallyguard.io.manifest import read_manifest
from tallyguard.io.results import inconsistent_units, read_results

_PLACEHOLDER = "(this file)"


class _Contest:
    def __init__(self, choices: tuple[str, ...], allowed: int | None) -> None:
        self.choices, self.allowed = choices, allowed
        self.cards = self.over = self.under = 0
        self.votes: Counter[str] = Counter()

    def add(self, marks: tuple[str, ...]) -> None:
        self.cards += 1
        self.votes.update(marks)
        if self.allowed is not None:
            self.over += len(marks) > self.allowed
            self.under += len(marks) < self.allowed

    def summary(self) -> dict[str, Any]:
        known = self.allowed is not None
        choices = list(self.choices) + [c for c in self.votes if c not in self.choices]
        return {
            "choices": choices,
            "votes_allowed": self.allowed,
            "cards": self.cards,
            "votes": {choice: self.votes.get(choice, 0) for choice in choices},
            "overvotes": self.over if known else None,
            "undervotes": self.under if known else None,
        }


def inspect_reader(reader: Any) -> dict[str, Any]:
    """Read every record of a CVR reader and summarise (see the module docstring)."""
    allowed: dict[str, int] = dict(getattr(reader, "votes_allowed", {}) or {})
    contests = {
        name: _Contest(tuple(choices), allowed.get(name))
        for name, choices in reader.contests.items()
    }
    batches: dict[tuple[str | None, str], list[int]] = {}
    imprinted: Counter[str] = Counter()
    unlocated = records = 0
    for record in reader.records():
        records += 1
        for name, marks in record.votes.items():
            contests.setdefault(name, _Contest((), allowed.get(name))).add(marks)
        if record.imprinted_id:
            imprinted[record.imprinted_id] += 1
        if record.batch_name is None or record.position is None:
            unlocated += 1
            continue
        key = (getattr(record, "tabulator", None), record.batch_name)
        seen = batches.setdefault(key, [0, 0])
        seen[0] += 1
        seen[1] = max(seen[1], record.position)
    problems = [str(note) for note in getattr(reader, "notes", ()) or ()]
    problems += _oddities(contests, batches, imprinted, unlocated)
    return {
        "records": records,
        "contests": {name: c.summary() for name, c in contests.items()},
        "problems": problems,
    }


def _oddities(
    contests: dict[str, _Contest],
    batches: dict[tuple[str | None, str], list[int]],
    imprinted: Counter[str],
    unlocated: int,
) -> list[str]:
    found: list[str] = []
    empty = [name for name, c in contests.items() if not c.cards]
    if empty:
        found.append(f"{len(empty)} contest(s) are on no card, e.g. {empty[0]!r}")
    if unlocated:
        found.append(
            f"{unlocated} card(s) have no batch or no position in it; they can be found "
            "among the paper ballots only by imprinted id"
        )
    gaps = [(key, n, top) for key, (n, top) in batches.items() if top != n]
    if gaps:
        (tabulator, batch), n, top = gaps[0]
        where = f"{tabulator} / {batch}" if tabulator else batch
        found.append(
            f"{len(gaps)} batch(es) have gaps or repeats in their positions (e.g. {where}: "
            f"{n} card(s), highest position {top}); the ballot manifest must count every card"
        )
    repeated = [value for value, count in imprinted.items() if count > 1]
    if repeated:
        found.append(
            f"{len(repeated)} imprinted id(s) appear on more than one card, e.g. {repeated[0]!r}"
        )
    return found


def _totals(choices: list[str], totals: dict[str, int]) -> dict[str, Any]:
    return {
        "choices": choices,
        "votes_allowed": None,
        "cards": None,
        "votes": totals,
        "overvotes": None,
        "undervotes": None,
    }


def inspect_tables(path: Path, format: str) -> dict[str, Any]:
    """Summarise a manifest, results table, contests.json, batch tallies or Arlo file."""
    notes: list[str] = []
    contests: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    if format == "manifest":
        batches = read_manifest(path, _PLACEHOLDER, notes=notes)
        records = len(batches)
        extra["ballots"] = sum(batch.num_ballots for batch in batches)
    elif format == "results":
        table = read_results(path)
        notes += table.notes
        records = table.frame.height
        sums = {c: int(table.frame[c].sum()) for c in table.choices}
        contests["(results)"] = _totals(list(table.choices), sums)
        bad = inconsistent_units(table)
        if bad.height:
            notes.append(
                f"{bad.height} unit/rule pair(s) break an accounting rule, e.g. "
                f"{bad['unit_id'][0]!r}: {bad['rule'][0]}"
            )
    elif format == "contests":
        election = read_contests(path)
        records = len(election.contests)
        for item in election.contests:
            entry = _totals(list(item.contest.choices), dict(item.totals))
            entry.update(votes_allowed=item.contest.votes_allowed, cards=item.ballots)
            contests[item.contest.name] = entry
    elif format == "batch-tallies":
        header = open_csv(path).header
        skip = {"batch name", "jurisdiction"}
        choices = [name for name in header if name.casefold() not in skip]
        tallies = read_batch_tallies(path, choices, _PLACEHOLDER)
        records = len(tallies)
        sums = {c: int(sum(int(v[k]) for v in tallies.values())) for k, c in enumerate(choices)}
        contests["(candidate totals by batch)"] = _totals(choices, sums)
    else:
        csv = open_csv(path)
        notes += csv.notes
        rows = [row for _line, row in csv.rows()]
        records = len(rows)
        if format == "arlo-standardized-contests":
            name, where = csv.column("Contest Name"), csv.column("Jurisdictions")
            assert name is not None
            assert where is not None
            for row in rows:
                entry = _totals([], {})
                entry["jurisdictions"] = [j.strip() for j in row[where].split(",") if j.strip()]
                contests[row[name]] = entry
    return {"records": records, "contests": contests, "problems": notes, **extra}
