"""Simulate many audits at once: the draw at which each would stop.

Each replication draws card types from a :class:`Population` (vectorised over
a block of replications, :func:`~tallyguard.audit.plan.population.draw_types`)
and runs every requested risk-measuring function on the same draws, so
methods are compared on common random numbers. A replication stops at the
first draw where every assertion's sequential p-value is at most alpha
(Stark 2020, SHANGRLA §4); one that has not stopped after ``limit`` draws in
all is reported as 0 (planning reads it as a full hand count, the validity
harness as "did not confirm").

The sample of each block grows in doubling horizons and only replications
still running are re-tested, so cheap audits stay cheap. Draws depend only on
(seed, block, horizon), never on which methods run or when they stop, so a
method's result is reproducible on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from tallyguard.audit.plan.population import Floats, Ints, Population, draw_types

BLOCK = 256
"""Replications simulated together; fixed, because results depend on it."""


class RiskFunction(Protocol):
    """The contract of ``tallyguard.audit.risk.METHODS`` values."""

    def __call__(
        self,
        x: NDArray[np.float64],
        *,
        N: int | None,  # noqa: N803 - the name of the contract
        u: float,
        eta: float,
    ) -> NDArray[np.float64]: ...


def first_at_most(p: Floats, alpha: float, start: int) -> int:
    """1-based index of the first p-value <= alpha at or after ``start`` (0 if none)."""
    hits = np.flatnonzero(p[start:] <= alpha)
    return int(hits[0]) + start + 1 if hits.size else 0


def initial_horizon(limit: int, guess: float | None) -> int:
    """First horizon: a power of two near ``guess`` (64 when unknown), at most ``limit``."""
    if guess is None or not np.isfinite(guess) or guess <= 0:
        return min(limit, 64)
    return int(min(limit, max(16, 2 ** int(np.ceil(np.log2(guess))))))


def stopping_sizes(
    population: Population,
    methods: Mapping[str, RiskFunction],
    *,
    alpha: float,
    reps: int,
    seed: int | tuple[int, ...],
    limit: int,
    replace: bool,
    observed: Floats | None = None,
    remaining: Ints | None = None,
    horizon: float | None = None,
) -> dict[str, Ints]:
    """Total draws at which each simulated audit confirms every assertion, per method.

    Args:
        population: The cards drawn from (types, values, what each test is told).
        methods: Risk-measuring functions by name (the ``METHODS`` contract).
        alpha: The risk limit.
        reps: Number of simulated audits.
        seed: Seed (or tuple of ints) of ``numpy.random.SeedSequence([*seed, block])``.
        limit: Largest total number of draws considered; a replication that has
            not confirmed by then reports 0.
        replace: Draw with replacement (tests are then told ``N=None``).
        observed: Values already observed (assertions x m0), prepended to every
            replication (conditional simulation for the next round).
        remaining: Counts left to draw from without replacement (default: the
            population's counts).
        horizon: A guess of the total draws needed; the first horizon of each
            block is the next power of two (64 without a guess).

    Returns:
        For each method, an int64 array of ``reps`` stopping sizes in
        [1, limit] counting the observed draws, 0 where the audit did not confirm.
    """
    n_assert = len(population.targets)
    prefix = np.zeros((n_assert, 0)) if observed is None else np.atleast_2d(observed)
    m0 = prefix.shape[1]
    if prefix.shape[0] != n_assert:
        raise ValueError("observed values need one row per assertion")
    start_counts = population.counts if remaining is None else np.asarray(remaining, np.int64)
    max_new = limit - m0 if replace else min(limit - m0, int(start_counts.sum()))
    n_pop = None if replace else population.size
    step = initial_horizon(limit, horizon)
    key = (seed,) if isinstance(seed, int) else tuple(seed)
    results = {name: np.zeros(reps, dtype=np.int64) for name in methods}
    for block_start in range(0, reps, BLOCK):
        rows = min(BLOCK, reps - block_start)
        rng = np.random.default_rng(np.random.SeedSequence([*key, block_start // BLOCK]))
        left = np.tile(start_counts, (rows, 1))
        types = np.empty((rows, 0), dtype=np.int16)
        # hit[name][a, r]: total draws at which assertion a confirmed in replication r
        hit = {name: np.zeros((n_assert, rows), dtype=np.int64) for name in methods}
        length = 0
        target = max(step, m0 + 1)
        while True:
            new = min(target - m0, max_new) - length
            more, left = draw_types(left, new, rng, replace=replace)
            types = np.concatenate([types, more], axis=1)
            length += new
            active = False
            for name, test in methods.items():
                for a, spec in enumerate(population.targets):
                    for r in np.flatnonzero(hit[name][a] == 0):
                        x = np.concatenate([prefix[a], population.values[a][types[r]]])
                        p = test(x, N=n_pop, u=spec.upper_bound, eta=spec.eta)
                        found = first_at_most(np.asarray(p), alpha, 0)
                        hit[name][a, r] = found
                        active = active or found == 0
            if not active or length >= max_new:
                break
            target *= 2
        for name in methods:
            h = hit[name]
            done = (h > 0).all(axis=0)
            results[name][block_start : block_start + rows] = np.where(done, h.max(axis=0), 0)
    return results
