"""Calibration: the clean model fitted to the input, injected manipulations, measured rates."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from tallyguard.forensics.calibrate import (
    Manipulation,
    Rate,
    TestFunction,
    calibrate,
    fit_clean_model,
    inject,
    simulate_table,
)
from tallyguard.forensics.clean_model import POOLED, WHOLE, draw_clean_table
from tallyguard.forensics.result import Component, TestResult, monte_carlo_p_value
from tallyguard.forensics.table import UnitTable

TAU = (0.45, 0.60, 0.72)  # regional turnout centres of the synthetic elections
NU = (0.40, 0.55, 0.66)  # regional leader-share centres
SD_T, SD_V = 0.07, 0.06


def truncated_normal(mu: np.ndarray, sd: float, rng: np.random.Generator) -> np.ndarray:
    out: np.ndarray = stats.truncnorm.rvs(
        -mu / sd, (1 - mu) / sd, loc=mu, scale=sd, random_state=rng
    )
    return out


def synthetic(seed: int, per_region: int = 3000, sizes: tuple[int, ...] = ()) -> UnitTable:
    """A smooth clean election: three regions, known centres, four choices, invalid ballots.

    ``sizes`` adds small regions (``S0``, ``S1``, ...) of the given unit counts,
    drawn like the first region.
    """
    rng = np.random.default_rng(seed)
    region_idx = np.concatenate(
        [np.repeat(np.arange(3), per_region), np.repeat(np.arange(len(sizes)), sizes) * 0]
    )
    names = [f"R{i}" for i in np.repeat(np.arange(3), per_region)]
    names += [f"S{i}" for i in np.repeat(np.arange(len(sizes)), sizes)]
    n = region_idx.size
    e = np.maximum(np.rint(rng.lognormal(np.log(1000), 0.4, n)), 100).astype(np.int64)
    a = truncated_normal(np.array(TAU)[region_idx], SD_T, rng)
    v = truncated_normal(np.array(NU)[region_idx], SD_V, rng)
    issued = rng.binomial(e, a)
    cast = issued - rng.binomial(issued, 0.002)
    lead = rng.binomial(cast, v)
    invalid = rng.binomial(cast - lead, np.minimum(0.02 / (1 - v), 1))
    q = rng.dirichlet(50 * np.array([0.5, 0.3, 0.2]), size=n)
    rest = cast - lead - invalid
    b = rng.binomial(rest, q[:, 0])
    c = rng.binomial(rest - b, q[:, 1] / (q[:, 1] + q[:, 2]))
    return UnitTable(
        unit_id=np.array([f"U{i:05d}" for i in range(n)]),
        electorate=e,
        ballots_issued=issued.astype(np.int64),
        ballots_cast=cast.astype(np.int64),
        votes={"A": lead, "B": b, "C": c, "D": rest - b - c},
        leader="A",
        region=np.array(names),
        invalid=invalid,
    )


@pytest.fixture(scope="module")
def table() -> UnitTable:
    return synthetic(1)


def binomial_ok(k: int, n: int, p: float, level: float = 0.999) -> bool:
    low, high = stats.binom.interval(level, n, p)
    return bool(low <= k <= high)


def test_fit_recovers_regional_centres_and_spreads(table: UnitTable) -> None:
    model = fit_clean_model(table)
    assert [f.name for f in model.fits] == ["R0", "R1", "R2"]
    for fit, tau, nu in zip(model.fits, TAU, NU, strict=True):
        assert fit.units == 3000
        assert fit.turnout_mode == pytest.approx(tau, abs=0.01)
        assert fit.share_mode == pytest.approx(nu, abs=0.01)
        assert fit.turnout_sd == pytest.approx(SD_T, rel=0.1)
        assert fit.share_sd == pytest.approx(SD_V, rel=0.1)
        assert fit.invalid_rate == pytest.approx(0.02, abs=0.002)
        assert fit.cast_rate == pytest.approx(0.998, abs=0.0005)
        assert fit.other_split == pytest.approx((0.5, 0.3, 0.2), abs=0.01)
        assert fit.concentration == pytest.approx(50, rel=0.15)


def test_fit_is_shaped_by_the_fair_side_not_by_stuffed_units(table: UnitTable) -> None:
    """Incremental stuffing at 30 % of units, or extreme stuffing at 15 %: the fit holds."""
    stuffed = inject(table, Manipulation("stuffing", share=0.3), np.random.default_rng(3)).table
    for fit, tau, nu in zip(fit_clean_model(stuffed).fits, TAU, NU, strict=True):
        assert fit.turnout_mode == pytest.approx(tau, abs=0.02)
        assert fit.share_mode == pytest.approx(nu, abs=0.02)
        assert fit.turnout_sd == pytest.approx(SD_T, rel=0.1)
        assert fit.share_sd == pytest.approx(SD_V, rel=0.1)
    # extreme fraud (Klimek et al. 2012): nearly everyone "votes", nearly all for the leader
    rng = np.random.default_rng(4)
    hit = rng.random(table.n) < 0.15
    e = table.electorate
    issued = np.where(hit, e - rng.binomial(e, 0.02), table.ballots_issued)
    votes = {c: np.where(hit, 0, v) for c, v in table.votes.items()}
    votes["A"] = np.where(hit, issued, table.leader_votes)
    invalid = np.where(hit, 0, table.invalid)  # type: ignore[arg-type]
    cast = np.where(hit, issued, table.ballots_cast)
    extreme = UnitTable(**{**table.__dict__, "ballots_issued": issued, "ballots_cast": cast})
    extreme = UnitTable(**{**extreme.__dict__, "votes": votes, "invalid": invalid})
    for r, (fit, tau, nu) in enumerate(zip(fit_clean_model(extreme).fits, TAU, NU, strict=True)):
        here = extreme.region == f"R{r}"
        assert fit.turnout_mode == pytest.approx(tau, abs=0.015)
        assert fit.share_mode == pytest.approx(nu, abs=0.015)
        assert fit.turnout_sd == pytest.approx(SD_T, rel=0.1)
        assert fit.share_sd == pytest.approx(SD_V, rel=0.1)
        # what plain moments would have taken
        assert extreme.turnout()[here].mean() > tau + 0.03
        assert extreme.share()[here].std() > 2 * SD_V


def test_small_regions_are_pooled() -> None:
    t = synthetic(2, per_region=200, sizes=(20, 15))
    model = fit_clean_model(t)
    assert [f.name for f in model.fits] == ["R0", "R1", "R2", POOLED]
    assert model.fits[3].units == 35
    assert np.array_equal(model.group == 3, np.isin(t.region, ["S0", "S1"]))
    lone = synthetic(2, per_region=200, sizes=(12,))
    assert fit_clean_model(lone).fits[-1].name == WHOLE  # too few to pool: whole-table fit
    no_region = UnitTable(**{**t.__dict__, "region": None})
    assert [f.name for f in fit_clean_model(no_region).fits] == [WHOLE]


def test_simulated_clean_tables_keep_units_and_follow_the_fit(table: UnitTable) -> None:
    model = fit_clean_model(table)
    sim = simulate_table(model, np.random.default_rng(4))
    s = sim.table
    assert not sim.manipulated.any()
    assert np.array_equal(s.unit_id, table.unit_id)
    assert np.array_equal(s.electorate, table.electorate)
    assert np.array_equal(s.region, table.region)
    assert s.choices == table.choices
    assert s.leader == table.leader
    assert s.invalid is not None
    assert np.all(s.ballots_cast <= s.ballots_issued)
    assert np.all(s.ballots_issued <= s.electorate)
    assert np.array_equal(sum(s.votes.values()) + s.invalid, s.ballots_cast)
    assert all(np.all(v >= 0) for v in s.votes.values())
    assert np.all(s.invalid >= 0)
    for r, fit in enumerate(model.fits):
        here = s.region == f"R{r}"
        assert np.median(s.turnout()[here]) == pytest.approx(fit.turnout_mode, abs=0.006)
        assert np.median(s.share()[here]) == pytest.approx(fit.share_mode, abs=0.006)
        assert np.median(s.invalid[here] / s.ballots_cast[here]) == pytest.approx(0.02, abs=0.002)
    # a new draw differs; the same seed repeats it
    again = simulate_table(model, np.random.default_rng(4)).table
    assert np.array_equal(again.votes["C"], s.votes["C"])
    assert not np.array_equal(
        draw_clean_table(model, np.random.default_rng(5)).votes["C"], s.votes["C"]
    )


@pytest.mark.parametrize("kind", ["stuffing", "transfer", "rounding"])
def test_manipulated_share_and_region_and_the_rest_untouched(table: UnitTable, kind: str) -> None:
    model = fit_clean_model(table)
    clean = simulate_table(model, np.random.default_rng(6)).table
    sim = simulate_table(model, np.random.default_rng(6), Manipulation(kind, share=0.05))
    assert binomial_ok(int(sim.manipulated.sum()), table.n, 0.05)
    rest = ~sim.manipulated
    for c in table.choices:
        assert np.array_equal(sim.table.votes[c][rest], clean.votes[c][rest])
    assert np.array_equal(sim.table.ballots_issued[rest], clean.ballots_issued[rest])
    one = simulate_table(model, np.random.default_rng(6), Manipulation(kind, 0.2, region="R1"))
    assert np.all(one.table.region[one.manipulated] == "R1")
    assert binomial_ok(int(one.manipulated.sum()), 3000, 0.2)


def test_rounding_writes_integer_percentages(table: UnitTable) -> None:
    model = fit_clean_model(table)
    sim = simulate_table(model, np.random.default_rng(7), "rounding")
    s, hit = sim.table, sim.manipulated
    assert hit.sum() > 100
    lead, cast = s.leader_votes[hit], s.ballots_cast[hit]
    assert np.all(100 * lead % cast == 0)  # share exactly a whole percent
    pct = 100 * s.ballots_issued[hit] / s.electorate[hit]
    big = s.electorate[hit] >= 1000
    assert big.sum() > 20
    assert np.all(np.abs(pct[big] - np.rint(pct[big])) <= 0.05)
    assert np.all(np.abs(pct - np.rint(pct)) <= 50 / s.electorate[hit] + 1e-12)
    assert np.array_equal(sum(s.votes.values()) + s.invalid, s.ballots_cast)
    clean = simulate_table(model, np.random.default_rng(7)).table
    assert np.mean(100 * clean.leader_votes[hit] % clean.ballots_cast[hit] == 0) < 0.1


@settings(max_examples=40)
@given(
    st.lists(st.tuples(st.integers(1, 3000), st.floats(0.0, 1.0), st.floats(0.0, 1.0)), min_size=1),
    st.integers(0, 2**32 - 1),
)
def test_rounding_keeps_protocols_consistent(
    rows: list[tuple[int, float, float]], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    e = np.array([r[0] for r in rows], dtype=np.int64)
    issued = np.rint(e * np.array([r[1] for r in rows])).astype(np.int64)
    lead = np.rint(issued * np.array([r[2] for r in rows])).astype(np.int64)
    other = rng.binomial(issued - lead, 0.7)
    t = UnitTable(
        unit_id=np.arange(e.size).astype(str),
        electorate=e,
        ballots_issued=issued,
        ballots_cast=issued,
        votes={"B": other, "A": lead, "C": issued - lead - other},
        leader="A",
    )
    s = inject(t, Manipulation("rounding", share=1.0), rng)
    out = s.table
    assert np.array_equal(s.manipulated, issued > 0)
    assert np.array_equal(sum(out.votes.values()), out.ballots_cast)
    assert all(np.all(v >= 0) for v in out.votes.values())
    assert np.all(out.ballots_cast >= issued)
    done = s.manipulated & (out.ballots_cast > 0)
    assert np.all(100 * out.leader_votes[done] % out.ballots_cast[done] == 0)


def test_stuffing_raises_turnout_and_share_at_manipulated_units(table: UnitTable) -> None:
    model = fit_clean_model(table)
    clean = simulate_table(model, np.random.default_rng(8)).table
    sim = simulate_table(model, np.random.default_rng(8), Manipulation("stuffing", share=0.1))
    s, hit = sim.table, sim.manipulated
    rise = s.turnout()[hit] - clean.turnout()[hit]
    assert np.all(rise >= 0)
    # E|N(0, 0.15)| = 0.1197, times the non-voters' share (about 0.4)
    assert rise.mean() == pytest.approx(0.1197 * np.mean(1 - clean.turnout()[hit]), rel=0.15)
    assert np.all(s.share()[hit] >= clean.share()[hit])
    assert s.share()[hit].mean() > clean.share()[hit].mean() + 0.02
    assert np.array_equal(
        s.ballots_cast - clean.ballots_cast, s.ballots_issued - clean.ballots_issued
    )


def test_transfer_moves_the_asked_fraction(table: UnitTable) -> None:
    model = fit_clean_model(table)
    clean = simulate_table(model, np.random.default_rng(9)).table
    sim = simulate_table(model, np.random.default_rng(9), Manipulation("transfer", share=0.1))
    hit = sim.manipulated
    others = sum(clean.votes[c][hit] for c in "BCD")
    gained = sim.table.leader_votes[hit] - clean.leader_votes[hit]
    assert gained.sum() / others.sum() == pytest.approx(0.1, abs=0.005)
    assert np.array_equal(sim.table.ballots_issued, clean.ballots_issued)
    assert np.array_equal(sim.table.ballots_cast, clean.ballots_cast)


def test_bad_manipulations_are_refused(table: UnitTable) -> None:
    with pytest.raises(ValueError, match="unknown manipulation"):
        Manipulation("ballot-eating")
    with pytest.raises(ValueError, match="unknown region"):
        inject(table, Manipulation("transfer", region="R9"), np.random.default_rng(0))


def integer_share_test(table: UnitTable, rng: np.random.Generator, replicates: int) -> TestResult:
    """Stand-in: units with an integer leader share vs a per-unit binomial resampling null."""
    keep = table.ballots_cast >= 100
    c, lead = table.ballots_cast[keep], table.leader_votes[keep]

    def integer(k: np.ndarray) -> np.ndarray:
        rem = 100 * k % c
        result: np.ndarray = 20 * np.minimum(rem, c - rem) <= c
        return result

    observed = int(integer(lead).sum())
    null = np.array([integer(rng.binomial(c, lead / c)).sum() for _ in range(replicates)])
    p = monte_carlo_p_value(observed, null)
    return TestResult("stand_in", "t", "c", "n", (Component("share", {}, p),), "share")


def uniform_test(table: UnitTable, rng: np.random.Generator, replicates: int) -> TestResult:
    return TestResult("u", "t", "c", "n", (Component("u", {}, float(rng.random())),), "u")


def never_test(table: UnitTable, rng: np.random.Generator, replicates: int) -> TestResult:
    return TestResult("x", "t", "c", "n", (Component("x", {}, None, skipped="n/a"),), "x")


def test_calibration_of_a_valid_test_holds_alpha_and_has_power() -> None:
    small = synthetic(10, per_region=1000)
    calls: list[tuple[int, int]] = []
    cal = calibrate(
        small,
        {"stand_in": integer_share_test, "never": never_test},
        runs=40,
        replicates=19,
        rng=np.random.default_rng(11),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(i, 160) for i in range(1, 161)]
    t = cal.tests["stand_in"]
    fp = t.false_positive
    assert fp.counted == 40
    assert fp.skipped == 0
    low, high = fp.interval() or (1.0, 0.0)
    assert low <= 0.05 <= high
    assert fp.rejections <= 5
    assert not t.exceeds_alpha
    assert t.power["rounding"].rate == 1.0
    assert cal.tests["never"].false_positive == Rate(0, 0, 40)
    assert cal.tests["never"].to_json()["false_positive"]["rate"] is None


def test_uniform_p_values_reject_at_alpha_and_intervals_are_exact() -> None:
    cal = calibrate(
        synthetic(16, per_region=100),
        {"u": uniform_test},
        runs=400,
        replicates=1,
        rng=np.random.default_rng(12),
        manipulations=("transfer",),
    )
    rate = cal.tests["u"].false_positive
    assert rate.counted == 400
    assert binomial_ok(rate.rejections, 400, 0.05)
    assert list(cal.tests["u"].power) == ["transfer"]
    zero = Rate(0, 10, 0).interval()
    assert zero is not None
    assert zero[1] == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-9)
    assert Rate(10, 10, 0).interval() == pytest.approx((0.025 ** (1 / 10), 1.0), rel=1e-9)


def test_calibration_is_deterministic_and_keyed_by_test_name() -> None:
    small = synthetic(13, per_region=300)
    tests = {"u": uniform_test, "stand_in": integer_share_test}

    def run(seed: int, chosen: Mapping[str, TestFunction]) -> dict[str, Any]:
        cal = calibrate(small, chosen, runs=5, replicates=9, rng=np.random.default_rng(seed))
        out: dict[str, Any] = cal.to_json(p_values=True)
        return out

    first = run(14, tests)
    assert json.dumps(first, sort_keys=True) == json.dumps(run(14, tests), sort_keys=True)
    one_thread = calibrate(
        small, tests, runs=5, replicates=9, rng=np.random.default_rng(14), workers=1
    )
    assert one_thread.to_json(p_values=True) == first
    assert first != run(15, tests)
    alone = run(14, {"u": uniform_test})
    assert alone["tests"]["u"] == first["tests"]["u"]
    rounding = calibrate(
        small,
        tests,
        runs=5,
        replicates=9,
        rng=np.random.default_rng(14),
        manipulations=("rounding",),
    ).to_json(p_values=True)
    for name in tests:  # same clean tables and same rounded tables, whatever else is asked
        assert (
            rounding["tests"][name]["p_values"]["clean"]
            == first["tests"][name]["p_values"]["clean"]
        )
        rounded = rounding["tests"][name]["p_values"]["rounding"]
        assert rounded == first["tests"][name]["p_values"]["rounding"]
    json.dumps(first)  # plain JSON
    assert first["null_model"]["groups"][0]["name"] == "R0"


def test_clean_draw_does_not_depend_on_threads() -> None:
    model = fit_clean_model(synthetic(17, per_region=6000))  # 18,000 units: two blocks
    one = draw_clean_table(model, np.random.default_rng(18), workers=1)
    two = draw_clean_table(model, np.random.default_rng(18), workers=2)
    for c in one.choices:
        assert np.array_equal(one.votes[c], two.votes[c])
    assert np.array_equal(one.ballots_issued, two.ballots_issued)
    assert one.invalid is not None
    assert two.invalid is not None
    assert np.array_equal(one.invalid, two.invalid)


def test_a_table_without_electorate_or_invalid_column_keeps_its_ballots() -> None:
    rng = np.random.default_rng(19)
    cast = rng.integers(200, 2000, 500)
    lead = rng.binomial(cast, 0.6)
    t = UnitTable(
        unit_id=np.arange(500).astype(str),
        electorate=np.zeros(500, dtype=np.int64),
        ballots_issued=cast,
        ballots_cast=cast,
        votes={"A": lead, "B": cast - lead},
        leader="A",
    )
    model = fit_clean_model(t)
    (fit,) = model.fits
    assert fit.turnout_mode is None
    assert fit.invalid_rate == 0.0
    assert fit.share_mode == pytest.approx(0.6, abs=0.01)
    for kind in (None, "stuffing"):
        s = simulate_table(model, np.random.default_rng(20), kind).table
        assert s.invalid is None
        assert np.array_equal(s.ballots_issued, cast)  # no electorate: nothing to stuff
        assert np.array_equal(s.ballots_cast, cast)
        assert np.array_equal(s.votes["A"] + s.votes["B"], cast)
    sim = simulate_table(model, np.random.default_rng(20), "rounding")
    s, hit = sim.table, sim.manipulated
    assert np.array_equal(s.votes["A"] + s.votes["B"], s.ballots_cast)
    assert np.array_equal(s.ballots_issued, s.ballots_cast)  # padded ballots count as issued
    assert np.all(100 * s.votes["A"][hit] % s.ballots_cast[hit] == 0)
    assert np.array_equal(s.ballots_cast[~hit], cast[~hit])
