"""Next-round sample sizes: the existing planners, per targeted contest, combined by maximum."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tallyguard.audit.assorters import make_assertions
from tallyguard.audit.plan import next_round_size, plan_contest
from tallyguard.audit.workflow.engine import evaluate, measure
from tallyguard.audit.workflow.plan_options import PlanOption, plan_round
from tallyguard.errors import InputError

from .handbuilt import N, hand_election
from .test_batch import batch_audit, counted

REPS = 200


def planned(kind: str, name: str, **extra: object) -> tuple[int, ...]:
    contest = next(
        c for c in hand_election(kind).inputs.contests if c.reported.contest.name == name
    )
    reported = contest.reported
    assertions = make_assertions(reported.contest, reported.totals, N)
    rows = plan_contest(
        assertions,
        kind=kind,  # type: ignore[arg-type]
        totals=reported.totals,
        alpha=0.05,
        methods=["alpha"],
        reps=REPS,
        seed=7,
        **extra,  # type: ignore[arg-type]
    )
    return rows[0].sizes


@pytest.mark.parametrize("kind", ["polling", "comparison"])
def test_round_one_uses_plan_contest_over_the_whole_manifest(kind: str) -> None:
    options = plan_round(hand_election(kind).inputs, reps=REPS, seed=7)
    expected = planned(kind, "Mayor")
    assert [o.probability for o in options] == [0.5, 0.7, 0.9]
    assert [o.per_contest for o in options] == [{"Mayor": s} for s in expected]
    assert [o.sample_size for o in options] == list(expected)
    assert "seeded simulated audits (seed 7)" in options[0].note
    assert options == plan_round(hand_election(kind).inputs, reps=REPS, seed=7)  # deterministic


def test_the_round_size_is_the_largest_over_targeted_contests() -> None:
    election = hand_election("polling", council_targeted=True)
    options = plan_round(election.inputs, reps=REPS, seed=7)
    mayor, council = planned("polling", "Mayor"), planned("polling", "Council")
    for option, m, c in zip(options, mayor, council, strict=True):
        assert option.per_contest == {"Mayor": m, "Council": c}
        assert option.sample_size == max(m, c)


def test_a_later_round_continues_from_the_audited_prefix() -> None:
    inputs = hand_election("polling", council_targeted=True, rounds=(30,)).read(30)
    result = evaluate(inputs)
    assert not result.confirmed
    options = plan_round(inputs, reps=REPS, seed=7)
    council = inputs.contests[1].reported
    assertions = make_assertions(council.contest, council.totals, N)
    # the observed values are the assorter values the engine tested on the 30 audited draws
    observed = [p.values for p in measure(inputs).contests[1].paths]
    assert [len(v) for v in observed] == [30] * len(assertions)
    rows = next_round_size(
        assertions,
        observed,
        kind="polling",
        totals=council.totals,
        alpha=0.05,
        methods=["alpha"],
        reps=REPS,
        seed=7,
    )
    assert [o.per_contest["Council"] for o in options] == list(rows[0].sizes)
    assert all(o.sample_size > 30 for o in options)


def test_a_confirmed_contest_needs_no_more_draws() -> None:
    inputs = hand_election("polling", council_targeted=True, rounds=(200,)).read(200)
    mayor, council = evaluate(inputs).contests
    assert mayor.confirmed
    assert not council.confirmed
    options = plan_round(inputs, reps=REPS, seed=7)
    assert all(o.per_contest["Mayor"] == 200 for o in options)
    assert all(o.sample_size == o.per_contest["Council"] > 200 for o in options)
    assert "already confirmed: Mayor" in options[0].note


def test_options_serialise_and_refuse_nonsense() -> None:
    option = plan_round(hand_election("comparison").inputs, reps=50)[0]
    assert isinstance(option, PlanOption)
    document = option.to_json()
    assert json.loads(json.dumps(document)) == document
    assert set(document) == {"probability", "sample_size", "per_contest", "note"}
    inputs = hand_election("comparison").inputs
    untargeted = tuple(dataclasses.replace(c, targeted=False) for c in inputs.contests)
    with pytest.raises(InputError, match="no targeted contest"):
        plan_round(dataclasses.replace(inputs, contests=untargeted))
    with pytest.raises(InputError, match="reps"):
        plan_round(inputs, reps=0)


def test_batch_plans_are_seeded_simulations_of_batch_alpha() -> None:
    inputs = batch_audit(rounds=())
    options = plan_round(inputs, reps=100, seed=3)
    sizes = [o.sample_size for o in options]
    assert sizes == sorted(sizes)
    assert 1 <= sizes[0] <= 30
    assert options == plan_round(inputs, reps=100, seed=3)
    assert "Arlo's per-card rates" in options[0].note
    # with no discrepancies at all the audit would confirm after n0 batches; the
    # simulated sizes are never below what the first errors-free batches need
    clean = evaluate(counted(batch_audit(rounds=(30,))))
    path = next(a for a in clean.assertions if a.assertion == "Governor: Alice beats Bob").p_values
    n0 = 1 + next(i for i, p in enumerate(path) if p <= 0.05)
    assert abs(sizes[0] - n0) <= 2
    # a later round starts from the batches counted so far
    later = counted(batch_audit(rounds=(3,)))
    assert all(o.sample_size >= 3 for o in plan_round(later, reps=50, seed=3))
