"""Klimek et al. (2012) model: modes, fair parameters, simulator, fit and bootstrap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import gaussian_kde, truncnorm

from tallyguard.forensics import klimek, klimek_bootstrap
from tallyguard.forensics.klimek import FairParameters, draw_model, fit, simulate

#: Fair parameters of the synthetic elections below; θ near the value Klimek's
#: estimator returns on them, so that the fitted model is the generating one.
FAIR = FairParameters(tau=0.6, nu=0.45, sigma_tau=0.07, sigma_nu=0.07, theta=0.45)
TRUTH = (0.3, 0.02, 2.0)


def electorates(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.maximum(np.rint(rng.lognormal(np.log(1000) - 0.125, 0.5, n)), 100).astype(np.int64)


def test_first_mode_is_the_first_peak_not_the_highest() -> None:
    rng = np.random.default_rng(1)
    low_first = np.concatenate([rng.normal(0.3, 0.04, 3_000), rng.normal(0.7, 0.04, 7_000)])
    assert klimek.first_mode(low_first) == pytest.approx(0.3, abs=0.01)
    # a bump of zeros (2 % of units) is below MIN_PEAK of the highest and is ignored
    zeros = np.concatenate([np.zeros(200), rng.normal(0.55, 0.05, 9_800)])
    assert klimek.first_mode(zeros) == pytest.approx(0.55, abs=0.01)


def test_binned_kde_matches_scipy_gaussian_kde() -> None:
    """Same bandwidth rule as scipy's gaussian_kde (Scott), which Kobak's transcription uses."""
    rng = np.random.default_rng(2)
    x = rng.beta(8, 6, 5_000)
    grid = np.arange(0, 1, 0.001)
    density = gaussian_kde(x).evaluate(grid)
    assert klimek.first_mode(x) == pytest.approx(grid[np.argmax(density)], abs=0.0015)


def test_fair_parameters_recover_a_fair_election() -> None:
    rng = np.random.default_rng(3)
    n = 50_000
    a = truncnorm.rvs(-0.6 / 0.07, 0.4 / 0.07, 0.6, 0.07, size=n, random_state=rng)
    v = truncnorm.rvs(-0.45 / 0.09, 0.55 / 0.09, 0.45, 0.09, size=n, random_state=rng)
    fair = klimek.fair_parameters(a, v)
    assert fair.tau == pytest.approx(0.6, abs=0.01)
    assert fair.nu == pytest.approx(0.45, abs=0.01)
    assert fair.sigma_tau == pytest.approx(0.07, rel=0.08)
    assert fair.sigma_nu == pytest.approx(0.09, rel=0.08)
    # θ = sqrt(rms(v - ν | v > ν)): for a symmetric fair share, sqrt(σ_ν)
    assert fair.theta == pytest.approx(np.sqrt(0.09), rel=0.05)


def test_fair_parameters_reproduce_kobak_on_russia_2011(shared_data: Path) -> None:
    """Kobak's transcription (dkobak/elections meduza2018, stations with ballots received):
    τ 0.529, ν 0.324, σ_τ 0.081381, σ_ν 0.069723, θ 0.559001."""
    import polars as pl

    df = pl.read_csv(shared_data / "forensics" / "russia_2011.csv.gz")
    col = {name: [c for c in df.columns if key(c)] for name, key in {
        "voters": lambda c: "Число избирателей, внесенных" in c,
        "given": lambda c: "бюллетеней, выданных" in c,
        "received": lambda c: c.startswith(("Число недействительных", "Число действительных")),
        "leader": lambda c: "ЕДИНАЯ РОССИЯ" in c,
    }.items()}  # fmt: skip
    df = df.select(
        *(pl.sum_horizontal(cols).alias(name) for name, cols in col.items())
    ).drop_nulls()
    voters, given_, received, leader = (df[c].to_numpy() for c in col)
    ok = received > 0
    fair = klimek.fair_parameters(given_[ok] / voters[ok], leader[ok] / received[ok])
    assert (fair.tau, fair.nu) == (0.529, 0.324)
    assert fair.sigma_tau == pytest.approx(0.081381, abs=1e-6)
    assert fair.sigma_nu == pytest.approx(0.069723, abs=1e-6)
    assert fair.theta == pytest.approx(0.559001, abs=1e-6)


def test_distances_on_a_small_example() -> None:
    sim, obs = np.array([2.0, 0.0, 3.0]), np.array([1.0, 0.0, 1.0])
    assert klimek.distance(sim, obs) == pytest.approx(1 / 3 + 4 / 4)
    assert klimek.distance(sim, obs, "eftoolkit") == pytest.approx((1 / 2) ** 2 + (2 / 2) ** 2)


@given(
    f_i=st.floats(0, 1),
    f_e=st.floats(0, 0.2),
    alpha=st.floats(0.5, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_simulated_stuffing_never_lowers_turnout_or_share(
    f_i: float, f_e: float, alpha: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    e = electorates(rng, 300)
    draws = draw_model(e, FAIR, rng)
    t0, s0 = simulate(draws, 0.0, 0.0, alpha)
    t, s = simulate(draws, f_i, f_e, alpha)
    k_i, k_ie = draws.counts(f_i, f_e)
    assert 0 <= k_i <= k_ie <= 300
    assert ((t >= t0) & (t <= 1) & (s >= 0) & (s <= 1)).all()
    assert (s >= s0 - 1.5 / (e * t0)).all()  # up to rounding to whole ballots
    assert np.count_nonzero(t > t0 + 1e-12) <= k_ie


def test_simulate_follows_the_model_equations() -> None:
    rng = np.random.default_rng(4)
    e = electorates(rng, 2_000)
    draws = draw_model(e, FAIR, rng)
    t, s = simulate(draws, 1.0, 0.0, 2.0)  # every unit incremental
    a, v, x = (np.empty(2_000) for _ in range(3))
    a[draws.order], v[draws.order], x[draws.order] = draws.turnout, draws.share, draws.x_incremental
    assert t == pytest.approx(1 - (1 - x) * (1 - a), abs=0.5 / 100)
    leader = a * v + x * (1 - a) + x**2 * (1 - v) * a
    assert s * t == pytest.approx(leader, abs=1.5 / 100)
    assert draws.counts(0.25, 0.05)[0] == pytest.approx(500, abs=4 * np.sqrt(2_000 * 0.25 * 0.75))


def model_election(
    rng: np.random.Generator, n: int, rates: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    e = electorates(rng, n)
    t, s = simulate(draw_model(e, FAIR, rng), *rates)
    return t, s, e


def test_fit_recovers_the_generating_parameters_given_the_fair_model() -> None:
    rng = np.random.default_rng(5)
    t, s, e = model_election(rng, 20_000, TRUTH)
    result = fit(t, s, e, rng=rng, fair=FAIR)
    assert result.bins == 63  # sqrt(20,000 / 5)
    assert result.f_i == pytest.approx(0.3, abs=0.04)  # sd over elections: 0.014
    assert result.f_e == pytest.approx(0.02, abs=0.006)  # sd 0.002
    assert result.alpha == pytest.approx(2.0, abs=0.25)  # sd 0.07
    assert result.distance < result.fair_distance / 3
    clean = fit(*model_election(rng, 20_000, (0.0, 0.0, 1.0)), rng=rng, fair=FAIR)
    assert clean.f_i < 0.02
    assert clean.f_e < 0.002


def test_fit_recovers_f_i_and_f_e_within_the_bootstrap_interval() -> None:
    """Conditional on the fair model, the percentile intervals cover the truth (5 elections)."""
    covered = np.zeros(3, dtype=np.int64)
    for seed in range(5):
        rng = np.random.default_rng([6, seed])
        t, s, e = model_election(rng, 5_000, TRUTH)
        result = fit(t, s, e, rng=rng, fair=FAIR)
        boot = klimek_bootstrap.bootstrap(result, e, rng=rng, replicates=20, refit_fair=False)
        low, high = np.array(list(boot.percentile.values())).T
        covered += (low <= TRUTH) & (np.array(TRUTH) <= high)
    assert (covered >= 4).all(), covered  # observed: 4, 5, 5 of 5 (f_i, f_e, alpha)


def test_whole_procedure_underestimates_f_i_and_the_bootstrap_says_so() -> None:
    """With the fair parameters estimated (Klimek's rules), f_i comes out low on elections
    drawn from the model, and the parametric bootstrap measures that bias."""
    rng = np.random.default_rng(7)
    t, s, e = model_election(rng, 20_000, TRUTH)
    result = fit(t, s, e, rng=rng)
    assert 0.2 < result.f_i < 0.29  # observed: 0.253
    assert result.fair.nu > FAIR.nu  # stuffing lifts the share mode
    boot = klimek_bootstrap.bootstrap(result, e, rng=rng, replicates=10)
    assert boot.bias["f_i"] < -0.01  # observed: -0.033; bias-corrected interval 0.244-0.316
    assert boot.basic["f_i"][0] > boot.percentile["f_i"][0]
    assert boot.fair["nu"][0] > result.fair.nu  # the estimators drift on their own output
