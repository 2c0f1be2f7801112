"""Turnout–share relation: exact statistics, permutation-null validity, power."""

from __future__ import annotations

import numpy as np
import pytest

from tallyguard.forensics.relation import permutation_null, region_strata, run
from tallyguard.forensics.table import UnitTable


def synthetic(
    rng: np.random.Generator,
    *,
    regions: int = 6,
    per_region: int = 100,
    heterogeneous: bool = True,
    stuffed: float = 0.0,
) -> UnitTable:
    """Clean units: turnout and share independent within region (Beta around regional means).

    Regional mean share rises with regional mean turnout, so the unstratified
    correlation is strongly positive. ``stuffed`` is the fraction of units given
    Klimek et al. (2012)-style stuffing: x ~ |N(0, 0.15)|, turnout' = 1 − (1−x)(1−a),
    the added ballots go to the leader and other votes switch with probability x².
    """
    n = regions * per_region
    g = np.repeat(np.arange(regions), per_region)
    tau = rng.uniform(0.4, 0.8, regions) if heterogeneous else np.full(regions, 0.6)
    nu = 0.2 + 0.6 * (tau - 0.4) / 0.4
    a = rng.beta(40 * tau[g], 40 * (1 - tau[g]))
    v = rng.beta(40 * nu[g], 40 * (1 - nu[g]))
    if stuffed:
        x = np.where(rng.random(n) < stuffed, np.minimum(np.abs(rng.normal(0, 0.15, n)), 1), 0)
        turnout = 1 - (1 - x) * (1 - a)
        v = (a * v + x * (1 - a) + x**2 * (1 - v) * a) / turnout
        a = turnout
    electorate = np.maximum(np.round(rng.lognormal(np.log(1000), 0.5, n)), 20).astype(np.int64)
    issued = rng.binomial(electorate, a)
    cast = issued - rng.binomial(issued, 0.01)
    leader = rng.binomial(cast, np.clip(v, 0, 1))
    return UnitTable(
        unit_id=np.array([f"u{i}" for i in range(n)]),
        electorate=electorate,
        ballots_issued=issued,
        ballots_cast=cast,
        votes={"A": leader, "B": cast - leader},
        leader="A",
        region=np.array([f"r{k}" for k in g]),
    )


def test_region_strata_pools_small_regions_in_order_of_appearance() -> None:
    region = np.array(["b"] * 3 + ["a"] * 2 + ["c"] + ["b"] * 2 + ["d"] * 4)
    strata = region_strata(region, min_units=3)
    assert strata.labels == ("b", "d", "other")
    assert strata.pooled == ("a", "c")
    assert strata.codes.tolist() == [0, 0, 0, 2, 2, 2, 0, 0, 1, 1, 1, 1]
    clash = region_strata(np.array(["other"] * 3 + ["x"]), min_units=3)
    assert clash.labels == ("other", "other (pooled)")
    assert region_strata(None).labels == ("all",)


def test_permutation_null_draws_uniform_within_stratum_permutations() -> None:
    share = np.array([0.1, 0.2, 0.3, 0.7, 0.9])
    weights = np.array([[1.0], [10.0], [100.0], [1000.0], [10000.0]])
    codes = np.array([0, 0, 0, 1, 1])
    null = permutation_null(share, weights, codes, rng=np.random.default_rng(1), replicates=6000)
    values, counts = np.unique(np.round(null[:, 0], 9), return_counts=True)
    expected = set()
    for a, b, c in ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)):
        for d, e in ((3, 4), (4, 3)):
            expected.add(round(float(share[[a, b, c, d, e]] @ weights[:, 0]), 9))
    assert set(values.tolist()) == expected  # all 3!·2! = 12 arrangements, nothing else
    assert counts.min() > 6000 / 12 - 4 * np.sqrt(6000 / 12)


def test_statistics_equal_fixed_effects_regression() -> None:
    table = synthetic(np.random.default_rng(3), regions=4, per_region=30)
    result = run(table, rng=np.random.default_rng(0), replicates=19)
    t = table.ballots_issued / table.electorate
    s = table.leader_votes / table.ballots_cast
    y = table.leader_votes / table.electorate
    dummies = (table.region[:, None] == np.unique(table.region)[None, :]).astype(float)
    slope = np.linalg.lstsq(np.column_stack([t, dummies]), y, rcond=None)[0][0]
    tc = t - (dummies @ np.linalg.lstsq(dummies, t, rcond=None)[0])
    sc = s - (dummies @ np.linalg.lstsq(dummies, s, rcond=None)[0])
    corr = np.sum(tc * sc) / np.sqrt(np.sum(tc**2) * np.sum(sc**2))
    weights = np.array([np.sum(tc[table.region == r] ** 2) for r in np.unique(table.region)])
    means = np.array([s[table.region == r].mean() for r in np.unique(table.region)])
    pooled_share = np.sum(weights * means) / weights.sum()
    c = result.component("correlation").statistics
    b = result.component("slope").statistics
    assert c["statistic"] == pytest.approx(corr, rel=1e-10)
    assert c["unstratified_correlation"] == pytest.approx(np.corrcoef(t, s)[0, 1], rel=1e-10)
    assert b["slope"] == pytest.approx(slope, rel=1e-10)
    assert b["pooled_share"] == pytest.approx(pooled_share, rel=1e-10)
    assert b["statistic"] == pytest.approx(slope - pooled_share, rel=1e-10)
    first = result.details["by_region"][0]
    mask = table.region == "r0"
    assert first["n"] == 30
    assert first["correlation"] == pytest.approx(np.corrcoef(t[mask], s[mask])[0, 1], rel=1e-10)
    assert first["slope"] == pytest.approx(np.polyfit(t[mask], y[mask], 1)[0], rel=1e-10)
    assert first["share"] == pytest.approx(s[mask].mean(), rel=1e-12)
    p = result.p_value
    assert p is not None
    assert 1 / 20 <= p <= 1.0
    assert result.headline == "correlation"


