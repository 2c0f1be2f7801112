"""Fingerprint: histogram, strata, the exact corner null, validity and power, Russia 2011."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import ndtri
from scipy.stats import binom

from tallyguard.forensics import fingerprint
from tallyguard.forensics.fingerprint import (
    CLASS_UNITS,
    SCORES,
    _null_tables,
    _rank_bins,
    corner_test,
    histogram,
    run,
    strata,
)
from tallyguard.forensics.table import UnitTable


def election(
    rng: np.random.Generator,
    n: int,
    *,
    regions: int = 20,
    stuffed: float = 0.0,
    theta: float = 0.15,
    alpha: float = 2.0,
) -> UnitTable:
    """Clean units, or with Klimek et al. (2012) incremental stuffing in a share of them.

    Regional mean turnout is logit-normal, unit turnout Beta (concentration 50)
    around it; leader share Beta (concentration 30) around a logit-normal
    regional mean; electorate lognormal with mean 1000. Stuffed units: x ~
    |N(0, theta)|, a share x of non-voters' ballots is added for the leader
    (turnout' = 1 - (1 - x)(1 - a)) and every other vote becomes a leader vote
    with probability x^alpha.
    """
    g = rng.integers(0, regions, n)
    mean_t = 1 / (1 + np.exp(-(np.log(1.5) + rng.normal(0, 0.4, regions))))
    mean_s = 1 / (1 + np.exp(-rng.normal(0, 0.5, regions)))
    electorate = np.rint(rng.lognormal(np.log(1000) - 0.125, 0.5, n)).astype(np.int64)
    issued = rng.binomial(electorate, rng.beta(50 * mean_t[g], 50 * (1 - mean_t[g])))
    cast = issued - rng.binomial(issued, 0.01)
    leader = rng.binomial(cast, rng.beta(30 * mean_s[g], 30 * (1 - mean_s[g])))
    if stuffed:
        x = np.where(rng.random(n) < stuffed, np.minimum(np.abs(rng.normal(0, theta, n)), 1), 0)
        added = rng.binomial(electorate - issued, x)
        switched = rng.binomial(cast - leader, x**alpha)
        issued, cast, leader = issued + added, cast + added, leader + added + switched
    return UnitTable(
        unit_id=np.arange(n).astype(str),
        electorate=electorate,
        ballots_issued=issued,
        ballots_cast=cast,
        votes={"L": leader, "O": cast - leader},
        leader="L",
        region=np.char.add("r", g.astype(str)),
    )


def test_histogram_bins_turnout_rows_and_share_columns_with_one_in_the_last_bin() -> None:
    h = histogram(np.array([0.0, 0.505, 1.0, 1.0]), np.array([0.999, 0.5, 1.0, 0.01]), bins=100)
    assert h.sum() == 4
    assert [h[0, 99], h[50, 50], h[99, 99], h[99, 1]] == [1, 1, 1, 1]


def test_heatmap_counts_sum_to_the_included_units() -> None:
    t = election(np.random.default_rng(1), 600)
    # 3 units below 100 voters, 2 with no ballots cast, 1 with turnout above 1: all excluded
    electorate = t.electorate.copy()
    electorate[:3] = 99
    issued, cast = t.ballots_issued.copy(), t.ballots_cast.copy()
    cast[3:5] = 0
    issued[5] = electorate[5] + 1
    votes = {"L": np.minimum(t.votes["L"], cast), "O": cast - np.minimum(t.votes["L"], cast)}
    table = UnitTable(t.unit_id, electorate, issued, cast, votes, "L", region=t.region)
    result = run(table, rng=np.random.default_rng(2), replicates=50, fit_model=False)
    heat = result.details["heatmap"]
    assert result.details["included_units"] == 594
    assert np.asarray(heat["counts"]).sum() == 594
    assert np.asarray(heat["counts"]).shape == (100, 100)
    assert np.asarray(heat["voters"]).sum() == electorate[6:].sum()
    assert heat["turnout_edges"][::50] == [0.0, 0.5, 1.0]
    assert len(heat["share_edges"]) == 101


def test_scores_are_conditional_means_of_exp_normal_scores() -> None:
    edges = [*fingerprint.EDGES, 1.0]
    assert SCORES[0] == 0.0
    for k in range(1, len(edges)):
        q = np.linspace(edges[k - 1], edges[k], 200_001)[1:-1]
        assert SCORES[k] == pytest.approx(np.exp(ndtri(q)).mean(), rel=2e-3)


def test_rank_bins_put_the_expected_counts_in_each_upper_bin() -> None:
    rng = np.random.default_rng(3)
    codes = np.repeat([0, 1], [100, 1000])
    bins = _rank_bins(rng.random(1100), codes, rng)
    assert np.bincount(bins[codes == 0]).tolist() == [60, 20, 10, 5, 3, 2]
    assert np.bincount(bins[codes == 1]).tolist() == [600, 200, 100, 50, 30, 20]
    tied = _rank_bins(np.zeros(100), np.zeros(100, dtype=np.int64), rng)  # ties: random order
    assert np.bincount(tied).tolist() == [60, 20, 10, 5, 3, 2]


def test_strata_split_regions_by_electorate_class_and_merge_small_classes() -> None:
    region = np.array(["a"] * 5 + ["b"] * 200 + ["c"] * 120)
    electorate = np.concatenate(
        [[100, 200, 400, 800, 1600], np.full(60, 150), np.full(100, 300), np.full(40, 5000)]
    )
    electorate = np.concatenate([electorate, np.full(70, 100), np.full(50, 900)])
    codes = strata(region, electorate)
    groups = [(str(region[codes == c][0]), int((codes == c).sum())) for c in range(codes.max() + 1)]
    # b: [100, 200) 60 units; [200, 400) 100 units and the 40 at 5000 (too few) merged in
    assert groups == [("a", 5), ("b", 60), ("b", 140), ("c", 70), ("c", 50)]
    # one region: [100, 200) 131, [200, 400) 101, [400, 1600) 52 + the 41 above merged in
    assert np.bincount(strata(None, electorate)).tolist() == [131, 101, 93]


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(100, 20_000)), min_size=1, max_size=400))
def test_strata_never_cross_regions_and_are_big_enough(units: list[tuple[int, int]]) -> None:
    region = np.array([f"r{r}" for r, _ in units])
    electorate = np.array([e for _, e in units], dtype=np.int64)
    codes = strata(region, electorate)
    for c in np.unique(codes):
        members = codes == c
        assert len(set(region[members].tolist())) == 1
        alone = (codes[region == region[members][0]] == c).all()
        assert alone or members.sum() >= CLASS_UNITS


def test_null_tables_match_the_exact_permutation_mean_and_variance() -> None:
    """Sequential hypergeometric tables reproduce the permutation moments of Σ s(a)s(v)."""
    rng = np.random.default_rng(4)
    sizes = [40, 130, 700]
    codes = np.repeat(np.arange(3), sizes)
    bt = _rank_bins(rng.random(codes.size), codes, rng)
    bs = _rank_bins(rng.random(codes.size), codes, rng)
    k = len(SCORES)
    table = np.bincount((codes * k + bt) * k + bs, minlength=3 * k * k).reshape(3, k, k)
    null = _null_tables(table.sum(axis=2), table.sum(axis=1), rng, 40_000)
    mean = var = 0.0
    for s in range(3):
        h1, h2 = SCORES[bt[codes == s]], SCORES[bs[codes == s]]
        mean += sizes[s] * h1.mean() * h2.mean()
        var += ((h1 - h1.mean()) ** 2).sum() * ((h2 - h2.mean()) ** 2).sum() / (sizes[s] - 1)
    assert null.mean() == pytest.approx(mean, abs=4 * np.sqrt(var / null.size))
    assert null.var() == pytest.approx(var, rel=0.03)


def _rejections(sizes: list[int], stuffed: float, seed: int) -> int:
    hits = 0
    for i, n in enumerate(sizes):
        rng = np.random.default_rng([seed, i])
        result = run(election(rng, n, stuffed=stuffed), rng=rng, replicates=99, fit_model=False)
        assert result.p_value is not None
        hits += result.p_value <= 0.05
    return hits


def test_valid_on_clean_heterogeneous_elections() -> None:
    """Rejection rate at 0.05 on clean elections of 5,000-20,000 units is within MC error."""
    sizes = np.random.default_rng(5).integers(5_000, 20_001, 100).tolist()
    hits = _rejections(sizes, 0.0, 6)
    assert hits <= binom.ppf(0.99, len(sizes), 0.05)  # 11 of 100 (observed: 3)


def test_power_against_incremental_stuffing_in_five_percent_of_units() -> None:
    hits = _rejections([20_000] * 20, 0.05, 7)
    assert hits >= 18  # >= 90 % (observed: 19 of 20; 93 % at 10,000 units, 60 % at 5,000)


def test_skips_without_electorate_or_with_too_few_units() -> None:
    t = election(np.random.default_rng(8), 300)
    zero = UnitTable(t.unit_id, np.zeros(300, dtype=np.int64), t.ballots_issued, t.ballots_cast,
                     t.votes, "L")  # fmt: skip
    for table in (zero, t.subset(np.arange(300) < 150)):
        result = run(table, rng=np.random.default_rng(0), replicates=20)
        assert result.p_value is None
        assert all(c.p_value is None and c.skipped for c in result.components)
        assert "heatmap" not in result.details


def test_run_is_deterministic_and_reports_the_model_as_a_fit() -> None:
    table = election(np.random.default_rng(9), 3_000, stuffed=0.05)
    a = run(table, rng=np.random.default_rng(10), replicates=99, bootstrap=3)
    b = run(table, rng=np.random.default_rng(10), replicates=99, bootstrap=3)
    assert a.to_json() == b.to_json()
    assert (a.name, a.headline) == ("fingerprint", "corner_concordance")
    model = a.component("klimek_model")
    assert model.p_value is None
    assert model.skipped is not None
    assert "not a test" in model.skipped
    assert set(model.statistics) >= {"f_i", "f_e", "alpha", "fair", "bootstrap", "summary"}
    assert "not a share of manipulated units" in model.statistics["summary"]
    assert "fraud" not in str(a.to_json()).lower()


def russia_2011(shared_data: Path) -> UnitTable:
    """Polling stations of the 2011 Duma election (Kobak's column rules), rows with gaps dropped."""
    import polars as pl

    df = pl.read_csv(shared_data / "forensics" / "russia_2011.csv.gz")
    cols = df.columns
    registered = [c for c in cols if "Число избирателей, внесенных" in c]
    given_ = [c for c in cols if "бюллетеней, выданных" in c]
    received = [c for c in cols if c.startswith(("Число недействительных", "Число действительных"))]
    leader = [c for c in cols if "ЕДИНАЯ РОССИЯ" in c]
    assert (len(registered), len(given_), len(received), len(leader)) == (1, 3, 2, 1)
    df = df.select(
        pl.col("region"),
        pl.col(registered[0]).alias("voters"),
        pl.sum_horizontal(given_).alias("given"),
        pl.sum_horizontal(received).alias("received"),
        pl.col(leader[0]).alias("leader"),
    ).drop_nulls()
    received_ = df["received"].to_numpy().astype(np.int64)
    lead = df["leader"].to_numpy().astype(np.int64)
    return UnitTable(
        unit_id=np.arange(df.height).astype(str),
        electorate=df["voters"].to_numpy().astype(np.int64),
        ballots_issued=df["given"].to_numpy().astype(np.int64),
        ballots_cast=received_,
        votes={"ER": lead, "other": received_ - lead},
        leader="ER",
        region=df["region"].to_numpy().astype(str),
    )


def test_russia_2011_rejects_and_the_model_fits_incremental_stuffing(shared_data: Path) -> None:
    """Klimek et al. fitted f_i/f_e/alpha = 0.64/0.033/2.3 (as transcribed by Kobak)."""
    table = russia_2011(shared_data)
    result = run(table, rng=np.random.default_rng(2011), replicates=199, bootstrap=0)
    corner = result.component("corner_concordance").statistics
    assert result.p_value == pytest.approx(1 / 200)
    assert corner["z"] > 50  # observed: 110; top-10 % corner 3138 units vs 913 expected
    assert corner["units"] == 91_082
    model = result.component("klimek_model").statistics
    assert (model["fair"]["tau"], model["fair"]["nu"]) == (0.528, 0.322)
    assert 0.45 < model["f_i"] < 0.8  # observed: 0.591 (alpha 2.17)
    assert 0.005 < model["f_e"] < 0.06  # observed: 0.021
    by_region = result.details["corner_by_region"]
    assert by_region[0]["corner_excess"] >= by_region[-1]["corner_excess"]


def test_corner_test_on_perfectly_concordant_ranks_is_extreme() -> None:
    rng = np.random.default_rng(11)
    x = rng.random(1_000)
    test = corner_test(x, x, np.zeros(1_000, dtype=np.int64), rng=rng, replicates=99)
    assert test.p_value == pytest.approx(0.01)
    assert test.corner_observed == 100
    assert test.corner_expected == pytest.approx(10.0)


def _clean(
    rng: np.random.Generator, n: int, *, concentration: float, electorate_sd: float, corr: float
) -> UnitTable:
    """Clean units; regional mean shares correlated ``corr`` with regional mean turnouts."""
    g = rng.integers(0, 20, n)
    zt = rng.normal(0, 1, 20)
    zs = corr * zt + np.sqrt(1 - corr**2) * rng.normal(0, 1, 20)
    mean_t, mean_s = 1 / (1 + np.exp(-(0.4 + 0.8 * zt))), 1 / (1 + np.exp(-zs))
    e = np.rint(rng.lognormal(np.log(1000) - electorate_sd**2 / 2, electorate_sd, n))
    e = np.maximum(e, 100).astype(np.int64)
    k = concentration
    issued = rng.binomial(e, rng.beta(k * mean_t[g], k * (1 - mean_t[g])))
    leader = rng.binomial(issued, rng.beta(k * mean_s[g], k * (1 - mean_s[g])))
    votes = {"L": leader, "O": issued - leader}
    region = np.char.add("r", g.astype(str))
    return UnitTable(np.arange(n).astype(str), e, issued, issued, votes, "L", region=region)


def test_regions_and_size_classes_are_what_keep_the_test_valid() -> None:
    """Pooling regions with correlated means, or mixing unit sizes where binomial noise
    dominates, fills the corner of clean elections; the strata remove both effects."""
    rng = np.random.default_rng(12)
    hetero = _clean(rng, 5_000, concentration=40, electorate_sd=0.5, corr=0.9)
    a, v = hetero.turnout(), hetero.share()
    pooled = corner_test(a, v, np.zeros(hetero.n, dtype=np.int64), rng=rng, replicates=99)
    stratified = corner_test(a, v, strata(hetero.region, hetero.electorate), rng=rng, replicates=99)
    assert pooled.p_value == pytest.approx(0.01)
    assert stratified.p_value > 0.05  # observed: 0.27
    noisy = _clean(rng, 20_000, concentration=1_000, electorate_sd=1.0, corr=0.0)
    a, v = noisy.turnout(), noisy.share()
    regions = np.unique(noisy.region, return_inverse=True)[1].ravel()
    by_region = corner_test(a, v, regions, rng=rng, replicates=99)
    by_size = corner_test(a, v, strata(noisy.region, noisy.electorate), rng=rng, replicates=99)
    assert by_region.p_value == pytest.approx(0.01)
    assert by_size.p_value > 0.05  # observed: 1.0 (more ballots at high turnout, less noisy shares)
