"""Calibration: each test's false-positive rate and power, on elections shaped like the input.

A forensic test's nominal level holds only if its null describes honest data.
Real results are heterogeneous, small units make round numbers common, and so
on, so the level is *measured* here: the clean model of
:mod:`tallyguard.forensics.clean_model` is fitted to the input, clean tables
are drawn from it, and every test is run on them (false-positive rate), and on
the same tables with a known manipulation injected at a share of the units
(power). Rates come with exact Clopper & Pearson (1934, Biometrika 26:404-413)
intervals.

Manipulations, all in favour of the leader and at ``share`` of the units
(optionally of one region only):

* ``stuffing``: Klimek, Yegorov, Hanel & Thurner (2012, PNAS 109:16469),
  incremental fraud, x ~ |N(0, theta)|: a share x of the ballots not issued is
  stuffed for the leader (turnout a becomes 1 - (1 - x)(1 - a)) and each other
  valid vote becomes a leader vote with probability x**alpha.
* ``transfer``: a ``fraction`` of each other choice's votes is moved to the
  leader (binomially), turnout unchanged.
* ``rounding``: the protocols are rewritten so that turnout and the leader's
  share are integer percentages, as Kobak, Shpilkin & Pshenichnikov (2016,
  Ann. Appl. Stat. 10(1):54-73) describe.

The injections reuse the election simulator's unit-level functions
(:func:`tallyguard.simulate.units.klimek_stuffing`,
:func:`tallyguard.simulate.protocol.round_to_integer_percentages`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.stats import binomtest

from tallyguard.forensics.clean_model import CleanModel, draw_clean_table, fit_clean_model
from tallyguard.forensics.result import JsonValue, TestResult
from tallyguard.forensics.table import BoolArray, FloatArray, IntArray, UnitTable
from tallyguard.simulate.protocol import round_to_integer_percentages
from tallyguard.simulate.units import klimek_stuffing

__all__ = [
    "MANIPULATIONS",
    "Calibration",
    "CleanModel",
    "Manipulation",
    "Rate",
    "SimulatedTable",
    "TestCalibration",
    "TestFunction",
    "calibrate",
    "fit_clean_model",
    "inject",
    "simulate_table",
]

MANIPULATIONS = ("stuffing", "transfer", "rounding")
CLEAN = "clean"
#: A test as calibration calls it: (table, rng, replicates) -> result.
TestFunction = Callable[[UnitTable, np.random.Generator, int], TestResult]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Manipulation:
    """A manipulation to inject: its kind, the share of units it hits, where, how strong."""

    kind: str
    share: float = 0.05
    region: str | None = None
    theta: float = 0.15  # stuffing: x ~ |N(0, theta)|
    alpha: float = 2.0  # stuffing: other votes switch with probability x**alpha
    fraction: float = 0.1  # transfer: share of the other choices' votes moved

    def __post_init__(self) -> None:
        if self.kind not in MANIPULATIONS:
            raise ValueError(f"unknown manipulation {self.kind!r}: use one of {MANIPULATIONS}")
        if not 0.0 <= self.share <= 1.0 or not 0.0 <= self.fraction <= 1.0:
            raise ValueError("share and fraction must lie in [0, 1]")


@dataclass(frozen=True)
class SimulatedTable:
    """A simulated table and its truth: which units a manipulation was applied to."""

    table: UnitTable
    manipulated: BoolArray
    manipulation: Manipulation | None = None


def _to_leader(
    table: UnitTable, rows: IntArray, prob: FloatArray | float, rng: np.random.Generator
) -> dict[str, IntArray]:
    """Votes with each other vote at ``rows`` moved to the leader with probability ``prob``."""
    votes = {c: v.copy() for c, v in table.votes.items()}
    for c in table.choices:
        if c != table.leader:
            moved = rng.binomial(votes[c][rows], prob)
            votes[c][rows] -= moved
            votes[table.leader][rows] += moved
    return votes


def inject(
    table: UnitTable, manipulation: Manipulation, rng: np.random.Generator
) -> SimulatedTable:
    """``table`` with ``manipulation`` applied at a random ``share`` of the allowed units."""
    m = manipulation
    allowed = np.ones(table.n, dtype=bool)
    if m.region is not None:
        if table.region is None or m.region not in set(table.regions()):
            raise ValueError(f"unknown region {m.region!r}: the table's are {table.regions()}")
        allowed = table.region == m.region
    issued, cast = table.ballots_issued, table.ballots_cast
    if m.kind == "stuffing":
        electorate = np.maximum(table.electorate, issued)  # no electorate: nothing to stuff
        st = klimek_stuffing(electorate, issued, allowed, m.share, 0.0, m.theta, rng)
        hit = st.kind == 1
        rows = np.flatnonzero(hit)
        votes = _to_leader(table, rows, st.x[rows] ** m.alpha, rng)
        votes[table.leader] += st.stuffed
        issued, cast = issued + st.stuffed, cast + st.stuffed
    elif m.kind == "transfer":
        hit = allowed & (rng.random(table.n) < m.share)
        votes = _to_leader(table, np.flatnonzero(hit), m.fraction, rng)
    else:
        hit = allowed & (rng.random(table.n) < m.share) & (cast > 0)
        matrix = np.stack([table.votes[c] for c in table.choices], axis=1)
        leader = table.choices.index(table.leader)
        out = round_to_integer_percentages(
            table.electorate, issued, cast, matrix, hit, leader, "both", rng
        )
        issued, cast = out.issued, out.cast
        votes = {c: np.ascontiguousarray(out.votes[:, j]) for j, c in enumerate(table.choices)}
    changed = replace(table, ballots_issued=issued, ballots_cast=cast, votes=votes)
    return SimulatedTable(changed, hit, m)


def simulate_table(
    model: CleanModel,
    rng: np.random.Generator,
    manipulation: Manipulation | str | None = None,
    *,
    workers: int | None = None,
) -> SimulatedTable:
    """A clean table drawn from ``model``, with ``manipulation`` injected if given.

    Two child generators are spawned from ``rng``, one for the clean table and
    one for the manipulation, so the clean part of a manipulated table is the
    clean table drawn from the same generator state. ``workers`` threads draw
    the clean table (default: one per CPU); the result does not depend on it.
    """
    clean_rng, manipulation_rng = rng.spawn(2)
    table = draw_clean_table(model, clean_rng, workers=workers or _cpus())
    if manipulation is None:
        return SimulatedTable(table, np.zeros(table.n, dtype=bool))
    if isinstance(manipulation, str):
        manipulation = Manipulation(manipulation)
    return inject(table, manipulation, manipulation_rng)


@dataclass(frozen=True)
class Rate:
    """How often a test rejected: ``rejections`` of ``counted`` runs; ``skipped`` not counted."""

    rejections: int
    counted: int
    skipped: int

    @property
    def rate(self) -> float | None:
        return self.rejections / self.counted if self.counted else None

    def interval(self, level: float = 0.95) -> tuple[float, float] | None:
        """Exact (Clopper-Pearson) confidence interval of the rate."""
        if not self.counted:
            return None
        ci = binomtest(self.rejections, self.counted).proportion_ci(level, method="exact")
        return float(ci.low), float(ci.high)

    def to_json(self) -> dict[str, JsonValue]:
        ci = self.interval()
        return {
            "rate": self.rate,
            "ci95": None if ci is None else list(ci),
            "rejections": self.rejections,
            "runs": self.counted,
            "skipped": self.skipped,
        }


def _rate(p_values: Sequence[float | None], alpha: float) -> Rate:
    counted = [p for p in p_values if p is not None]
    rejections = sum(1 for p in counted if p <= alpha)
    return Rate(rejections, len(counted), len(p_values) - len(counted))


@dataclass(frozen=True)
class TestCalibration:
    """One test's headline p-values per run and table kind, and the rates they give."""

    __test__ = False  # not a pytest class

    name: str
    alpha: float
    p_values: dict[str, tuple[float | None, ...]]  # "clean" and each manipulation

    @property
    def false_positive(self) -> Rate:
        return _rate(self.p_values[CLEAN], self.alpha)

    @property
    def power(self) -> dict[str, Rate]:
        return {k: _rate(p, self.alpha) for k, p in self.p_values.items() if k != CLEAN}

    @property
    def exceeds_alpha(self) -> bool:
        """The false-positive rate is measurably above alpha (interval entirely above it)."""
        ci = self.false_positive.interval()
        return ci is not None and ci[0] > self.alpha

    def to_json(self, *, p_values: bool = False) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {
            "false_positive": self.false_positive.to_json(),
            "exceeds_alpha": self.exceeds_alpha,
            "power": {k: r.to_json() for k, r in self.power.items()},
        }
        if p_values:
            out["p_values"] = {k: list(v) for k, v in self.p_values.items()}
        return out


