"""Outliers against a prior election: Huber fit, matching, flags, sign-test validity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from tallyguard.forensics.outliers import (
    HUBER_C,
    binomial_scale,
    huber_irls,
    run,
    sign_test_p_value,
)
from tallyguard.forensics.table import UnitTable


def _table(
    rng: np.random.Generator,
    ids: np.ndarray,
    electorate: np.ndarray,
    turnout: np.ndarray,
    share: np.ndarray,
    region: np.ndarray,
    leader: str = "A",
) -> UnitTable:
    issued = rng.binomial(electorate, turnout)
    votes = rng.binomial(issued, share)
    return UnitTable(
        unit_id=ids,
        electorate=electorate,
        ballots_issued=issued,
        ballots_cast=issued,
        votes={leader: votes, "other": issued - votes},
        leader=leader,
        region=region,
    )


def election_pair(
    rng: np.random.Generator, *, regions: int = 8, per_region: int = 250, stuffed: int = 20
) -> tuple[UnitTable, UnitTable, set[str]]:
    """Prior and current elections on the same units; ``stuffed`` units get +15 points."""
    n = regions * per_region
    g = np.repeat(np.arange(regions), per_region)
    region = np.array([f"r{k}" for k in g])
    ids = np.array([f"u{i:05d}" for i in range(n)])
    electorate = np.maximum(np.round(rng.lognormal(np.log(1200), 0.3, n)), 200).astype(np.int64)
    prior_share = np.clip(rng.uniform(0.3, 0.6, regions)[g] + rng.normal(0, 0.08, n), 0.02, 0.9)
    prior_turnout = np.clip(rng.uniform(0.5, 0.7, regions)[g] + rng.normal(0, 0.05, n), 0.1, 0.9)
    share = 0.05 + 0.9 * prior_share + rng.normal(0, 0.04, regions)[g] + rng.normal(0, 0.01, n)
    chosen = rng.choice(n, stuffed, replace=False)
    share[chosen] += 0.15
    turnout = np.clip(prior_turnout + rng.normal(0, 0.03, n), 0.1, 0.95)
    prior = _table(rng, ids, electorate, prior_turnout, prior_share, region)
    current = _table(rng, ids, electorate, turnout, np.clip(share, 0.01, 0.99), region)
    return prior, current, {str(u) for u in ids[chosen]}


def test_huber_fit_solves_its_estimating_equations_and_minimises_the_loss() -> None:
    rng = np.random.default_rng(1)
    x = np.column_stack([np.ones(300), rng.uniform(0, 1, 300), rng.normal(0, 1, 300)])
    y = x @ np.array([0.2, 0.7, -0.1]) + rng.standard_t(3, 300) * 0.05
    y[:15] += 1.0  # gross outliers
    fit = huber_irls(x, y)
    assert fit.converged
    r = (y - x @ fit.beta) / fit.scale
    psi = np.clip(r, -HUBER_C, HUBER_C)
    np.testing.assert_allclose(psi @ x / len(y), 0.0, atol=1e-8)
    med = np.median(y - x @ fit.beta)
    assert fit.scale == pytest.approx(1.482602218505602 * np.median(np.abs(y - x @ fit.beta - med)))

    def loss(beta: np.ndarray) -> float:
        u = np.abs((y - x @ beta) / fit.scale)
        return float(np.sum(np.where(u <= HUBER_C, u * u / 2, HUBER_C * u - HUBER_C**2 / 2)))

    ols = np.linalg.lstsq(x, y, rcond=None)[0]
    best = minimize(loss, ols, method="BFGS", options={"gtol": 1e-10}).x
    np.testing.assert_allclose(fit.beta, best, atol=1e-5)
    assert abs(fit.beta[1] - 0.7) < abs(ols[1] - 0.7)  # robust to the outliers
    assert abs(fit.beta[0] - 0.2) < 0.02 < abs(ols[0] - 0.2)


def test_huber_fit_is_exact_on_a_noise_free_line() -> None:
    x = np.column_stack([np.ones(20), np.linspace(0.1, 0.9, 20)])
    fit = huber_irls(x, 0.1 + 0.8 * x[:, 1])
    np.testing.assert_allclose(fit.beta, [0.1, 0.8], atol=1e-12)
    assert fit.scale == pytest.approx(0.0, abs=1e-12)


def test_sign_test_p_values_are_exact() -> None:
    assert sign_test_p_value(20, 20) == 0.5**20
    assert sign_test_p_value(3, 4) == pytest.approx(5 / 16)
    assert sign_test_p_value(0, 7) == 1.0
    assert sign_test_p_value(0, 0) == 1.0
    assert sign_test_p_value(5, 10) == pytest.approx(638 / 1024)


def test_skipped_without_prior_election() -> None:
    _, current, _ = election_pair(np.random.default_rng(2), regions=2, per_region=20, stuffed=0)
    result = run(current, rng=np.random.default_rng(0))
    assert result.p_value is None
    assert result.component("positive_outliers").skipped == (
        "no prior election given (and no covariates)"
    )
    assert result.flagged_units == ()


def test_stuffed_units_are_flagged_and_the_headline_rejects() -> None:
    false_flags = []
    for seed in range(5):
        prior, current, stuffed = election_pair(np.random.default_rng(seed), per_region=500)
        result = run(current, rng=np.random.default_rng(0), prior=prior)
        flagged = set(result.flagged_units)
        assert len(flagged & stuffed) >= 16
        false_flags.append(len(flagged - stuffed))
        headline = result.component("positive_outliers")
        assert headline.statistics["statistic"] >= 16
        assert headline.p_value is not None
        assert headline.p_value <= 1e-3
        rows = result.details["flagged"]
        assert [row["unit_id"] for row in rows] == list(result.flagged_units)
        assert rows == sorted(rows, key=lambda row: row["q"])
        for row in rows:
            assert row["q"] <= 0.05
            if row["unit_id"] in stuffed:
                assert row["z"] > 0
                assert row["share"] - row["predicted"] > 0.08
        assert result.details["matching"]["matched"] == current.n
        assert all(fit["converged"] for fit in result.details["fits"])
    assert max(false_flags) <= 4
    assert np.mean(false_flags) <= 2.0  # FDR 5 % of ~20 discoveries is about 1


def test_binomial_scale_recovers_extra_variance_and_has_unit_mad() -> None:
    rng = np.random.default_rng(8)
    v = 0.25 / rng.integers(100, 3000, 20_000)  # binomial variances of shares near 1/2
    resid = rng.normal(0, np.sqrt(0.02**2 + v))
    sd, tau = binomial_scale(resid, v)
    assert tau == pytest.approx(0.02, rel=0.03)
    mad = np.median(np.abs(resid - np.median(resid)) / sd)
    assert mad == pytest.approx(0.6744897501960817, rel=1e-9)  # Φ⁻¹(3/4)
    z = resid / sd
    assert np.mean(np.abs(z) > 3) == pytest.approx(0.0027, abs=0.0012)
    narrow = rng.normal(0, 0.5 * np.sqrt(v))  # under-dispersed: τ = 0, sd scaled down
    sd, tau = binomial_scale(narrow, v)
    assert tau == 0.0
    np.testing.assert_allclose(sd / np.sqrt(v), (sd / np.sqrt(v))[0])
    assert (sd / np.sqrt(v))[0] == pytest.approx(0.5, rel=0.05)


def test_unmatched_and_duplicate_ids_are_reported() -> None:
    prior, current, _ = election_pair(np.random.default_rng(3), regions=3, per_region=60)
    keep = np.ones(prior.n, dtype=bool)
    keep[:30] = False  # 30 units absent from the prior election
    prior = prior.subset(keep)
    ids = current.unit_id.astype("<U12")
    ids[100:105] = [f"new{i}" for i in range(5)]  # renumbered in the current election
    ids[150] = ids[151]  # a duplicated id is matched to nothing
    current = UnitTable(
        unit_id=ids,
        electorate=current.electorate,
        ballots_issued=current.ballots_issued,
        ballots_cast=current.ballots_cast,
        votes=current.votes,
        leader="A",
        region=current.region,
    )
    result = run(current, rng=np.random.default_rng(0), prior=prior)
    matching = result.details["matching"]
    assert matching == {
        "current_units": 180,
        "prior_units": 150,
        "matched": 143,
        "unmatched_current": 37,
        "unmatched_prior": 7,
        "duplicate_ids_current": 2,
        "duplicate_ids_prior": 0,
        "prior_choice": "A",
    }
    assert result.details["n_tested"] == 143
    assert result.details["n_not_tested"] == 37


def test_clean_pairs_reject_no_more_often_than_alpha() -> None:
    rng = np.random.default_rng(99)
    trials, alpha = 150, 0.05
    rejected = np.zeros(2)
    for _ in range(trials):
        prior, current, _ = election_pair(rng, regions=4, per_region=250, stuffed=0)
        result = run(current, rng=rng, prior=prior)
        p_head, p_tail = result.p_value, result.component("tail_asymmetry").p_value
        assert p_head is not None
        assert p_tail is not None
        rejected += [p_head <= alpha, p_tail <= alpha]
    bound = alpha + 3 * np.sqrt(alpha * (1 - alpha) / trials)
    assert rejected[0] / trials <= bound
    assert rejected[1] / trials <= bound


def test_covariates_only_and_a_renamed_leader() -> None:
    rng = np.random.default_rng(5)
    prior, current, stuffed = election_pair(rng, regions=2, per_region=200)
    renamed = UnitTable(
        unit_id=prior.unit_id,
        electorate=prior.electorate,
        ballots_issued=prior.ballots_issued,
        ballots_cast=prior.ballots_cast,
        votes={"B": prior.votes["A"], "other": prior.votes["other"]},
        leader="B",
        region=prior.region,
    )
    by_prior = run(current, rng=rng, prior=renamed)
    assert by_prior.details["matching"]["prior_choice"] == "B"
    as_covariate = run(current, rng=rng, covariates={"prior_share": renamed.share("B")})
    assert as_covariate.details["predictors"] == ["prior_share"]
    assert len(set(as_covariate.flagged_units) & stuffed) >= 15
    no_regions = UnitTable(
        unit_id=current.unit_id,
        electorate=current.electorate,
        ballots_issued=current.ballots_issued,
        ballots_cast=current.ballots_cast,
        votes=current.votes,
        leader="A",
    )
    single = run(no_regions, rng=rng, prior=prior)
    assert single.details["strata"] == ["all"]
    assert single.details["n_tested"] == 400
    assert all(row["region"] is None for row in single.details["flagged"])
    with pytest.raises(ValueError, match="covariate 'x'"):
        run(current, rng=rng, covariates={"x": np.zeros(3)})
