"""Simulated sample sizes: agreement with BRAVO's ASN, quantiles, rounds, full hand counts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyguard.audit.assorters import Assertion, Assorter, make_assertions
from tallyguard.audit.plan import (
    NO_ERRORS,
    ErrorRates,
    bravo_asn,
    comparison_noerror_bound,
    comparison_population,
    next_round_size,
    plan_assertion,
    plan_contest,
    polling_populations,
)
from tallyguard.audit.plan.population import draw_types, remove_observed
from tallyguard.audit.plan.simulate import quantile_with_se
from tallyguard.errors import InputError
from tallyguard.model import Contest, ContestKind

from .standins import STANDINS, fixed_eta

PAIR = Contest("c1", "Mayor", ContestKind.PLURALITY, ("A", "B"))
THREE = Contest("c2", "Sheriff", ContestKind.PLURALITY, ("A", "B", "C"))
TWO_SEATS = Contest("c3", "Council", ContestKind.PLURALITY, ("A", "B", "C", "D"), 2, 2)
MEASURE = Contest("c4", "Measure", ContestKind.SUPERMAJORITY, ("Yes", "No"), share_to_win=2 / 3)


def pair(margin: float, ballots: int) -> tuple[dict[str, int], list]:
    totals = {"A": round(ballots * (1 + margin) / 2), "B": round(ballots * (1 - margin) / 2)}
    return totals, make_assertions(PAIR, totals, ballots)


# The engine against a closed form -------------------------------------------------


@pytest.mark.parametrize("margin", [0.1, 0.2])
def test_simulated_bravo_mean_matches_the_asn(margin: float) -> None:
    """With replacement, the mean BRAVO sample size is LSY 2012's ASN (within MC error)."""
    totals, (a,) = pair(margin, 100_000)
    (row,) = plan_assertion(
        a, kind="polling", totals=totals, functions=STANDINS, reps=2000, seed=3, replace=True
    )
    asn = bravo_asn(margin, 0.05)
    # the ASN adds half a step of overshoot; allow 4 SE and 3 % for it
    assert abs(row.expected - asn) <= 4 * row.expected_se + 0.03 * asn
    assert row.with_replacement
    assert row.reps == 2000
    assert row.already_drawn == 0
    assert row.sizes[0] <= row.sizes[1] <= row.sizes[2]
    assert all(se > 0 for se in row.size_se)


def test_without_replacement_needs_fewer_when_the_sample_is_a_large_fraction() -> None:
    totals, (a,) = pair(0.05, 3000)
    (wr,) = plan_assertion(a, kind="polling", totals=totals, functions=STANDINS, reps=500)
    (rep,) = plan_assertion(
        a, kind="polling", totals=totals, functions=STANDINS, reps=500, replace=True
    )
    assert wr.expected < rep.expected
    assert wr.limit == rep.limit == 3000


def test_reproducible_and_independent_of_the_other_methods() -> None:
    totals, (a,) = pair(0.1, 20_000)
    kw = {"kind": "polling", "totals": totals, "reps": 300, "seed": 11}
    one = plan_assertion(a, functions=STANDINS, **kw)
    again = plan_assertion(a, functions=STANDINS, **kw)
    both = plan_assertion(a, functions={"twin": fixed_eta, "bravo": fixed_eta}, **kw)
    other_seed = plan_assertion(a, functions=STANDINS, **{**kw, "seed": 12})
    assert one == again
    assert [r.method for r in both] == ["twin", "bravo"]
    assert both[1].sizes == both[0].sizes == one[0].sizes
    assert other_seed[0].expected != one[0].expected


@settings(max_examples=8)
@given(st.floats(0.04, 0.5), st.integers(0, 2**32 - 1))
def test_quantiles_are_ordered(margin: float, seed: int) -> None:
    totals, (a,) = pair(margin, 5000)
    (row,) = plan_assertion(
        a, kind="polling", totals=totals, functions=STANDINS, reps=200, seed=seed
    )
    assert row.sizes[0] <= row.sizes[1] <= row.sizes[2] <= row.limit


