"""Validity harness: no method may confirm a wrong outcome more often than alpha."""

from __future__ import annotations

import numpy as np
import pytest

from tallyguard.audit.validity import (
    comparison_scenario,
    default_scenarios,
    format_table,
    plurality_scenario,
    supermajority_scenario,
    validity_table,
)

from .plan.standins import fixed_eta

ALPHA = 0.05


def small_grid(ballots: int = 1000) -> list:
    """Six scenarios: every method once, ties and losses, all three contest kinds."""
    return [
        plurality_scenario("bravo", ballots=ballots, margin=0.1, replace=True),
        plurality_scenario("alpha", ballots=ballots, margin=0.05, true_margin=-0.01),
        supermajority_scenario(
            "alpha", ballots=ballots, share_to_win=2 / 3, share=0.75, true_share=2 / 3
        ),
        comparison_scenario("alpha", ballots=ballots, margin=0.1, error="2-vote"),
        comparison_scenario("betting", ballots=ballots, margin=0.1, error="1-vote"),
        comparison_scenario("kaplan-markov", ballots=ballots, margin=0.1, error="2-vote", extra=2),
    ]


def test_every_method_is_valid_on_a_small_grid() -> None:
    """The real risk functions: wrong confirmations <= alpha + 3 SE (6 x 2,000 audits)."""
    risk = pytest.importorskip("tallyguard.audit.risk")
    grid = small_grid()
    assert {s.method for s in grid} == set(risk.METHODS)
    rows = validity_table(grid, reps=2000, seed=2024, max_n=1000)
    print(format_table(rows))
    for row in rows:
        assert row.true_mean <= 0.5 + 1e-12
        assert row.wrong_rate <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / row.reps), row
        assert row.valid
        assert 0 < row.right_mean_size <= row.max_n


def test_the_scenarios_are_wrong_outcomes() -> None:
    grid = default_scenarios()
    assert len(grid) >= 20
    assert len({s.name for s in grid}) == len(grid)
    assert {s.kind for s in grid} == {"plurality", "supermajority", "comparison"}
    for s in grid:
        assert s.true_mean <= 0.5 + 1e-12, s.name
        assert s.correct.means()[0] > 0.5, s.name
        assert s.truth.targets == s.correct.targets
    ties = [s for s in grid if abs(s.true_mean - 0.5) < 1e-12]
    assert len(ties) >= 10
    sm = [s for s in grid if s.kind == "supermajority"]
    assert sm[0].truth.targets[0].upper_bound == pytest.approx(0.75)  # u = 1/(2f)


def test_harness_is_reproducible_and_finds_an_invalid_method() -> None:
    """A test that squares its p-values (like SHANGRLA's wald_sprt, pitfall P6) is caught."""

    def squared(x: np.ndarray, *, N: int | None, u: float, eta: float) -> np.ndarray:  # noqa: N803
        return fixed_eta(x, N=N, u=u, eta=eta) ** 2

    grid = [plurality_scenario("bravo", ballots=1000, margin=0.1, replace=True)]
    good = validity_table(grid, reps=1000, seed=7, max_n=1000, functions={"bravo": fixed_eta})
    again = validity_table(grid, reps=1000, seed=7, max_n=1000, functions={"bravo": fixed_eta})
    bad = validity_table(grid, reps=1000, seed=7, max_n=1000, functions={"bravo": squared})
    assert good == again
    assert good[0].valid
    assert good[0].wrong_rate <= ALPHA
    assert not bad[0].valid
    assert bad[0].wrong_rate > 2 * ALPHA
    assert "**NO**" in format_table(bad)
    assert good[0].right_confirm_rate > 0.9
    assert good[0].right_mean_size < 1000


def test_scenario_details() -> None:
    s = comparison_scenario("alpha", ballots=2000, margin=0.02, error="2-vote")
    assert s.truth.counts.tolist() == [1980, 0, 20, 0, 0]
    assert s.true_mean == pytest.approx(0.5)
    assert s.reported_margin == pytest.approx(0.02)
    s = comparison_scenario("alpha", ballots=2000, margin=0.02, error="1-vote", extra=3)
    assert s.truth.counts.tolist() == [1957, 43, 0, 0, 0]
    assert s.true_mean < 0.5
    with pytest.raises(ValueError, match="error kind"):
        comparison_scenario("alpha", ballots=2000, margin=0.02, error="3-vote")
    p = plurality_scenario("alpha", ballots=2000, margin=0.1, true_margin=-0.01)
    assert p.true_mean == pytest.approx(0.495)
    assert p.correct.means()[0] == pytest.approx(0.55)
