"""End to end on simulated elections: plan, draw, read the paper, measure."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tallyguard.audit.measure import measure_risk
from tallyguard.audit.workflow.engine import evaluate
from tallyguard.audit.workflow.inputs import AuditInputs, Reading
from tallyguard.audit.workflow.plan_options import plan_round
from tallyguard.audit.workflow.sample import draw_sample
from tallyguard.io.audited import read_audited
from tallyguard.io.contests import ReportedContest

from .conftest import election_inputs


def cell(reading: Reading | None, choices: tuple[str, ...]) -> str:
    """The audited-ballots CSV cell of ``tallyguard audit risk`` for a reading."""
    if reading is None:
        return "NOT FOUND"
    return {
        "vote": ";".join(reading.choices),
        "blank": "",
        "overvote": ";".join(choices),  # every choice marked: more than allowed
        "not_found": "NOT FOUND",
        "not_on_card": "NOT ON CARD",
    }[reading.result]


def cvr_cell(votes: dict[str, tuple[str, ...]] | None, contest: str) -> str:
    if votes is None:
        return "NO CVR"
    if contest not in votes:
        return "NOT ON CARD"
    return ";".join(votes[contest])


def audited_csv(inputs: AuditInputs, contest: ReportedContest, path: Path) -> Path:
    """The audited sample as ``tallyguard audit risk`` reads it, one row per draw."""
    name, choices = contest.contest.name, contest.contest.choices
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["draw", "vote", "cvr", "mvr"])
        for d in draw_sample(inputs, inputs.rounds[-1]):
            paper = cell(inputs.readings[d.card].get(name), choices)
            writer.writerow([d.draw, paper, cvr_cell(inputs.cvrs.get(d.card), name), paper])  # type: ignore[arg-type]
    return path


@pytest.mark.parametrize("kind", ["polling", "comparison"])
def test_the_engine_agrees_with_tallyguard_audit_risk(
    kind: str, election_dir: Path, tmp_path: Path
) -> None:
    election = election_inputs(election_dir, kind=kind, rounds=(150,))
    inputs = election.read(150)
    result = evaluate(inputs)
    population = result.population
    for audited, status in zip(inputs.contests, result.contests, strict=True):
        diluted = ReportedContest(
            audited.reported.contest,
            population,
            audited.reported.totals,
            audited.reported.winners,
        )
        sample = read_audited(
            audited_csv(inputs, audited.reported, tmp_path / "audited.csv"),
            audited.reported.contest,
            comparison=kind == "comparison",
        )
        report = measure_risk(diluted, sample, kind=kind, method="alpha")  # type: ignore[arg-type]
        assert status.risk == report.risk
        assert status.audited == 150


def test_discrepancies_are_the_simulators_own(election_dir: Path) -> None:
    election = election_inputs(election_dir, rounds=(320,))
    result = evaluate(election.read(320))
    drawn = {d.card for d in draw_sample(election.inputs, 320)}
    expected = {
        (card, contest): votes
        for (card, contest), votes in election.overstatements.items()
        if card in drawn
    }
    assert expected  # the sample holds some of the simulated errors
    found = {
        (
            next(
                c
                for c in drawn
                if (c.jurisdiction, c.batch_name, c.position)
                == (d.jurisdiction, d.batch_name, d.position)
            ),
            d.contest,
        ): d.overstatement
        for d in result.discrepancies
    }
    assert found == expected


@pytest.mark.parametrize("kind", ["polling", "comparison"])
def test_plan_draw_read_and_measure(kind: str, clean_dir: Path) -> None:
    election = election_inputs(clean_dir, kind=kind)
    options = plan_round(election.inputs, reps=100, seed=1)
    assert [o.probability for o in options] == [0.5, 0.7, 0.9]
    sizes = [o.sample_size for o in options]
    assert sizes == sorted(sizes)
    size = options[-1].sample_size
    round1 = election.with_(rounds=(size,))
    result = evaluate(round1.read(size))
    assert result.rounds[0].audited == size
    assert result.next_step.startswith(("Every targeted contest", "Risk limit not met"))
    if not result.confirmed:
        again = plan_round(round1.read(size), reps=100, seed=1)
        assert all(o.sample_size > size for o in again)


def test_a_batch_audit_of_a_simulated_election(batch_dir: Path) -> None:
    election = election_inputs(batch_dir, kind="batch", contests=("Governor", "City Council"))
    population = sum(1 for b in election.inputs.batches if b.num_ballots)
    options = plan_round(election.inputs, reps=50, seed=2)
    sizes = [o.sample_size for o in options]
    assert sizes == sorted(sizes)
    assert 1 <= sizes[0] <= population
    round1 = election.with_(rounds=(sizes[-1],))
    result = evaluate(round1.read(sizes[-1]))
    assert result.population == population
    assert all(d.position == 0 and d.audited for d in result.sample)
    # every listed batch really differs, and its overstatement is the hand count's
    for d in result.discrepancies:
        assert d.reported != d.audited