# Contests, full hand counts, ties ---------------------------------------------------------


def test_contest_needs_its_slowest_assertion() -> None:
    totals = {"A": 4500, "B": 4000, "C": 1000}
    assertions = make_assertions(THREE, totals, 10_000)
    kw = {"kind": "polling", "totals": totals, "functions": STANDINS, "reps": 300, "seed": 5}
    (contest,) = plan_contest(assertions, **kw)
    singles = [plan_assertion(a, **kw)[0] for a in assertions]
    assert contest.subject == "Sheriff"
    for q in range(3):
        assert contest.sizes[q] >= max(s.sizes[q] for s in singles)
    assert contest.sizes == singles[0].sizes  # A-B decides, on the same draws


def test_multi_winner_pairs_get_their_own_populations() -> None:
    totals = {"A": 500, "B": 450, "C": 300, "D": 150}
    assertions = make_assertions(TWO_SEATS, totals, 800)
    pops = polling_populations(assertions, totals)
    assert len(pops) == 4
    for pop, a in zip(pops, assertions, strict=True):
        assert pop.means()[0] == pytest.approx(a.reported_mean)
        assert pop.size == 800
    # A and B cannot both fit on 800 cards without 150 cards carrying both
    (ab,) = [p for p, a in zip(pops, assertions, strict=True) if a.assorter.loser == "C"][:1]
    assert ab.counts.tolist() == [500, 300, 0, 0]
    (row,) = plan_contest(
        assertions, kind="polling", totals=totals, functions=STANDINS, reps=100, seed=1
    )
    assert row.sizes[2] <= 800


def test_small_contest_plans_a_full_hand_count() -> None:
    totals, (a,) = pair(0.02, 300)
    kw = {"kind": "polling", "totals": totals, "functions": STANDINS, "reps": 200}
    (row,) = plan_assertion(a, replace=True, **kw)
    assert all(row.full_hand_count)
    assert row.sizes == (300, 300, 300)
    assert row.limit == 300
    # without replacement the last few cards settle it: nearly, but not quite, everything
    (row,) = plan_assertion(a, **kw)
    assert 270 <= row.sizes[0] < 300
    assert not row.full_hand_count[0]


@pytest.mark.parametrize("totals", [{"A": 500, "B": 500}, {"A": 400, "B": 500}])
def test_tie_or_loss_plans_a_full_hand_count(totals: dict[str, int]) -> None:
    # A reported as the winner: a tie, or a loss by 100 votes
    mean = Assorter(PAIR, "A", "B").reported_mean(totals, 1000)
    assertions = [Assertion(Assorter(PAIR, "A", "B"), mean, 1000)]
    rows = plan_contest(
        assertions, kind="polling", totals=totals, functions=STANDINS, reps=50, seed=1
    )
    (row,) = rows
    assert all(row.full_hand_count)
    assert row.sizes == (1000, 1000, 1000)
    assert row.expected == 1000
    assert row.expected_se == 0
    assert "full hand count" in row.note


def test_supermajority_plan() -> None:
    totals = {"Yes": 7000, "No": 2500}
    (a,) = make_assertions(MEASURE, totals, 10_000)
    (pop,) = polling_populations([a], totals)
    assert pop.targets[0].upper_bound == pytest.approx(0.75)
    assert pop.means()[0] == pytest.approx(a.reported_mean)
    (row,) = plan_assertion(a, kind="polling", totals=totals, functions=STANDINS, reps=200, seed=2)
    assert 0 < row.sizes[0] < row.limit


# Comparison ---------------------------------------------------------------------------