@dataclass(frozen=True)
class Calibration:
    """False-positive rates and power of a battery, measured on ``runs`` simulated elections."""

    alpha: float
    runs: int
    replicates: int
    share: float
    region: str | None
    manipulations: tuple[str, ...]
    tests: dict[str, TestCalibration]
    model: CleanModel = field(repr=False)

    def to_json(self, *, p_values: bool = False) -> dict[str, JsonValue]:
        """The JSON form; ``p_values`` adds every run's headline p-value."""
        return {
            "alpha": self.alpha,
            "runs": self.runs,
            "replicates": self.replicates,
            "share": self.share,
            "region": self.region,
            "manipulations": list(self.manipulations),
            "interval": "Clopper-Pearson 95 %",
            "null_model": self.model.to_json(),
            "tests": {name: t.to_json(p_values=p_values) for name, t in self.tests.items()},
        }


def _key(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _named_rng(words: IntArray, *names: str) -> np.random.Generator:
    """A generator of one run keyed by names (a test, a manipulation), not by position.

    Keying by name keeps a test's calibration the same whichever other tests
    and manipulations are calibrated with it.
    """
    entropy = [int(w) for w in words] + [_key(name) for name in names]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def _cpus() -> int:
    return min(os.cpu_count() or 1, 8)


def _one_run(
    model: CleanModel,
    plans: Sequence[Manipulation],
    tests: Mapping[str, TestFunction],
    replicates: int,
    run_rng: np.random.Generator,
    tick: Callable[[], None],
) -> dict[str, dict[str, float | None]]:
    """Headline p-values of every test on one run's clean and manipulated tables."""
    simulation, keyed = run_rng.spawn(2)
    clean = draw_clean_table(model, simulation)
    words = keyed.integers(0, 2**63, size=4)
    out: dict[str, dict[str, float | None]] = {name: {} for name in tests}
    for plan in (None, *plans):
        kind = CLEAN if plan is None else plan.kind
        table = clean if plan is None else inject(clean, plan, _named_rng(words, kind)).table
        for name, test in tests.items():
            rng = _named_rng(words, kind, name)
            out[name][kind] = test(table, rng, replicates).p_value
        tick()
    return out


def calibrate(
    table: UnitTable,
    tests: Mapping[str, TestFunction],
    *,
    alpha: float = 0.05,
    runs: int = 100,
    replicates: int = 200,
    rng: np.random.Generator,
    manipulations: Sequence[str] = MANIPULATIONS,
    share: float = 0.05,
    region: str | None = None,
    model: CleanModel | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> Calibration:
    """Run every test on ``runs`` clean tables and on each manipulated version of them.

    Per run, one clean table is drawn from the clean model fitted to ``table``
    (or ``model``); each manipulation is injected into that same clean table
    at ``share`` of the units (of ``region`` only, if given). Every test gets
    its own generator, derived from the run and the test's name, and
    ``replicates`` for its Monte-Carlo null. A headline p-value <= ``alpha``
    counts as a rejection, ``None`` as skipped.

    Runs are spread over ``workers`` threads (default: one per CPU, at most
    8); every run has its own generators, so the result depends on ``rng``
    only. ``progress(done, total)`` counts simulated tables; with several
    workers it is called from their threads, one call at a time.
    """
    if runs < 1:
        raise ValueError("runs must be at least 1")
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must lie in (0, 1)")
    if len(set(manipulations)) != len(manipulations):
        raise ValueError(f"a manipulation is named twice in {list(manipulations)}")
    plans = [Manipulation(kind, share=share, region=region) for kind in manipulations]
    model = model or fit_clean_model(table)
    kinds = (CLEAN, *manipulations)
    total, done, lock = runs * len(kinds), [0], threading.Lock()

    def tick() -> None:
        with lock:
            done[0] += 1
            if progress is not None:
                progress(done[0], total)

    def one(run_rng: np.random.Generator) -> dict[str, dict[str, float | None]]:
        return _one_run(model, plans, tests, replicates, run_rng, tick)

    run_rngs = rng.spawn(runs)
    workers = min(workers or _cpus(), runs)
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            per_run = list(pool.map(one, run_rngs))
    else:
        per_run = [one(r) for r in run_rngs]
    return Calibration(
        alpha=alpha,
        runs=runs,
        replicates=replicates,
        share=share,
        region=region,
        manipulations=tuple(manipulations),
        tests={
            name: TestCalibration(
                name, alpha, {k: tuple(r[name][k] for r in per_run) for k in kinds}
            )
            for name in tests
        },
        model=model,
    )
