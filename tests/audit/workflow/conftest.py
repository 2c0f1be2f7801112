"""Audit inputs from a simulated election: manifest, CVRs, contests and the paper ballots.

``simulated(directory)`` writes a small election with ``tallyguard.simulate``
(manifest.csv, cvrs.csv, contests.json, truth/) and reads it back with
tallyguard's own readers into an :class:`Election`: the :class:`AuditInputs`
of an audit of it and each card's paper (its CVR with the simulator's
recorded discrepancies applied), so a test can play the audit boards.
"""

from __future__ import annotations

import csv
import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tallyguard.audit.workflow.inputs import AuditContest, AuditInputs, CardKey, Reading
from tallyguard.audit.workflow.sample import draw_sample
from tallyguard.io.contests import read_contests
from tallyguard.io.cvr_csv import read_cvr_csv
from tallyguard.io.manifest import read_manifest
from tallyguard.simulate import parse_config, run_simulation

SEED = "58209749445923078164"
Marks = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Election:
    """A simulated election as an audit sees it, and the truth on paper."""

    inputs: AuditInputs
    paper: dict[CardKey, Marks]  # what the boards will see on each card
    cvr_marks: dict[CardKey, Marks]
    #: the simulator's record: (card, contest) -> overstatement of its tightest pair, in votes
    overstatements: dict[tuple[CardKey, str], int] = dataclasses.field(default_factory=dict)

    def with_(self, **changes: Any) -> Election:
        return dataclasses.replace(self, inputs=dataclasses.replace(self.inputs, **changes))

    def reading(self, card: CardKey, contest: str) -> Reading:
        """The board's reading of one contest on one card (or a batch's hand count)."""
        allowed = {c.reported.contest.name: c.reported.contest for c in self.inputs.contests}
        if card.position == 0:  # a batch: count its cards' valid votes
            votes: dict[str, int] = dict.fromkeys(allowed[contest].choices, 0)
            for key, marks in self.paper.items():
                if key.batch == card.batch:
                    chosen = marks.get(contest, ())
                    if len(chosen) <= allowed[contest].votes_allowed:
                        for choice in chosen:
                            votes[choice] += 1
            return Reading("vote", votes=votes)
        marks = self.paper[card].get(contest)
        if marks is None:
            return Reading("not_on_card")
        if not marks:
            return Reading("blank")
        if len(marks) > allowed[contest].votes_allowed:
            return Reading("overvote")
        return Reading("vote", tuple(marks))

    def read(self, upto: int, *, skip: Iterable[int] = ()) -> AuditInputs:
        """The inputs with every contest read on draws 1..``upto`` (except draws in ``skip``)."""
        inputs = self.inputs
        assert inputs.rounds
        names = [c.reported.contest.name for c in inputs.contests]
        readings: dict[CardKey, dict[str, Reading]] = {}
        for d in draw_sample(inputs, inputs.rounds[-1])[:upto]:
            if d.draw not in set(skip):
                readings[d.card] = {name: self.reading(d.card, name) for name in names}
        return dataclasses.replace(inputs, readings=readings)


def simulate_election(directory: Path, **params: Any) -> Path:
    """Write a small simulated election (3 jurisdictions, a few hundred cards)."""
    config = {
        "seed": "workflow-tests",
        "units": 6,
        "regions": 3,
        "jurisdictions": 3,
        "mean_electorate": 150,
        "batch_size": 40,
        "cvr_formats": ["csv"],
        **params,
    }
    run_simulation(parse_config(config), directory)
    return directory


def election_inputs(
    directory: Path,
    *,
    kind: str = "comparison",
    method: str = "alpha",
    seed: str | None = SEED,
    rounds: tuple[int, ...] = (),
    targeted: Iterable[str] = ("Governor",),
    contests: Iterable[str] | None = None,
    risk_limit: float = 0.05,
) -> Election:
    """An :class:`Election` of the simulated election in ``directory``.

    ``contests`` picks the contests of the audit (default: all), ``targeted``
    those that drive the sample. Batch audits get batch tallies of the CVRs'
    valid votes.
    """
    batches = tuple(read_manifest(directory / "manifest.csv"))
    tabulator = {(b.jurisdiction, b.batch_name): b.tabulator or "" for b in batches}
    chosen = set(contests) if contests is not None else None
    reported = [
        c
        for c in read_contests(directory / "contests.json").contests
        if chosen is None or c.contest.name in chosen
    ]
    wanted = set(targeted)
    cvr_marks: dict[CardKey, Marks] = {}
    imprinted: dict[CardKey, str] = {}
    ids: dict[str, CardKey] = {}
    names = {c.contest.name for c in reported}
    for record in read_cvr_csv(directory / "cvrs.csv").records():
        assert record.jurisdiction
        assert record.batch_name
        assert record.position
        key = CardKey(
            record.jurisdiction,
            tabulator[(record.jurisdiction, record.batch_name)],
            record.batch_name,
            record.position,
        )
        cvr_marks[key] = {c: v for c, v in record.votes.items() if c in names}
        ids[record.cvr_id] = key
        if record.imprinted_id:
            imprinted[key] = record.imprinted_id
    paper = {key: dict(marks) for key, marks in cvr_marks.items()}
    overstatements: dict[tuple[CardKey, str], int] = {}
    with (directory / "truth" / "discrepancies.csv").open(encoding="utf-8", newline="") as f:
        truth = list(csv.DictReader(f))
    for row in truth:
        if row["contest"] in names:
            card = ids[row["cvr_id"]]
            paper[card][row["contest"]] = tuple(filter(None, row["paper"].split("|")))
            overstatements[(card, row["contest"])] = int(row["overstatement"])
    tallies: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
    if kind == "batch":
        for b in batches:
            tallies[(b.jurisdiction, b.tabulator or "", b.batch_name)] = {}
        allowed = {c.contest.name: c.contest.votes_allowed for c in reported}
        for key, marks in cvr_marks.items():
            for contest, chosen_marks in marks.items():
                if len(chosen_marks) <= allowed[contest]:
                    for choice in chosen_marks:
                        row = tallies[key.batch]
                        row[choice] = row.get(choice, 0) + 1
    inputs = AuditInputs(
        name="test audit",
        election="Simulated General Election",
        kind=kind,  # type: ignore[arg-type]
        risk_limit=risk_limit,
        method=method,
        seed=seed,
        batches=batches,
        contests=tuple(AuditContest(c, c.contest.name in wanted) for c in reported),
        cvrs=cvr_marks if kind == "comparison" else {},
        imprinted_ids=imprinted if kind == "comparison" else {},
        batch_tallies=dict(tallies),
        rounds=rounds,
    )
    return Election(inputs, paper, cvr_marks, overstatements)


@pytest.fixture(scope="session")
def election_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated election with one- and two-vote discrepancies."""
    return simulate_election(
        tmp_path_factory.mktemp("workflow") / "election",
        discrepancies={"overstatement_1": 0.01, "overstatement_2": 0.005},
    )


@pytest.fixture(scope="session")
def batch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A larger simulated election (about 70 batches) for batch audits."""
    return simulate_election(
        tmp_path_factory.mktemp("workflow") / "batches",
        units=30,
        regions=3,
        discrepancies={"overstatement_1": 0.01, "understatement_1": 0.005},
    )


@pytest.fixture(scope="session")
def clean_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated election whose paper equals its CVRs."""
    return simulate_election(tmp_path_factory.mktemp("workflow") / "clean")