def test_comparison_population_values() -> None:
    _totals, (a,) = pair(0.02, 100_000)
    pop = comparison_population([a], ErrorRates(o1=0.001, o2=0.0001, u1=0.001, u2=0.0001))
    noerror = a.noerror
    assert pop.values[0].tolist() == pytest.approx(
        [noerror, noerror / 2, 0.0, 1.5 * noerror, 2 * noerror]
    )
    assert pop.counts.tolist() == [99_780, 100, 10, 100, 10]
    assert pop.targets[0].eta == pytest.approx(noerror)
    assert pop.targets[0].upper_bound == pytest.approx(a.overstatement_upper_bound)
    # a population whose errors wipe out the margin has mean exactly 1/2
    wiped = comparison_population([a], counts=np.array([99_000, 0, 1000, 0, 0]))
    assert wiped.means()[0] == pytest.approx(0.5)


def test_comparison_without_errors_is_deterministic() -> None:
    _totals, (a,) = pair(0.05, 50_000)
    (row,) = plan_assertion(
        a, kind="comparison", rates=NO_ERRORS, functions=STANDINS, reps=20, seed=1
    )
    assert row.sizes[0] == row.sizes[2]
    assert row.size_se == (0.0, 0.0, 0.0)
    assert row.sizes[0] >= comparison_noerror_bound(0.05, 0.05)


# Next round ---------------------------------------------------------------------------------


def test_next_round_continues_from_the_observed_sample() -> None:
    totals, (a,) = pair(0.1, 5000)
    # 40 cards for A, 40 for B: no evidence yet, the round did not confirm
    observed = np.array([1.0, 0.0] * 40)
    assert fixed_eta(observed, N=5000, u=1.0, eta=a.reported_mean).min() > 0.05
    kw = {"kind": "polling", "totals": totals, "functions": STANDINS, "reps": 300, "seed": 4}
    (nxt,) = next_round_size([a], [observed], **kw)
    (first,) = plan_assertion(a, **kw)
    assert nxt.already_drawn == 80
    assert nxt.next_round == tuple(s - 80 for s in nxt.sizes)
    assert all(s > 80 for s in nxt.sizes)
    # bad luck so far costs more than the plan from scratch
    assert nxt.expected > first.expected
    # a strong first round leaves little to do
    good = np.array([1.0] * 30 + [0.0] * 10)
    (easy,) = next_round_size([a], [good], **kw)
    assert easy.expected - 40 < first.expected


def test_next_round_after_every_card_is_drawn() -> None:
    totals, (a,) = pair(0.1, 40)
    observed = np.array([1.0, 0.0] * 20)
    (row,) = next_round_size(
        [a], [observed], kind="polling", totals=totals, functions=STANDINS, reps=10
    )
    assert all(row.full_hand_count)
    assert row.next_round == (0, 0, 0)


def test_next_round_checks_its_input() -> None:
    totals = {"A": 4500, "B": 4000, "C": 1000}
    assertions = make_assertions(THREE, totals, 10_000)
    kw = {"kind": "polling", "totals": totals, "functions": STANDINS}
    with pytest.raises(InputError, match="every assertion"):
        next_round_size(assertions, [np.ones(3)], **kw)
    with pytest.raises(InputError, match="same draws"):
        next_round_size(assertions, [np.ones(3), np.ones(4)], **kw)


def test_bad_options() -> None:
    totals, (a,) = pair(0.1, 1000)
    with pytest.raises(InputError, match="risk limit"):
        plan_assertion(a, kind="polling", totals=totals, functions=STANDINS, alpha=1.0)
    with pytest.raises(InputError, match="tallies"):
        plan_assertion(a, kind="polling", functions=STANDINS)
    with pytest.raises(InputError, match="kind"):
        plan_assertion(a, kind="batch", functions=STANDINS)  # type: ignore[arg-type]


# Draws ------------------------------------------------------------------------------------


