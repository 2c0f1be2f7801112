"""ALPHA (Stark 2023) against SHANGRLA's alpha_mart and hand-computed values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tallyguard.audit.risk import METHODS, alpha_p_values, bravo_p_values, optimal_comparison_eta
from tallyguard.audit.risk.alpha import alpha_fixed_p_values

FIXTURE = Path(__file__).with_name("data") / "shangrla_alpha_vectors.json"
VECTORS: list[dict[str, Any]] = json.loads(FIXTURE.read_text())["vectors"]


def ours(vec: dict[str, Any]) -> np.ndarray:
    x = np.asarray(vec["x"])
    if vec["estimator"] == "optimal_comparison":
        eta = optimal_comparison_eta(vec["u"], vec["error_rate_2"])
        return alpha_fixed_p_values(x, N=vec["N"], u=vec["u"], eta=eta)
    return alpha_p_values(
        x,
        N=vec["N"],
        u=vec["u"],
        eta0=vec["eta"],
        c=vec.get("c"),  # null: SHANGRLA's default c, as in the fixture
        d=vec.get("d", 100.0),
        f=vec.get("f", 0.0),
        minsd=vec.get("minsd", 1e-6),
    )


def test_fixture_covers_the_cases() -> None:
    assert len(VECTORS) == 20
    kinds = {(v["estimator"], v["N"] is None, v["u"] == 1.0) for v in VECTORS}
    assert ("shrink_trunc", True, True) in kinds
    assert ("shrink_trunc", False, True) in kinds
    assert ("shrink_trunc", False, False) in kinds  # supermajority and comparison
    assert ("optimal_comparison", False, False) in kinds
    assert any(v["u"] == 0.75 for v in VECTORS)


@pytest.mark.parametrize("vec", VECTORS, ids=[v["name"] for v in VECTORS])
def test_equals_shangrla_alpha_mart(vec: dict[str, Any]) -> None:
    """Same p-values as SHANGRLA to 1e-9 (its history made non-increasing).

    One deliberate difference: once the draws alone sum to more than N/2, the null is
    certainly false and tallyguard's p-value is 0 at that draw; SHANGRLA notices one draw
    later (or at the last draw), so those draws are compared with that fact instead.
    """
    mine = ours(vec)
    ref = np.minimum.accumulate(np.asarray(vec["p_history"]))
    x = np.asarray(vec["x"])
    proven = np.zeros(x.size, bool) if vec["N"] is None else np.cumsum(x) > vec["N"] / 2 + 1e-9
    np.testing.assert_allclose(mine[~proven], ref[~proven], rtol=1e-9, atol=1e-15)
    assert (mine[proven] == 0.0).all()
    assert mine[-1] == pytest.approx(vec["p_value"], rel=1e-9, abs=1e-15)


def test_registry_alpha_for_comparison_is_shangrla_optimal_comparison() -> None:
    for vec in VECTORS:
        if vec["estimator"] == "optimal_comparison" and vec["error_rate_2"] == 1e-4:
            x = np.asarray(vec["x"])
            p = METHODS["alpha"](x, N=vec["N"], u=vec["u"], eta=vec["eta"])
            np.testing.assert_allclose(p[-1], vec["p_value"], rtol=1e-9)


def test_fixed_alpha_is_bravo_with_replacement() -> None:
    # u = 1, eta = 0.6, x = 1, 1, 1: each factor is x eta/mu = 1.2, so T = 1.728 and
    # p = 1/1.728 = 0.5787 (SHANGRLA's wald_sprt squares the product and says 0.3349: P6).
    p = alpha_fixed_p_values(np.ones(3), N=None, u=1.0, eta=0.6)
    assert p[-1] == pytest.approx(1 / 1.728, rel=1e-14)
    x = np.array([1, 0, 1, 0.5, 1, 1, 0, 1.0])
    np.testing.assert_allclose(
        alpha_fixed_p_values(x, N=None, u=1.0, eta=0.6), bravo_p_values(x, winner_share=0.6)
    )


def test_fixed_alpha_without_replacement_by_hand() -> None:
    # N = 4, eta = 0.75, x = 1, 1. Draw 1: mu = 1/2, factor x eta/mu = 1.5.
    # Draw 2: mu = (2 - 1)/3 = 1/3, factor 0.75 / (1/3) = 2.25. T = 3.375, p = 0.296296.
    p = alpha_fixed_p_values(np.ones(2), N=4, u=1.0, eta=0.75)
    np.testing.assert_allclose(p, [1 / 1.5, 1 / 3.375], rtol=1e-14)
    # a third 1 makes the sample total 3 > N/2 = 2: the null is certainly false
    assert alpha_fixed_p_values(np.ones(3), N=4, u=1.0, eta=0.75)[-1] == 0.0


def test_whole_population_settles_it() -> None:
    x = np.r_[np.ones(51), np.zeros(49)]
    rng = np.random.default_rng(0)
    x = rng.permutation(x)
    assert METHODS["alpha"](x, N=100, u=1.0, eta=0.51)[-1] == 0.0  # 51 of 100: mean > 1/2
    tie = rng.permutation(np.r_[np.ones(50), np.zeros(50)])
    assert METHODS["alpha"](tie, N=100, u=1.0, eta=0.55)[-1] > 0.05  # an exact tie


def test_shrink_trunc_c_guard() -> None:
    # c = 0.5 with u = 1 would make the truncation interval empty; like SHANGRLA it becomes
    # (u - c)/2 = 0.25, so c = 0.5 and c = 0.25 give the same p-values
    x = np.array([1, 1, 0, 1, 0.5, 1, 0, 1, 1, 1.0])
    np.testing.assert_array_equal(
        alpha_p_values(x, N=None, u=1.0, eta0=0.6, c=0.5),
        alpha_p_values(x, N=None, u=1.0, eta0=0.6, c=0.25),
    )


def test_edge_cases() -> None:
    x = np.ones(20)
    assert (alpha_p_values(x, N=None, u=1.0, eta0=0.5) == 1.0).all()  # tie: cannot confirm
    assert alpha_p_values(np.array([]), N=None, u=1.0, eta0=0.6).size == 0
    # all votes for the winner (margin 1): eta0 = 1 is allowed and confirms fast
    assert METHODS["alpha"](x, N=1000, u=1.0, eta=1.0)[-1] < 1e-4
    with pytest.raises(ValueError, match=r"x\[3\] = 1\.2"):
        METHODS["alpha"](np.array([1, 1, 0, 1.2]), N=None, u=1.0, eta=0.6)
    with pytest.raises(ValueError, match="exceeds the upper bound"):
        alpha_p_values(x, N=None, u=1.0, eta0=1.5)
    with pytest.raises(ValueError, match="larger than the population"):
        METHODS["alpha"](x, N=10, u=1.0, eta=0.6)
