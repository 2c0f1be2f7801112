"""Ballot polling through the engine: the same p-values as the risk functions on the same draws."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest

from tallyguard.audit.risk import METHODS
from tallyguard.audit.workflow.engine import evaluate
from tallyguard.audit.workflow.inputs import AuditInputs, CardKey, Reading
from tallyguard.audit.workflow.result import AuditResult
from tallyguard.audit.workflow.sample import draw_sample
from tallyguard.errors import InputError

from .handbuilt import N, hand_election

MAYOR_MEAN = (N + 330 - 240) / (2 * N)  # reported assorter mean over all 600 cards


def mayor_values(inputs: AuditInputs, upto: int) -> np.ndarray:
    """Assorter values of "Alice beats Bob" on the first draws, from the recorded readings."""
    values = []
    for d in draw_sample(inputs, upto):
        reading = inputs.readings[d.card]["Mayor"]
        if reading.result == "not_found":
            values.append(0.0)
        elif reading.result == "vote" and len(reading.choices) == 1:
            values.append(1.0 if reading.choices == ("Alice",) else 0.0)
        else:  # blank, overvote, not on card
            values.append(0.5)
    return np.array(values)


def mayor(result: AuditResult) -> Any:
    return next(a for a in result.assertions if a.contest == "Mayor")


def with_reading(inputs: AuditInputs, card: CardKey, **contests: Reading) -> AuditInputs:
    readings = {k: dict(v) for k, v in inputs.readings.items()}
    readings[card] = {**readings.get(card, {}), **contests}
    return dataclasses.replace(inputs, readings=readings)


@pytest.mark.parametrize("method", ["alpha", "bravo"])
def test_p_values_equal_the_risk_function_on_the_audited_sequence(method: str) -> None:
    inputs = hand_election("polling", method=method, rounds=(80,)).read(80)
    result = evaluate(inputs)
    x = mayor_values(inputs, 80)
    expected = METHODS[method](x, N=N, u=1.0, eta=MAYOR_MEAN)
    assertion = mayor(result)
    assert assertion.p_values == tuple(float(p) for p in expected)
    assert assertion.p_value == float(expected[-1])
    assert assertion.margin == pytest.approx(0.15, abs=1e-15)
    status = result.contests[0]
    assert (status.contest, status.population, status.ballots, status.audited) == (
        "Mayor",
        N,
        N,
        80,
    )
    assert status.risk == max(a.p_value for a in result.assertions if a.contest == "Mayor")
    assert result.population == N
    assert len(result.sample) == 80
    assert all(d.audited and d.round == 1 for d in result.sample)


def test_rounds_report_the_risk_at_their_own_size() -> None:
    inputs = hand_election("polling", rounds=(30, 70)).read(70)
    result = evaluate(inputs)
    path = mayor(result).p_values
    first, second = result.rounds
    assert (first.round, first.sample_size, first.audited) == (1, 30, 30)
    assert (second.round, second.sample_size, second.audited) == (2, 70, 70)
    assert first.risks["Mayor"] == path[29]
    assert second.risks["Mayor"] == path[69]
    assert [d.round for d in result.sample] == [1] * 30 + [2] * 40


def test_overvotes_count_as_no_valid_vote() -> None:
    election = hand_election("polling", rounds=(20,))
    inputs = election.read(20)
    card = draw_sample(inputs, 20)[4].card
    over = with_reading(inputs, card, Mayor=Reading("overvote"))
    both = with_reading(inputs, card, Mayor=Reading("vote", ("Alice", "Bob")))
    blank = with_reading(inputs, card, Mayor=Reading("blank"))
    assert mayor_values(over, 20)[4] == 0.5
    assert mayor(evaluate(over)).p_values == mayor(evaluate(blank)).p_values
    assert mayor(evaluate(both)).p_values == mayor(evaluate(blank)).p_values
    drawn = evaluate(over).sample[4]
    assert drawn.readings["Mayor"] == "OVERVOTE"


def test_a_card_not_found_is_the_worst_case_for_every_contest() -> None:
    inputs = hand_election("polling", rounds=(40,)).read(40)
    drawn = draw_sample(inputs, 40)
    card = next(
        d.card
        for d in drawn
        if d.card.jurisdiction == "Colusa"
        and inputs.readings[d.card]["Mayor"].choices == ("Alice",)
    )
    lost_for_council = dict(inputs.readings)
    lost_for_council[card] = {"Council": Reading("not_found", comment="box sealed")}
    result = evaluate(dataclasses.replace(inputs, readings=lost_for_council))
    # one NOT FOUND makes the card audited and lost for every contest: for Mayor, as a Bob vote
    assert result.contests[0].audited == 40
    as_bob = with_reading(inputs, card, Mayor=Reading("vote", ("Bob",)))
    assert mayor(result).p_values == mayor(evaluate(as_bob)).p_values
    assert result.sample[[d.card for d in drawn].index(card)].readings == {"Council": "NOT FOUND"}
    # whatever else the board wrote for a lost card does not count
    for council in ("Erin", "Farid", "Grace"):
        other = dict(lost_for_council)
        other[card] = {"Mayor": Reading("not_found"), "Council": Reading("vote", (council,))}
        again = evaluate(dataclasses.replace(inputs, readings=other))
        assert [a.p_values for a in again.assertions] == [a.p_values for a in result.assertions]


def test_a_card_without_a_reading_ends_the_audited_prefix() -> None:
    election = hand_election("polling", rounds=(40,))
    full = evaluate(election.read(40))
    gap = evaluate(election.read(40, skip=[7]))
    assert gap.contests[0].audited == 6
    assert mayor(gap).p_values == mayor(full).p_values[:6]
    assert mayor(gap).p_value == mayor(full).p_values[5]
    assert gap.rounds[0].audited == 39
    assert [d.audited for d in gap.sample].count(False) == 1
    assert gap.next_step == "Round 1: 1 of 40 sampled cards still need readings."
    # a reading for only one of the card's contests does not audit it
    inputs = election.read(40)
    card = draw_sample(inputs, 40)[0].card
    partial = dataclasses.replace(
        inputs, readings={**inputs.readings, card: {"Mayor": inputs.readings[card]["Mayor"]}}
    )
    assert evaluate(partial).contests[0].audited == 0  # Council (or NOT ON CARD) is missing


def test_opportunistic_contests_are_measured_but_do_not_decide() -> None:
    inputs = hand_election("polling", rounds=(200,)).read(200)
    result = evaluate(inputs)
    mayor_status, council = result.contests
    assert mayor_status.targeted
    assert mayor_status.confirmed
    assert not council.targeted
    assert not council.confirmed
    assert council.audited == 200
    assert council.risk < 1
    assert result.confirmed
    assert (
        result.next_step
        == "Every targeted contest is confirmed at risk limit 5%: the audit can finish."
    )
    # the diluted margin is noted: Council is on 250 of the 600 cards sampled from
    assert council.population == N
    assert council.ballots == 250
    assert "600 cards" in council.notes[0]
    assert "250 carry this contest" in council.notes[0]
    margins = {a.assertion: a.margin for a in result.assertions if a.contest == "Council"}
    assert margins["Council: Erin beats Farid"] == pytest.approx(50 / N)
    targeted = evaluate(
        dataclasses.replace(
            inputs,
            contests=(inputs.contests[0], dataclasses.replace(inputs.contests[1], targeted=True)),
        )
    )
    assert not targeted.confirmed
    assert targeted.contests[0].risk == mayor_status.risk
    assert targeted.next_step.startswith("Risk limit not met for Council (risk ")
    assert targeted.next_step.endswith(
        ": start round 2 (tallyguard audit next-round) or count all ballots by hand "
        "(tallyguard audit hand-count)."
    )


def test_without_seed_or_rounds_nothing_is_measured() -> None:
    for election in (hand_election("polling", seed=None), hand_election("polling")):
        result = evaluate(election.inputs)
        assert result.sample == ()
        assert result.rounds == ()
        assert result.discrepancies == ()
        assert all(c.risk == 1.0 and c.audited == 0 for c in result.contests)
        assert all(a.p_value == 1.0 and a.p_values == () for a in result.assertions)
        assert not result.confirmed
    assert "tallyguard audit seed" in evaluate(hand_election("polling", seed=None).inputs).next_step
    assert evaluate(hand_election("polling").inputs).next_step.startswith("Draw round 1")


def plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_the_result_is_plain_json() -> None:
    result = evaluate(hand_election("polling", rounds=(25,)).read(25))
    document = result.to_json()
    assert plain(document)
    assert json.loads(json.dumps(document)) == json.loads(json.dumps(document, sort_keys=True))
    assert evaluate(hand_election("polling", rounds=(25,)).read(25)) == result


def test_inconsistent_inputs_are_refused() -> None:
    inputs = hand_election("polling", rounds=(10,)).inputs
    with pytest.raises(InputError, match="does not apply to polling"):
        evaluate(dataclasses.replace(inputs, method="betting"))
    with pytest.raises(InputError, match="grow"):
        evaluate(dataclasses.replace(inputs, rounds=(10, 10)))
    with pytest.raises(InputError, match="exceeds the 600"):
        evaluate(dataclasses.replace(inputs, rounds=(601,)))
    big = dataclasses.replace(inputs.contests[0].reported, ballots=601)
    with pytest.raises(InputError, match="reports 601 ballot cards"):
        evaluate(
            dataclasses.replace(
                inputs, contests=(dataclasses.replace(inputs.contests[0], reported=big),)
            )
        )
    card = draw_sample(inputs, 1)[0].card
    zed = {card: {"Mayor": Reading("vote", ("Zed",)), "Council": Reading("blank")}}
    with pytest.raises(InputError, match="not a choice"):
        evaluate(dataclasses.replace(inputs, readings=zed))
