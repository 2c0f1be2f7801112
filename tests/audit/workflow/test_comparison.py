"""Ballot-level comparison through the engine: no-error arithmetic, discrepancies, worst cases."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from tallyguard.audit.plan import comparison_noerror_bound
from tallyguard.audit.risk import GAMMA, METHODS, km_p_value
from tallyguard.audit.workflow.engine import evaluate
from tallyguard.audit.workflow.inputs import AuditInputs, CardKey, Reading
from tallyguard.audit.workflow.result import AuditResult
from tallyguard.audit.workflow.sample import draw_sample

from .handbuilt import N, V, hand_election

NOERROR = 1.0 / (2.0 - V)  # B on a card whose CVR is right (u_A = 1)


def mayor_risk(result: AuditResult) -> float:
    return result.contests[0].risk


def test_kaplan_markov_without_errors_confirms_at_the_closed_form_size() -> None:
    # Stark (2010), eq. (10) with no discrepancies: P_n = (1 - v / (2 gamma))^n
    n_star = math.ceil(math.log(0.05) / math.log(1 - V / (2 * GAMMA)))
    assert n_star == 40
    election = hand_election(method="kaplan-markov", rounds=(n_star,))
    result = evaluate(election.read(n_star))
    assert result.confirmed
    assert result.discrepancies == ()
    assert mayor_risk(result) == pytest.approx(km_p_value(n_star, diluted_margin=V), rel=1e-12)
    assert mayor_risk(result) == pytest.approx((1 - V / (2 * GAMMA)) ** n_star, rel=1e-12)
    path = next(a for a in result.assertions if a.contest == "Mayor").p_values
    assert path[n_star - 2] > 0.05 >= path[n_star - 1]
    short = evaluate(hand_election(method="kaplan-markov", rounds=(n_star - 1,)).read(n_star - 1))
    assert not short.confirmed
    assert mayor_risk(short) == pytest.approx((1 - V / (2 * GAMMA)) ** (n_star - 1), rel=1e-12)


@pytest.mark.parametrize("method", ["alpha", "betting"])
def test_without_errors_the_p_values_are_the_risk_function_on_no_error_values(method: str) -> None:
    election = hand_election(method=method, rounds=(60,))
    result = evaluate(election.read(60))
    expected = METHODS[method](np.full(60, NOERROR), N=N, u=2 * NOERROR, eta=NOERROR)
    path = next(a for a in result.assertions if a.contest == "Mayor").p_values
    assert path == tuple(float(p) for p in expected)
    stop = 1 + int(np.flatnonzero(expected <= 0.05)[0])
    bound = comparison_noerror_bound(V, 0.05)
    assert bound == 39
    # with replacement no test can stop before the bound; without, the sampled
    # fraction (6 % of N = 600) helps a little
    infinite = METHODS[method](np.full(60, NOERROR), N=None, u=2 * NOERROR, eta=NOERROR)
    stop_infinite = 1 + int(np.flatnonzero(infinite <= 0.05)[0])
    assert bound <= stop_infinite <= math.ceil(1.05 * bound)
    assert 0.9 * bound <= stop <= stop_infinite


def with_paper(election_inputs: AuditInputs, card: CardKey, **contests: Reading) -> AuditInputs:
    readings = {k: dict(v) for k, v in election_inputs.readings.items()}
    readings[card] = {**readings[card], **contests}
    return dataclasses.replace(election_inputs, readings=readings)


def first_card(inputs: AuditInputs, upto: int, mayor: tuple[str, ...]) -> tuple[int, CardKey]:
    for d in draw_sample(inputs, upto):
        if inputs.cvrs[d.card]["Mayor"] == mayor:
            return d.draw, d.card
    raise AssertionError("no such card")


def test_a_two_vote_overstatement_is_listed_and_raises_the_risk() -> None:
    inputs = hand_election(rounds=(40,)).read(40)
    clean = evaluate(inputs)
    draw, card = first_card(inputs, 40, ("Alice",))
    wrong = evaluate(with_paper(inputs, card, Mayor=Reading("vote", ("Bob",))))
    (found,) = wrong.discrepancies
    assert (found.draw, found.round, found.contest) == (draw, 1, "Mayor")
    assert (found.reported, found.audited, found.overstatement) == ("Alice", "Bob", 2)
    assert (found.jurisdiction, found.batch_name, found.position) == (
        card.jurisdiction,
        card.batch_name,
        card.position,
    )
    assert found.imprinted_id == f"{card.jurisdiction[0]}-{card.position}"
    assert mayor_risk(wrong) > mayor_risk(clean)
    # the B value tested for that draw is 0: the paper shows a vote for the loser
    expected = np.full(40, NOERROR)
    expected[draw - 1] = 0.0
    p = METHODS["alpha"](expected, N=N, u=2 * NOERROR, eta=NOERROR)
    assert next(a for a in wrong.assertions if a.contest == "Mayor").p_values == tuple(
        float(v) for v in p
    )


@pytest.mark.parametrize(
    ("cvr", "paper", "reported", "audited", "votes"),
    [
        (("Alice",), Reading("blank"), "Alice", "BLANK", 1),
        (("Alice",), Reading("overvote"), "Alice", "OVERVOTE", 1),
        (("Alice",), Reading("not_found"), "Alice", "NOT FOUND", 2),
        (("Bob",), Reading("vote", ("Alice",)), "Bob", "Alice", -2),
        (("Bob",), Reading("blank"), "Bob", "BLANK", -1),
        ((), Reading("vote", ("Bob",)), "BLANK", "Bob", 1),
    ],
)
def test_discrepancies_are_counted_in_votes_of_the_tightest_assertion(
    cvr: tuple[str, ...], paper: Reading, reported: str, audited: str, votes: int
) -> None:
    inputs = hand_election(rounds=(40,)).read(40)
    draw, card = first_card(inputs, 40, cvr)
    result = evaluate(with_paper(inputs, card, Mayor=paper))
    listed = [
        (d.draw, d.reported, d.audited, d.overstatement)
        for d in result.discrepancies
        if d.contest == "Mayor"
    ]
    assert listed == [(draw, reported, audited, votes)]
    if audited == "NOT FOUND":  # lost for every contest, also those its CVR lacks
        council = [d for d in result.discrepancies if d.contest == "Council"]
        assert [(d.audited, d.overstatement) for d in council] == [("NOT FOUND", 1)]
        assert council[0].reported == "NOT ON CARD" or card.jurisdiction == "Colusa"
    if votes > 0:
        assert mayor_risk(result) > mayor_risk(evaluate(inputs))


def test_a_card_without_cvr_is_a_phantom() -> None:
    inputs = hand_election(rounds=(40,)).read(40)
    draw, card = first_card(inputs, 40, ("Bob",))
    cvrs = {k: v for k, v in inputs.cvrs.items() if k != card}
    result = evaluate(dataclasses.replace(inputs, cvrs=cvrs))
    mine = [d for d in result.discrepancies if d.draw == draw]
    assert next((d.contest, d.reported, d.audited) for d in mine) == ("Mayor", "NO CVR", "Bob")
    assert mine[0].overstatement == 2  # the phantom CVR counts as a vote for the winner


def test_cards_without_the_contest_agree_and_off_card_paper_disagrees() -> None:
    inputs = hand_election(rounds=(60,)).read(60)
    assert evaluate(inputs).discrepancies == ()
    colusa = next(d for d in draw_sample(inputs, 60) if d.card.jurisdiction == "Colusa")
    result = evaluate(with_paper(inputs, colusa.card, Council=Reading("not_on_card")))
    (found,) = result.discrepancies
    assert (found.contest, found.audited) == ("Council", "NOT ON CARD")
    assert found.reported == ";".join(
        c for c in ("Erin", "Farid", "Grace") if c in inputs.cvrs[colusa.card]["Council"]
    )


def test_tabulator_manifests_audit_the_same_way() -> None:
    election = hand_election(rounds=(40,), tabulators=True)
    result = evaluate(election.read(40))
    assert {d.tabulator for d in result.sample} <= {"T1", "T2"}
    assert result.discrepancies == ()
    path = next(a for a in result.assertions if a.contest == "Mayor").p_values
    expected = METHODS["alpha"](np.full(40, NOERROR), N=N, u=2 * NOERROR, eta=NOERROR)
    assert path == tuple(float(p) for p in expected)