def test_draws_without_replacement_are_permutations() -> None:
    rng = np.random.default_rng(0)
    counts = np.array([5, 3, 0, 2])
    left = np.tile(counts, (50, 1))
    first, left = draw_types(left, 4, rng, replace=False)
    rest, left = draw_types(left, 6, rng, replace=False)
    every = np.concatenate([first, rest], axis=1)
    assert (left == 0).all()
    for row in every:
        assert np.bincount(row, minlength=4).tolist() == counts.tolist()
    assert len({tuple(r) for r in every}) > 10  # the order is random
    with pytest.raises(ValueError, match="more cards"):
        draw_types(np.tile(counts, (2, 1)), 11, rng, replace=False)


def test_draw_frequencies() -> None:
    rng = np.random.default_rng(1)
    counts = np.array([600, 300, 100])
    for replace in (True, False):
        types, _ = draw_types(np.tile(counts, (400, 1)), 50, rng, replace=replace)
        freq = np.bincount(types.ravel(), minlength=3) / types.size
        assert freq == pytest.approx([0.6, 0.3, 0.1], abs=0.01)
        # the first draw is uniform over cards as well
        assert np.mean(types[:, 0] == 0) == pytest.approx(0.6, abs=0.08)


def test_remove_observed() -> None:
    totals, (a,) = pair(0.2, 100)
    (pop,) = polling_populations([a], totals)
    left = remove_observed(pop, np.array([[1.0, 1.0, 0.0, 0.5]]))
    assert left.tolist() == [57, 39, 0]  # no blank cards left to match: taken from A
    with pytest.raises(InputError, match="observed"):
        remove_observed(pop, np.ones((1, 101)))


def test_quantile_with_se() -> None:
    sizes = np.arange(1, 101)
    assert quantile_with_se(sizes, 0.5) == (50, 5.0)
    assert quantile_with_se(sizes, 0.9)[0] == 90
    assert quantile_with_se(np.full(10, 7), 0.7) == (7, 0.0)


# The real risk functions ------------------------------------------------------------------


@pytest.mark.parametrize("margin", [0.01, 0.05])
def test_comparison_without_errors_needs_at_most_105_percent_of_the_bound(margin: float) -> None:
    """Issue #3: with no discrepancies, at most 1.05 x ceil(ln(1/alpha)/ln(2/(2-v))) ballots."""
    pytest.importorskip("tallyguard.audit.risk")
    _, (a,) = pair(margin, 100_000)
    rows = plan_assertion(a, kind="comparison", rates=NO_ERRORS, reps=2, seed=1)
    assert {r.method for r in rows} == {"alpha", "betting", "kaplan-markov"}
    bound = comparison_noerror_bound(margin, 0.05)
    by = {r.method: r for r in rows}
    assert by["betting"].sizes[-1] <= 1.05 * bound
    assert by["alpha"].sizes[-1] <= 1.05 * bound
    assert by["kaplan-markov"].sizes[-1] >= bound


def test_polling_methods_apply_to_polling_only() -> None:
    pytest.importorskip("tallyguard.audit.risk")
    totals, (a,) = pair(0.1, 10_000)
    with pytest.raises(InputError, match="do not apply"):
        plan_assertion(a, kind="polling", totals=totals, methods=["kaplan-markov"])
    rows = plan_assertion(a, kind="polling", totals=totals, reps=50, seed=1)
    assert {r.method for r in rows} == {"bravo", "alpha"}


def test_methods_that_refuse_an_assorter_are_left_out_or_reported() -> None:
    pytest.importorskip("tallyguard.audit.risk")
    totals = {"Yes": 7000, "No": 2500}
    (a,) = make_assertions(MEASURE, totals, 10_000)
    rows = plan_assertion(a, kind="polling", totals=totals, reps=50, seed=1)
    assert [r.method for r in rows] == ["alpha"]  # BRAVO needs u = 1
    with pytest.raises(InputError, match="bravo"):
        plan_assertion(a, kind="polling", totals=totals, methods=["bravo"], reps=50)
