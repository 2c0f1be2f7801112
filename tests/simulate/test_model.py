"""The simulator's distributions and invariants, by seeded simulation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from tallyguard.simulate import SimulatedElection, parse_config, simulate
from tallyguard.simulate.ballots import valid_votes
from tallyguard.simulate.tamper import CAUSES, overstatement, tallies


def run(**raw: Any) -> SimulatedElection:
    return simulate(parse_config({"seed": "test", **raw}))


def binomial_ok(k: int, n: int, p: float, level: float = 0.999) -> bool:
    """``k`` lies in the central ``level`` interval of Binomial(n, p)."""
    low, high = stats.binom.interval(level, n, p)
    return bool(low <= k <= high)


@pytest.fixture(scope="module")
def errors() -> SimulatedElection:
    return run(
        units=300,
        discrepancies={
            "overstatement_1": 0.004,
            "overstatement_2": 0.002,
            "understatement_1": 0.003,
            "understatement_2": 0.001,
        },
    )


def test_cards_fill_batches_in_order(errors: SimulatedElection) -> None:
    cards, units = errors.cards, errors.units
    assert cards.n == int(units.voters.sum())  # no stuffing asked for
    assert np.array_equal(np.bincount(cards.unit, minlength=units.n), units.voters)
    assert cards.batch_size.max() <= errors.config.batch_size
    assert np.array_equal(np.bincount(cards.batch), cards.batch_size)
    # positions run 1..size inside every batch, in storage order
    first = np.r_[0, np.cumsum(cards.batch_size)[:-1]]
    expected = np.arange(cards.n) - np.repeat(first, cards.batch_size) + 1
    assert np.array_equal(cards.position, expected)
    assert np.all(np.diff(cards.batch) >= 0)


def test_unit_counts_are_consistent(errors: SimulatedElection) -> None:
    p, u = errors.protocols, errors.units
    assert np.all(p.votes.sum(axis=1) + p.invalid == p.cast)
    assert np.all(p.cast <= p.issued)
    assert np.all(p.issued <= p.electorate)
    assert np.all(u.electorate >= errors.config.min_electorate)


def test_electorate_turnout_and_shares_match_parameters() -> None:
    e = run(units=4000, jurisdictions=20, regions=5)
    config = e.config
    assert e.units.electorate.mean() == pytest.approx(config.mean_electorate, rel=0.05)
    turnout = e.units.voters.sum() / e.units.electorate.sum()
    assert turnout == pytest.approx(config.turnout, abs=0.08)
    # heavy right tail: the largest units are several times the median
    assert np.quantile(e.units.electorate, 0.99) > 3 * np.median(e.units.electorate)
    # realistic heterogeneity: regional turnouts differ by more than sampling noise
    regional = [
        e.units.voters[e.units.region == r].sum() / e.units.electorate[e.units.region == r].sum()
        for r in range(config.regions)
    ]
    assert np.ptp(regional) > 0.02
    main = e.contests[0]
    shares = np.array(list(tallies(e.count.cvr[0], e.cards.present[0], main).values()), float)
    shares /= shares.sum()
    national = np.array(config.contests[0].shares)
    assert shares == pytest.approx(national / national.sum(), abs=0.03)


def test_ballot_styles_follow_coverage(errors: SimulatedElection) -> None:
    jurisdiction = errors.units.jurisdiction[errors.cards.unit]
    for c, spec in enumerate(errors.config.contests):
        in_jur = errors.units.contest_in_jurisdiction[c]
        assert in_jur.sum() == max(1, round(spec.coverage * errors.config.jurisdictions))
        assert np.array_equal(errors.cards.present[c], in_jur[jurisdiction])
        absent = ~errors.cards.present[c]
        assert not errors.count.cvr[c][absent].any()


def test_blank_and_overvote_rates_are_binomial(errors: SimulatedElection) -> None:
    for c, (spec, contest) in enumerate(zip(errors.config.contests, errors.contests, strict=True)):
        marks = errors.cards.paper[c][errors.cards.present[c]]
        n = marks.shape[0]
        count = marks.sum(axis=1)
        if contest.kind.value != "approval":
            assert binomial_ok(int((count == 0).sum()), n, spec.blank_rate)
            over = int((count > contest.votes_allowed).sum())
            assert binomial_ok(over, n, spec.overvote_rate)
            valid = count[(count > 0) & (count <= contest.votes_allowed)]
            assert np.all(valid == contest.votes_allowed)


def test_injected_discrepancies_are_binomial_at_the_asked_rates(errors: SimulatedElection) -> None:
    rates = errors.config.discrepancies
    asked = {
        2: rates.overstatement_2,
        1: rates.overstatement_1,
        -1: rates.understatement_1,
        -2: rates.understatement_2,
    }
    for c, contest in enumerate(errors.contests):
        n = int(errors.cards.present[c].sum())
        injected = np.flatnonzero(errors.count.cause[c] == CAUSES.index("error"))
        sizes = overstatement(errors.count, c, contest, injected)
        for size, rate in asked.items():
            assert binomial_ok(int((sizes == size).sum()), n, rate), (contest.name, size)
        assert set(np.unique(sizes)) <= set(asked)
        # every other card's CVR equals its paper
        clean = errors.count.cause[c] == 0
        assert np.array_equal(errors.count.cvr[c][clean], errors.count.paper[c][clean])


def test_reported_outcome_is_right_unless_asked_otherwise(errors: SimulatedElection) -> None:
    for c, contest in enumerate(errors.contests):
        present = errors.cards.present[c]
        cvr = tallies(errors.count.cvr[c], present, contest)
        paper = tallies(errors.count.paper[c], present, contest)
        assert contest.winners(cvr) == contest.winners(paper)


@pytest.mark.parametrize("seed", ["a", "b", "c"])
def test_wrong_outcome_changes_the_true_winner_minimally(seed: str) -> None:
    e = simulate(
        parse_config({"seed": seed, "units": 60, "discrepancies": {"wrong_outcome": True}})
    )
    main = e.contests[0]
    present = e.cards.present[0]
    cvr = tallies(e.count.cvr[0], present, main)
    paper = tallies(e.count.paper[0], present, main)
    assert main.winners(cvr) != main.winners(paper)
    flipped = np.flatnonzero(e.count.cause[0] == CAUSES.index("wrong_outcome"))
    assert np.all(overstatement(e.count, 0, main, flipped) == 2)
    # minimal: one card fewer would have left the reported winner ahead on paper
    w, loser = e.count.pairs[0]
    margin = paper[main.choices[loser]] - paper[main.choices[w]]
    assert margin in (1, 2)


def test_stuffing_adds_leader_ballots_and_raises_turnout() -> None:
    clean = run(units=400)
    dirty = run(
        units=400, manipulation={"stuffing": {"incremental_rate": 0.3, "extreme_rate": 0.05}}
    )
    leader = dirty.contests[0].choices.index(dirty.config.leader_name)
    stuffed = dirty.stuffing.stuffed
    assert np.array_equal(dirty.protocols.cast, clean.protocols.cast + stuffed)
    assert np.all(dirty.protocols.votes[:, leader] >= clean.protocols.votes[:, leader] + stuffed)
    kinds = dirty.stuffing.kind
    assert binomial_ok(int((kinds == 1).sum()), 400, 0.3)
    assert binomial_ok(int((kinds == 2).sum()), 400, 0.05)
    # extreme fraud pushes turnout and leader share close to 100 %
    extreme = kinds == 2
    turnout = dirty.protocols.issued[extreme] / dirty.protocols.electorate[extreme]
    assert np.median(turnout) > 0.9
    # stuffed cards vote for the leader in the main contest only
    cards = dirty.cards.stuffed
    assert np.all(dirty.cards.paper[0][cards, leader] == 1)
    for c in range(1, len(dirty.contests)):
        assert not dirty.cards.paper[c][cards].any()


def test_manipulated_units_are_exactly_those_that_changed() -> None:
    base = {"units": 400, "regions": 4, "jurisdictions": 8}
    clean = run(**base)
    dirty = run(
        **base,
        manipulation={
            "regions": ["R02", "R03"],
            "stuffing": {"incremental_rate": 0.2},
            "transfer": {"unit_rate": 0.1, "fraction": 0.2},
            "rounding": {"unit_rate": 0.1},
        },
    )
    flagged = dirty.manipulated_units()
    differs = (
        (dirty.protocols.votes != clean.protocols.votes).any(axis=1)
        | (dirty.protocols.cast != clean.protocols.cast)
        | (dirty.protocols.issued != clean.protocols.issued)
    )
    assert np.array_equal(flagged, differs)
    assert 40 < flagged.sum() < 200
    outside = ~np.isin(dirty.units.region, [1, 2])
    assert not flagged[outside].any()
    # the genuine ballots of the manipulated election are those of the clean one
    genuine = ~dirty.cards.stuffed
    assert np.array_equal(dirty.cards.paper[1][genuine], clean.cards.paper[1])


def test_transfer_changes_count_not_paper() -> None:
    e = run(units=200, manipulation={"transfer": {"unit_rate": 0.5, "fraction": 0.3}})
    moved = e.count.cause[0] == CAUSES.index("transfer")
    leader = e.contests[0].choices.index(e.config.leader_name)
    assert moved.sum() == e.count.transferred.sum() > 0
    assert np.all(e.count.cvr[0][moved, leader] == 1)
    assert np.all(e.count.paper[0][moved, leader] == 0)
    assert not e.count.transferred[~e.count.transfer_units].any()


def test_rounding_writes_integer_percentages() -> None:
    e = run(units=500, mean_electorate=2500, manipulation={"rounding": {"unit_rate": 0.2}})
    p = e.protocols
    leader = e.contests[0].choices.index(e.config.leader_name)
    rows = np.flatnonzero(p.rounded_share >= 0)
    assert binomial_ok(rows.size, 500, 0.2)
    assert np.all(100 * p.votes[rows, leader] == p.rounded_share[rows] * p.cast[rows])
    turnout = 100 * p.issued[rows] / p.electorate[rows]
    assert np.all(np.abs(turnout - p.rounded_turnout[rows]) <= 50 / p.electorate[rows] + 1e-9)
    assert np.all(p.votes.sum(axis=1) + p.invalid == p.cast)
    assert np.all(p.cast <= p.issued)


@settings(max_examples=15)
@given(
    seed=st.text(min_size=1, max_size=12),
    units=st.integers(4, 40),
    batch=st.integers(1, 300),
    o2=st.floats(0, 0.2),
    stuffing=st.floats(0, 0.5),
    rounding=st.floats(0, 1),
)
def test_invariants_hold_for_any_parameters(
    seed: str, units: int, batch: int, o2: float, stuffing: float, rounding: float
) -> None:
    e = simulate(
        parse_config(
            {
                "seed": seed,
                "units": units,
                "batch_size": batch,
                "discrepancies": {"overstatement_2": o2},
                "manipulation": {
                    "stuffing": {"incremental_rate": stuffing},
                    "rounding": {"unit_rate": rounding},
                },
            }
        )
    )
    p = e.protocols
    assert np.all(p.votes >= 0)
    assert np.all(p.votes.sum(axis=1) + p.invalid == p.cast)
    assert np.all((p.cast <= p.issued) & (p.issued <= p.electorate))
    assert e.cards.batch_size.max() <= batch
    for c, contest in enumerate(e.contests):
        votes = valid_votes(e.count.cvr[c], contest)
        assert np.all(votes.sum(axis=1) <= contest.votes_allowed)


def test_same_seed_same_election_different_seed_different() -> None:
    a, b, c = run(units=50), run(units=50), simulate(parse_config({"seed": "other", "units": 50}))
    assert np.array_equal(a.cards.paper[0], b.cards.paper[0])
    assert np.array_equal(a.protocols.votes, b.protocols.votes)
    assert not np.array_equal(a.protocols.votes, c.protocols.votes)
