"""Batch-comparison audits through the engine: batch-assorter ALPHA on a known taint."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tallyguard.audit.risk import batch_alpha_p_values
from tallyguard.audit.risk.macro import batch_assorter_values
from tallyguard.audit.workflow.engine import evaluate
from tallyguard.audit.workflow.inputs import AuditContest, AuditInputs, CardKey, Reading
from tallyguard.audit.workflow.sample import draw_sample
from tallyguard.errors import InputError
from tallyguard.io.contests import ReportedContest
from tallyguard.model import Contest, ContestKind, ManifestBatch

from .conftest import SEED

P = 30  # batches of 100 ballots, 10 per jurisdiction
GOVERNOR = Contest("g", "Governor", ContestKind.PLURALITY, ("Alice", "Bob", "Carol"))
MEASURE = Contest("m", "Measure", ContestKind.PLURALITY, ("Yes", "No"))
ROW = {"Alice": 60, "Bob": 30, "Carol": 5}  # every batch; 5 blank
MEASURE_ROW = {"Yes": 70, "No": 25}  # only Colusa's 10 batches


def batch_audit(rounds: tuple[int, ...] = (8,)) -> AuditInputs:
    batches = tuple(
        ManifestBatch(
            j, f"{j[0]}-{i}", 100, container=f"box {i}", tabulator="T" if j == "Butte" else None
        )
        for j in ("Alameda", "Butte", "Colusa")
        for i in range(1, 11)
    )
    tallies = {
        (b.jurisdiction, b.tabulator or "", b.batch_name): {
            **ROW,
            **(MEASURE_ROW if b.jurisdiction == "Colusa" else {}),
        }
        for b in batches
    }
    governor = ReportedContest(GOVERNOR, 3000, {c: 30 * v for c, v in ROW.items()}, ("Alice",))
    measure = ReportedContest(MEASURE, 1000, {c: 10 * v for c, v in MEASURE_ROW.items()}, ("Yes",))
    return AuditInputs(
        name="batch",
        election="e",
        kind="batch",
        risk_limit=0.05,
        method="alpha",
        seed=SEED,
        batches=batches,
        contests=(AuditContest(governor, True), AuditContest(measure, False)),
        batch_tallies=tallies,
        rounds=rounds,
    )


def counted(inputs: AuditInputs, changes: dict[int, Reading] | None = None) -> AuditInputs:
    """Hand counts equal to the tallies, except the draws (1-based) in ``changes``."""
    readings: dict[CardKey, dict[str, Reading]] = {}
    for d in draw_sample(inputs, inputs.rounds[-1]):
        row = inputs.batch_tallies[d.card.batch]
        readings[d.card] = {
            "Governor": Reading("vote", votes={c: row[c] for c in GOVERNOR.choices}),
            "Measure": Reading("vote", votes={c: row.get(c, 0) for c in MEASURE.choices}),
        }
        if changes and d.draw in changes:
            readings[d.card]["Governor"] = changes[d.draw]
    return dataclasses.replace(inputs, readings=readings)


def pair_path(errors: list[int], margin: int) -> tuple[float, ...]:
    p = batch_alpha_p_values(
        np.array(errors, dtype=np.float64), bounds=np.full(P, margin + 100), ballots=np.full(P, 100)
    )
    return tuple(float(v) for v in p)


def test_a_known_taint_gives_the_batch_alpha_p_values_of_its_errors() -> None:
    inputs = batch_audit()
    clean = evaluate(counted(inputs))
    # draw 2's batch: 2 of Alice's votes were Bob's -> the A-B margin is overstated by 4 votes,
    # the A-C margin by 2
    wrong = evaluate(
        counted(inputs, {2: Reading("vote", votes={"Alice": 58, "Bob": 32, "Carol": 5})})
    )
    ab, ac = (a for a in wrong.assertions if a.contest == "Governor")
    assert (ab.assertion, ac.assertion) == (
        "Governor: Alice beats Bob",
        "Governor: Alice beats Carol",
    )
    errors = [0] * 8
    errors[1] = 4
    assert ab.p_values == pair_path(errors, 30)
    errors[1] = 2
    assert ac.p_values == pair_path(errors, 55)
    assert ab.margin == pytest.approx(30 * P / 3000)
    # the taint of the wrong batch: e / max u = 4/130, so x = (1 - 4/130) a
    x, _, a = batch_assorter_values([0.0, 4.0], bounds=np.full(P, 130), ballots=np.full(P, 100))
    assert a == pytest.approx(1 / (2 - 2 * 900 / (P * 130)))
    assert x[1] == pytest.approx((1 - 4 / 130) * a)
    (found,) = wrong.discrepancies
    assert (found.draw, found.position, found.contest, found.overstatement) == (2, 0, "Governor", 4)
    assert found.reported == "Alice: 60; Bob: 30; Carol: 5"
    assert found.audited == "Alice: 58; Bob: 32; Carol: 5"
    assert wrong.contests[0].risk > clean.contests[0].risk
    assert wrong.population == P
    assert [d.readings["Governor"] for d in wrong.sample][1] == "Alice: 58; Bob: 32; Carol: 5"


def test_clean_counts_confirm_and_opportunistic_contests_are_measured() -> None:
    result = evaluate(counted(batch_audit(rounds=(12,))))
    governor, measure = result.contests
    assert governor.confirmed
    assert result.confirmed
    assert result.discrepancies == ()
    assert (governor.population, governor.ballots, governor.audited) == (P, 3000, 12)
    expected = pair_path([0] * 12, 30)
    assert next(a for a in result.assertions if a.contest == "Governor").p_values == expected
    # Measure is on Colusa's 10 batches only: the others report 0 votes for it
    path = next(a for a in result.assertions if a.contest == "Measure").p_values
    colusa = [d.jurisdiction == "Colusa" for d in result.sample]
    bounds = np.array(
        [
            45 + 100 if j == "Colusa" else 100
            for j in ["Alameda"] * 10 + ["Butte"] * 10 + ["Colusa"] * 10
        ]
    )
    x = batch_alpha_p_values(np.zeros(12), bounds=bounds, ballots=np.full(P, 100))
    assert path == tuple(float(v) for v in x)
    assert any(colusa)
    assert not measure.targeted


def test_a_batch_not_found_is_the_worst_case() -> None:
    inputs = batch_audit()
    result = evaluate(counted(inputs, {3: Reading("not_found")}))
    ab = next(a for a in result.assertions if a.contest == "Governor")
    errors = [0] * 8
    errors[2] = 130  # the whole bound: every ballot for the loser
    assert ab.p_values == pair_path(errors, 30)
    lost = [d for d in result.discrepancies if d.draw == 3]
    assert [(d.contest, d.audited, d.overstatement) for d in lost] == [
        ("Governor", "NOT FOUND", 155),  # the worst pair: Alice v Carol
        ("Measure", "NOT FOUND", 145 if result.sample[2].jurisdiction == "Colusa" else 100),
    ]


def test_impossible_hand_counts_and_supermajority_contests_are_refused() -> None:
    inputs = batch_audit()
    with pytest.raises(InputError, match="holds 100 ballots"):
        evaluate(counted(inputs, {1: Reading("vote", votes={"Alice": 101})}))
    with pytest.raises(InputError, match="not a choice"):
        evaluate(counted(inputs, {1: Reading("vote", votes={"Zed": 1})}))
    measure = Contest(
        "s", "Measure S", ContestKind.SUPERMAJORITY, ("Yes", "No"), share_to_win=2 / 3
    )
    reported = ReportedContest(measure, 1000, {"Yes": 700, "No": 250}, ("Yes",))
    with pytest.raises(InputError, match="supermajority"):
        evaluate(dataclasses.replace(inputs, contests=(AuditContest(reported, True),)))
    with pytest.raises(InputError, match="does not apply to batch"):
        evaluate(dataclasses.replace(inputs, method="betting"))