def test_deterministic_and_exclusions_reported() -> None:
    table = synthetic(np.random.default_rng(4), regions=3, per_region=40)
    electorate = table.electorate.copy()
    cast = table.ballots_cast.copy()
    electorate[0] = 0
    cast[1:3] = 0
    votes = {k: np.where(cast > 0, v, 0) for k, v in table.votes.items()}
    broken = UnitTable(
        unit_id=table.unit_id,
        electorate=electorate,
        ballots_issued=table.ballots_issued,
        ballots_cast=cast,
        votes=votes,
        leader="A",
        region=table.region,
    )
    first = run(broken, rng=np.random.default_rng(9), replicates=50)
    second = run(broken, rng=np.random.default_rng(9), replicates=50)
    assert first.to_json() == second.to_json()
    assert first.details["excluded"] == {"electorate_zero": 1, "no_ballots_cast": 2}
    assert first.details["n_units"] == 117


def test_skips_without_electorate_or_variation() -> None:
    table = synthetic(np.random.default_rng(5), regions=2, per_region=20)
    no_roll = UnitTable(
        unit_id=table.unit_id,
        electorate=np.zeros(table.n, dtype=np.int64),
        ballots_issued=table.ballots_issued,
        ballots_cast=table.ballots_cast,
        votes=table.votes,
        leader="A",
    )
    result = run(no_roll, rng=np.random.default_rng(0))
    assert result.p_value is None
    assert "no electorate" in (result.component("correlation").skipped or "")
    flat = UnitTable(
        unit_id=table.unit_id,
        electorate=np.full(table.n, 1000, dtype=np.int64),
        ballots_issued=np.full(table.n, 600, dtype=np.int64),
        ballots_cast=np.full(table.n, 600, dtype=np.int64),
        votes={"A": table.leader_votes % 600, "B": 600 - table.leader_votes % 600},
        leader="A",
        region=table.region,
    )
    result = run(flat, rng=np.random.default_rng(0))
    assert result.p_value is None
    assert "turnout does not vary" in (result.component("slope").skipped or "")
    issued = np.where(table.region == "r0", 600, table.ballots_issued)
    one_flat = UnitTable(
        unit_id=table.unit_id,
        electorate=np.full(table.n, 1000, dtype=np.int64),
        ballots_issued=issued,
        ballots_cast=issued,
        votes={"A": issued // 3, "B": issued - issued // 3},
        leader="A",
        region=table.region,
    )
    result = run(one_flat, rng=np.random.default_rng(0), replicates=30)
    r0, r1 = result.details["by_region"]
    assert r0["correlation"] is None
    assert r0["slope"] is None
    assert r1["correlation"] is not None
    assert result.p_value is not None


def test_small_regions_pooled_into_other() -> None:
    table = synthetic(np.random.default_rng(6), regions=5, per_region=12)
    region = table.region.astype("<U8")
    region[:4] = "tiny1"
    region[4:7] = "tiny2"
    moved = UnitTable(
        unit_id=table.unit_id,
        electorate=table.electorate,
        ballots_issued=table.ballots_issued,
        ballots_cast=table.ballots_cast,
        votes=table.votes,
        leader="A",
        region=region,
    )
    result = run(moved, rng=np.random.default_rng(0), replicates=20)
    assert result.details["pooled_regions"] == ["tiny1", "tiny2", "r0"]  # r0 kept 5 units
    assert [r["n"] for r in result.details["by_region"]] == [12, 12, 12, 12, 12]
    assert result.details["by_region"][-1]["region"] == "other"
    assert any("fewer than 10 included units" in c for c in result.caveats)
    assert any("cannot tell" in c for c in result.caveats)


def test_permutation_null_is_valid_and_pooling_regions_is_not() -> None:
    rng = np.random.default_rng(20261125)
    trials, alpha = 200, 0.05
    rejected = np.zeros(3)
    for _ in range(trials):
        table = synthetic(rng)
        stratified = run(table, rng=rng, replicates=99)
        pooled = run(table, rng=rng, replicates=99, stratify=False)
        p_corr, p_slope = stratified.p_value, stratified.component("slope").p_value
        assert p_corr is not None
        assert p_slope is not None
        assert pooled.p_value is not None
        rejected += [p_corr <= alpha, p_slope <= alpha, pooled.p_value <= alpha]
    rate = rejected / trials
    bound = alpha + 3 * np.sqrt(alpha * (1 - alpha) / trials)  # 0.096
    assert rate[0] <= bound
    assert rate[1] <= bound
    assert rate[2] >= 0.95  # regional means alone make the unstratified test reject


def test_power_against_klimek_stuffing_at_ten_percent_of_units() -> None:
    rng = np.random.default_rng(77)
    trials = 20
    rejected = np.zeros(2)
    for _ in range(trials):
        table = synthetic(rng, regions=8, per_region=250, stuffed=0.10)
        result = run(table, rng=rng, replicates=199)
        p_corr, p_slope = result.p_value, result.component("slope").p_value
        assert p_corr is not None
        assert p_slope is not None
        rejected += [p_corr <= 0.05, p_slope <= 0.05]
    assert rejected[0] / trials >= 0.6
    assert rejected[1] / trials >= 0.6
