"""Assorters, assertions and overstatements (Stark 2020, SHANGRLA)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyguard.audit.assorters import Assorter, make_assertions, pair_overstatements
from tallyguard.errors import InputError
from tallyguard.model import Contest, ContestKind

PLURALITY = Contest("c1", "Mayor", ContestKind.PLURALITY, ("A", "B", "C"))
TWO_SEATS = Contest("c2", "Council", ContestKind.PLURALITY, ("A", "B", "C", "D"), 2, 2)
MEASURE = Contest("c3", "Measure", ContestKind.SUPERMAJORITY, ("Yes", "No"), share_to_win=2 / 3)
APPROVAL = Contest("c4", "Board", ContestKind.APPROVAL, ("A", "B", "C"), votes_allowed=3)


def marks(*rows: tuple[int, ...]) -> np.ndarray:
    return np.array(rows, dtype=np.uint8)


def test_plurality_pair_values_and_mean() -> None:
    a = Assorter(PLURALITY, "A", "B")
    cards = marks((1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 0), (1, 1, 0))  # last one overvoted
    assert a.assort(cards).tolist() == [1.0, 0.0, 0.5, 0.5, 0.5]
    assert a.upper_bound == 1.0
    # 600 A, 400 B, 100 C, 900 cards without a vote: mean = (2000 + 200) / 4000
    assert a.reported_mean({"A": 600, "B": 400, "C": 100}, 2000) == pytest.approx(0.55)
    (assertion,) = [x for x in make_assertions(PLURALITY, {"A": 600, "B": 400, "C": 100}, 2000)
                    if x.assorter.loser == "B"]  # fmt: skip
    assert assertion.margin == pytest.approx(200 / 2000)  # the diluted margin


def test_not_found_and_not_on_card() -> None:
    a = Assorter(PLURALITY, "A", "B")
    cards = marks((1, 0, 0), (1, 0, 0), (0, 1, 0))
    found = np.array([True, False, True])
    on_card = np.array([True, True, False])
    assert a.assort(cards, found=found, on_card=on_card).tolist() == [1.0, 0.0, 0.5]


def test_supermajority_assorter() -> None:
    (assertion,) = make_assertions(MEASURE, {"Yes": 700, "No": 250}, 1000)
    a = assertion.assorter
    assert a.upper_bound == pytest.approx(0.75)  # 1 / (2 * 2/3)
    values = a.assort(marks((1, 0), (0, 1), (0, 0), (1, 1)))
    assert values.tolist() == pytest.approx([0.75, 0.0, 0.5, 0.5])
    # mean = (700 * 0.75 + 50 * 0.5) / 1000 = 0.55
    assert assertion.reported_mean == pytest.approx(0.55)
    # the mean exceeds 1/2 exactly when Yes has more than 2/3 of the valid votes
    at_threshold = a.reported_mean({"Yes": 600, "No": 300}, 900)
    assert at_threshold == pytest.approx(0.5)


def test_multi_winner_needs_every_winner_loser_pair() -> None:
    totals = {"A": 50, "B": 40, "C": 30, "D": 10}
    pairs = {(x.assorter.winner, x.assorter.loser) for x in make_assertions(TWO_SEATS, totals, 70)}
    assert pairs == {("A", "C"), ("A", "D"), ("B", "C"), ("B", "D")}


def test_approval_pairs_use_independent_marks() -> None:
    (ab, ac) = make_assertions(APPROVAL, {"A": 60, "B": 50, "C": 20}, 100)
    assert (ab.assorter.loser, ac.assorter.loser) == ("B", "C")
    assert ab.assorter.assort(marks((1, 1, 0), (1, 0, 1), (0, 1, 1))).tolist() == [0.5, 1.0, 0.0]


def test_overstatement_assorter_matches_the_taxonomy() -> None:
    (assertion,) = [x for x in make_assertions(PLURALITY, {"A": 55, "B": 45, "C": 0}, 100)
                    if x.assorter.loser == "B"]  # fmt: skip
    v = assertion.margin
    assert v == pytest.approx(0.1)
    noerror = 1 / (2 - v)
    assert assertion.noerror == pytest.approx(noerror)
    assert assertion.overstatement_upper_bound == pytest.approx(2 * noerror)
    cvr = marks((1, 0, 0), (1, 0, 0), (0, 0, 0), (0, 1, 0), (1, 0, 0))
    paper = marks((0, 1, 0), (0, 0, 0), (1, 0, 0), (1, 0, 0), (1, 0, 0))
    b = assertion.overstatement_of_marks(cvr, paper)
    assert b.tolist() == pytest.approx([0.0, noerror / 2, 1.5 * noerror, 2 * noerror, noerror])
    assert assertion.overstatement_count(b).tolist() == [2, 1, -1, -2, 0]
    # a missing paper ballot is a 2-vote overstatement when the CVR shows the winner
    missing = assertion.overstatement_of_marks(cvr[:1], cvr[:1], found=np.array([False]))
    assert missing.tolist() == [0.0]
    # a phantom CVR (card without a CVR) is taken to show the winner
    phantom = assertion.overstatement_of_marks(
        marks((0, 0, 0)), marks((0, 0, 0)), phantom=np.array([True])
    )
    assert phantom.tolist() == pytest.approx([noerror / 2])


def test_ties_and_losses_cannot_be_confirmed() -> None:
    tied = make_assertions(PLURALITY, {"A": 50, "B": 50, "C": 0}, 100)
    assert [x.can_confirm for x in tied] == [False, True]
    one_sided = make_assertions(PLURALITY, {"A": 100, "B": 0, "C": 0}, 100)
    assert all(x.margin == pytest.approx(1.0) for x in one_sided)


@pytest.mark.parametrize(
    ("contest", "totals", "ballots", "words"),
    [
        (PLURALITY, {"A": 60, "B": 50}, 100, "votes but only 100"),
        (PLURALITY, {"A": 6, "Zed": 5}, 100, "no choice"),
        (PLURALITY, {"A": -1, "B": 0}, 100, "negative"),
        (MEASURE, {"Yes": 60, "No": 40}, 100, "no winner"),
        (PLURALITY, {"A": 0, "B": 0}, 0, "at least one ballot"),
    ],
)
def test_bad_reports_are_clear_errors(
    contest: Contest, totals: dict[str, int], ballots: int, words: str
) -> None:
    with pytest.raises(InputError, match=words):
        make_assertions(contest, totals, ballots)


@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 1)), min_size=1))
def test_mean_over_cards_equals_reported_mean(rows: list[tuple[int, int, int]]) -> None:
    cards = marks(*rows)
    valid = cards[cards.sum(axis=1) <= 1]
    totals = dict(zip(PLURALITY.choices, valid.sum(axis=0).tolist(), strict=True))
    for assertion in make_assertions(PLURALITY, totals, len(rows)):
        values = assertion.assorter.assort(cards)
        assert values.mean() == pytest.approx(assertion.reported_mean)
        assert values.min() >= 0
        assert values.max() <= assertion.assorter.upper_bound
        b = assertion.overstatement(values, values)
        assert np.allclose(b, assertion.noerror)


def test_batch_overstatements() -> None:
    reported = np.array([[60, 40], [30, 20]])
    audited = np.array([[55, 45], [30, 20]])
    error, bound = pair_overstatements(reported, audited, 0, 1, np.array([100, 50]))
    assert error.tolist() == [10, 0]
    assert bound.tolist() == [120, 60]
