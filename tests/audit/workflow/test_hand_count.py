"""After an escalation the full hand count, not the sample, decides the outcome."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tallyguard.audit.workflow.engine import evaluate, hand_count_outcomes
from tallyguard.audit.workflow.files import read_inputs, write_inputs
from tests.audit.workflow.test_files import _inputs


def test_a_hand_count_that_reverses_the_outcome_says_so() -> None:
    inputs = dataclasses.replace(
        _inputs(),
        hand_count={
            "Governor": {"Alice": 2, "Bob": 4},
            "Council": {"Erin": 2, "Farid": 1, "Grace": 2},
        },
    )
    governor, council = hand_count_outcomes(inputs)
    assert governor.winners == ("Bob",)
    assert governor.reported_winners == ("Alice",)
    assert governor.outcome_as_reported is False
    # two winners; a tie for second place is broken by choice order, as Contest.winners does
    assert council.winners == ("Erin", "Grace")
    assert council.outcome_as_reported is False
    result = evaluate(inputs)
    assert result.hand_count == (governor, council)
    assert result.next_step == (
        "The full hand count decides the outcome. Governor: Bob (NOT as reported); "
        "Council: Erin, Grace (NOT as reported)."
    )


def test_without_a_hand_count_nothing_is_claimed(tmp_path: Path) -> None:
    inputs = _inputs()
    assert hand_count_outcomes(inputs) == ()
    assert evaluate(inputs).hand_count == ()
    counted = dataclasses.replace(inputs, hand_count={"Governor": {"Alice": 4, "Bob": 2}})
    write_inputs(counted, tmp_path)
    assert read_inputs(tmp_path).hand_count == {"Governor": {"Alice": 4, "Bob": 2}}
