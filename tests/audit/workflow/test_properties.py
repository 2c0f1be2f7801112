"""Invariants of the engine: no dependence on mapping order; readings only extend the paths."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from tallyguard.audit.workflow.engine import evaluate
from tallyguard.audit.workflow.inputs import AuditInputs, CardKey, Reading

from .conftest import Election, election_inputs
from .handbuilt import hand_election

K = TypeVar("K")
V = TypeVar("V")


def shuffled(mapping: Mapping[K, V], rng: random.Random) -> dict[K, V]:
    items = list(mapping.items())
    rng.shuffle(items)
    return dict(items)


def scrambled(inputs: AuditInputs, rng: random.Random) -> AuditInputs:
    """The same inputs with every mapping, and the manifest's batches, in another order."""
    batches = list(inputs.batches)
    rng.shuffle(batches)
    readings = {card: shuffled(r, rng) for card, r in shuffled(inputs.readings, rng).items()}
    return dataclasses.replace(
        inputs,
        batches=tuple(batches),
        readings=readings,
        cvrs={card: shuffled(v, rng) for card, v in shuffled(inputs.cvrs, rng).items()},
        imprinted_ids=shuffled(inputs.imprinted_ids, rng),
        batch_tallies={k: shuffled(v, rng) for k, v in shuffled(inputs.batch_tallies, rng).items()},
    )


def with_errors(election: Election, upto: int) -> AuditInputs:
    """Readings of the first ``upto`` draws, with every 7th Mayor reading wrong and one lost."""
    inputs = election.read(upto)
    readings: dict[CardKey, dict[str, Reading]] = {k: dict(v) for k, v in inputs.readings.items()}
    for i, card in enumerate(readings):
        if i % 7 == 3:
            readings[card]["Mayor"] = Reading("vote", ("Bob",))
        if i == 5:
            readings[card]["Council"] = Reading("not_found")
    return dataclasses.replace(inputs, readings=readings)


ELECTIONS = {
    kind: hand_election(kind, rounds=(30, 70), tabulators=kind == "comparison")
    for kind in ("polling", "comparison")
}
BASE = {kind: with_errors(election, 70) for kind, election in ELECTIONS.items()}
RESULTS = {kind: evaluate(inputs) for kind, inputs in BASE.items()}


@settings(max_examples=15)
@given(kind=st.sampled_from(["polling", "comparison"]), rng=st.randoms(use_true_random=False))
def test_evaluate_does_not_depend_on_the_order_of_mappings_or_batches(
    kind: str, rng: random.Random
) -> None:
    assert evaluate(scrambled(BASE[kind], rng)) == RESULTS[kind]


@settings(max_examples=5)
@given(rng=st.randoms(use_true_random=False))
def test_batch_audits_do_not_depend_on_order_either(rng: random.Random, election_dir: Path) -> None:
    election = election_inputs(
        election_dir, kind="batch", rounds=(6,), contests=("Governor", "City Council")
    )
    inputs = election.read(6)
    assert evaluate(scrambled(inputs, rng)) == evaluate(inputs)


@settings(max_examples=20)
@given(
    kind=st.sampled_from(["polling", "comparison"]),
    first=st.integers(0, 70),
    more=st.integers(0, 70),
)
def test_more_readings_never_change_the_earlier_p_values(kind: str, first: int, more: int) -> None:
    second = min(70, first + more)
    early = evaluate(with_errors(ELECTIONS[kind], first))
    late = evaluate(with_errors(ELECTIONS[kind], second))
    assert [c.audited for c in early.contests] == [first] * 2
    for a, b in zip(early.assertions, late.assertions, strict=True):
        assert b.p_values[:first] == a.p_values
    # and each round's risk only depends on the draws within it
    if first >= 30:
        assert early.rounds[0].risks == late.rounds[0].risks
