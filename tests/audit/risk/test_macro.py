"""MACRO (Stark 2008/2009) against Arlo's macro.py figures, and the batch-assorter ALPHA."""

from __future__ import annotations

import numpy as np
import pytest

from tallyguard.audit.risk import (
    batch_alpha_p_values,
    batch_error_bounds,
    batch_taints,
    macro_p_value,
    macro_p_values,
    pair_margins,
)
from tallyguard.audit.risk.macro import batch_assorter_values

PAIR = [(0, 1)]


def arlo_fixture(contest: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Arlo test_macro.py ``batches`` for one contest: (winner, loser) tallies and ballots.

    Batch i (0..199) has 400 ballots, "Batch i AV" 200; contest A is on all 400 batches
    (200/180 and 100/90), B on i < 100 (200/160, 100/80), C on i < 30 and 100 <= i < 130
    (200/140, 100/70). Returns the rows, ballots and the batch numbers i of the rows
    (big batch then AV batch for each i).
    """
    spec = {
        "A": (range(200), 180),
        "B": (range(100), 160),
        "C": ([*range(30), *range(100, 130)], 140),
    }
    numbers, loser = spec[contest]
    rows, ballots, ids = [], [], []
    for i in numbers:
        rows += [(200, loser), (100, loser // 2)]
        ballots += [400, 200]
        ids += [i, i]
    return np.array(rows), np.array(ballots), ids


def test_arlo_max_errors_and_total_bound() -> None:
    # Arlo test_max_error: u_p = 0.07 / 0.035 (A), 0.0733 / 0.0367 (B), 0.0852 / 0.0426 (C)
    # test_compute_risk comments: U = 21 (A), 11 (B), 23/3 (C)
    for contest, big, small, total in (
        ("A", 0.07, 0.035, 21.0),
        ("B", 0.0733, 0.0367, 11.0),
        ("C", 0.0852, 0.0426, 23 / 3),
    ):
        rows, ballots, _ = arlo_fixture(contest)
        bounds = batch_error_bounds(rows, ballots, PAIR, margins=pair_margins(rows, PAIR))
        assert abs(bounds[0] - big) < 0.001
        assert abs(bounds[1] - small) < 0.001
        assert bounds.sum() == pytest.approx(total, rel=1e-12)


def test_arlo_compute_risk() -> None:
    # 30 clean draws (Batches 0..29), then Batches 100..105 whose audit finds 190/190 for A
    # (reported 200/180: e = 20 votes, taint (20/6000)/(420/6000) = 1/21, a factor of 1);
    # Arlo expects (20/21)^30 for A and (20/23)^36 for C, then (20/23)^39 after three
    # repeated draws of Batches 100..102 (tolerance 1e-4).
    draws = [*range(30), *range(100, 106)]
    for contest, expected, expected_again in (
        ("A", (20 / 21) ** 30, (20 / 21) ** 30),
        ("C", (20 / 23) ** 36, (20 / 23) ** 39),
    ):
        rows, ballots, ids = arlo_fixture(contest)
        margins = pair_margins(rows, PAIR)
        total = batch_error_bounds(rows, ballots, PAIR, margins=margins).sum()
        sampled = [ids.index(i) for i in draws]  # the 400-ballot batch of each number
        audited = rows[sampled].copy()
        if contest == "A":
            audited[30:] = (190, 190)
        taints = batch_taints(rows[sampled], audited, ballots[sampled], PAIR, margins=margins)
        p = macro_p_value(taints, total_bound=total)
        assert abs(p - expected) < 1e-4
        assert p == pytest.approx(expected, rel=1e-12)
        again = np.r_[taints, taints[30:33]]
        assert macro_p_value(again, total_bound=total) == pytest.approx(expected_again, 1e-12)


PENDING_ROWS = np.array([(60, 40, 0), (0, 60, 40), (90, 0, 10), (50, 0, 0)])
PENDING_BALLOTS = np.array([100, 100, 100, 50])
THREE = [(0, 1), (0, 2)]


def test_arlo_pending_ballots_snapshot() -> None:
    # Arlo test_pending_ballots: 2 pending ballots reduce the margins 100 and 150 to 98 and
    # 148; snapshots U = 4.591836734693877551..., p = 0.47861956652949245 after 3 clean
    # draws and 0.48371126404576364 when the third has 2 more votes for the loser.
    margins = pair_margins(PENDING_ROWS, THREE) - 2
    assert margins.tolist() == [98, 148]
    total = batch_error_bounds(PENDING_ROWS, PENDING_BALLOTS, THREE, margins=margins).sum()
    assert total == pytest.approx(4.591836734693877551, rel=1e-15)  # 450 / 98
    sample = PENDING_ROWS[:3]
    taints = batch_taints(sample, sample, PENDING_BALLOTS[:3], THREE, margins=margins)
    assert macro_p_value(taints, total_bound=total) == pytest.approx(0.47861956652949245, 1e-13)
    audited = sample.copy()
    audited[2, 1] += 2
    taints = batch_taints(sample, audited, PENDING_BALLOTS[:3], THREE, margins=margins)
    assert taints[2] == pytest.approx(2 / 190, rel=1e-15)
    assert macro_p_value(taints, total_bound=total) == pytest.approx(0.48371126404576364, 1e-13)


def test_arlo_unauditable_ballots_snapshot() -> None:
    # Arlo test_unauditable_ballots: one unauditable ballot lowers both margins by 1;
    # snapshots U = 4.545454..., p = 0.474552 (and 0.47050754458161864 without it).
    for cut, total_ref, p_ref in (
        (1, 4.545454545454545454, 0.474552),
        (0, 4.5, 0.47050754458161864),
    ):
        margins = pair_margins(PENDING_ROWS, THREE) - cut
        total = batch_error_bounds(PENDING_ROWS, PENDING_BALLOTS, THREE, margins=margins).sum()
        assert total == pytest.approx(total_ref, rel=1e-15)
        sample = PENDING_ROWS[:3]
        taints = batch_taints(sample, sample, PENDING_BALLOTS[:3], THREE, margins=margins)
        assert macro_p_value(taints, total_bound=total) == pytest.approx(p_ref, rel=1e-6)


def test_hand_computed_small_case() -> None:
    # Batches (w, l, ballots): (50, 30, 100), (20, 40, 80), (60, 10, 90); V = 130 - 80 = 50.
    # u_p = (20 + 100)/50, (-20 + 80)/50, (50 + 90)/50 = 2.4, 1.2, 2.8; U = 6.4.
    # Draw batch 0 audited 48/32: e = 20 - 16 = 4 votes, t = (4/50) / 2.4 = 1/30;
    # draw batch 2 audited as reported: t = 0.
    # p_1 = (1 - 1/6.4) / (1 - 1/30) = 0.84375 / 0.966667 = 0.872845
    # p_2 = 0.84375^2 / 0.966667 = 0.736463
    rows = np.array([(50, 30), (20, 40), (60, 10)])
    ballots = np.array([100, 80, 90])
    margins = pair_margins(rows, PAIR)
    bounds = batch_error_bounds(rows, ballots, PAIR, margins=margins)
    np.testing.assert_allclose(bounds, [2.4, 1.2, 2.8])
    taints = batch_taints(rows[[0, 2]], np.array([(48, 32), (60, 10)]), ballots[[0, 2]], PAIR,
                          margins=margins)  # fmt: skip
    np.testing.assert_allclose(taints, [1 / 30, 0.0])
    p = macro_p_values(taints, total_bound=bounds.sum())
    np.testing.assert_allclose(p, [0.84375 / (29 / 30), 0.84375**2 / (29 / 30)], rtol=1e-14)


def test_taint_takes_error_and_bound_maxima_over_pairs() -> None:
    # Stark 2008 / Arlo: t = max_k(e_k/V_k) / max_k(u_k/V_k), never above max_k e_k/u_k.
    # Batches (w, l1, l2 | ballots): (40, 38, 0 | 100), (30, 10, 28 | 100): V = 22, 42.
    rows = np.array([(40, 38, 0), (30, 10, 28)])
    ballots = np.array([100, 100])
    margins = pair_margins(rows, THREE)
    assert margins.tolist() == [22, 42]
    audited = np.array([(37, 38, 3)])  # e = 2 - (-1) = 3 votes for (w, l1), 40 - 34 = 6 for (w, l2)
    t = batch_taints(rows[:1], audited, ballots[:1], THREE, margins=margins)[0]
    # e/V = 3/22, 6/42 -> 6/42; u/V = 102/22, 140/42 -> 102/22; t = (6/42) / (102/22) = 0.0308
    assert t == pytest.approx((6 / 42) / (102 / 22), rel=1e-14)
    assert t < max(3 / 102, 6 / 140)  # 0.0429


def test_understatements_and_worst_case() -> None:
    assert macro_p_value([-0.5, -0.5], total_bound=10.0) == pytest.approx(0.81)  # clipped to 0
    credited = macro_p_value([-0.5, -0.5], total_bound=10.0, credit_understatements=True)
    assert credited == pytest.approx(0.81 / 2.25)
    # a batch that turns out to hold only votes for the loser (taint 1) stops the wealth
    p = macro_p_values([0.0, 1.0, 0.0, 0.0], total_bound=3.0)
    np.testing.assert_allclose(p, [2 / 3, 2 / 3, 2 / 3, 2 / 3])


def test_tie_empty_and_errors() -> None:
    rows = np.array([(50, 50), (30, 30)])
    ballots = np.array([100, 60])
    margins = pair_margins(rows, PAIR)  # a tie: 0
    bounds = batch_error_bounds(rows, ballots, PAIR, margins=margins)
    assert np.isinf(bounds).all()
    taints = batch_taints(rows, rows, ballots, PAIR, margins=margins)
    assert (macro_p_values(taints, total_bound=bounds.sum()) == 1.0).all()
    assert macro_p_value([], total_bound=5.0) == 1.0
    with pytest.raises(ValueError, match=r"t\[1\]"):
        macro_p_values([0.1, 1.5], total_bound=5.0)
    with pytest.raises(ValueError, match="exceed 1"):
        macro_p_values([0.1], total_bound=1.0)
    with pytest.raises(ValueError, match="sampled batch 0"):
        batch_taints(np.array([(60, 10)]), np.array([(0, 200)]), np.array([100]), PAIR,
                     margins=[50])  # fmt: skip


def test_batch_assorter_values_by_hand() -> None:
    # Same 3 batches: u* = 140, V = 50, P = 3: a = 1 / (2 - 2*50/(3*140)) = 0.567568;
    # the most a batch can understate is min(u_p - 2 b_p) = -100: u_x = (1 + 100/140) a.
    # e = 4: x = (1 - 4/140) a. An error total equal to V (a true tie) gives mean(x) = 1/2.
    bounds = np.array([120, 60, 140])
    ballots = np.array([100, 80, 90])
    x, u_x, a = batch_assorter_values([4.0, 0.0], bounds=bounds, ballots=ballots)
    assert a == pytest.approx(1 / (2 - 100 / 420), rel=1e-14)
    assert u_x == pytest.approx((1 + 100 / 140) * a, rel=1e-14)
    np.testing.assert_allclose(x, [(1 - 4 / 140) * a, a])
    tie, _, _ = batch_assorter_values([20.0, 10.0, 20.0], bounds=bounds, ballots=ballots)
    assert tie.mean() == pytest.approx(0.5, rel=1e-14)


def test_batch_alpha_confirms_a_clean_audit_and_not_a_tie() -> None:
    rng = np.random.default_rng(3)
    ballots = rng.integers(100, 400, size=300)
    margin_p = (0.1 * ballots).astype(np.int64)  # a 10 % margin in every batch
    bounds = margin_p + ballots
    p = batch_alpha_p_values(np.zeros(120), bounds=bounds, ballots=ballots)
    assert p[-1] < 0.01
    p_wr = batch_alpha_p_values(np.zeros(120), bounds=bounds, ballots=ballots, replace=True)
    assert (p <= p_wr + 1e-15).all()  # without replacement is never weaker here
    st = batch_alpha_p_values(np.zeros(120), bounds=bounds, ballots=ballots, eta0=0.55)
    assert 0 < st[-1] < 1
    tied = batch_alpha_p_values(np.zeros(5), bounds=ballots, ballots=ballots)
    assert (tied == 1.0).all()
    with pytest.raises(ValueError, match=r"errors\[1\]"):
        batch_alpha_p_values([0.0, 1e6], bounds=bounds, ballots=ballots)
