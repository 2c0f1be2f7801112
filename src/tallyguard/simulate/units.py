"""Reporting units: sizes, turnout, preferences and who manipulates (unit level).

Everything here is one vector per unit; ``ballots.py`` expands units into cards.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tallyguard.model import ContestKind
from tallyguard.simulate.config import (
    ContestSpec,
    SimulationConfig,
    jurisdiction_name,
    region_name,
)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Independent random streams, in a fixed order: adding a manipulation never
#: changes the clean election drawn from the same seed.
STREAMS = ("structure", "units", "ballots", "stuffing", "transfer", "discrepancies", "rounding")


def random_streams(seed: str) -> dict[str, np.random.Generator]:
    """PCG64 generators seeded from SHA-256 of the UTF-8 seed text, one per stream."""
    entropy = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest(), "big")
    children = np.random.SeedSequence(entropy).spawn(len(STREAMS))
    return {
        name: np.random.Generator(np.random.PCG64(ss))
        for name, ss in zip(STREAMS, children, strict=True)
    }


@dataclass(frozen=True)
class Units:
    """Per-unit vectors (length ``n``) and the jurisdiction/region structure."""

    ids: list[str]
    jurisdiction: IntArray  # index into jurisdiction names
    region: IntArray  # index into region names
    electorate: IntArray
    turnout: FloatArray  # the unit's latent turnout probability
    voters: IntArray  # genuine ballots cast
    issued: IntArray  # ballots issued = voters + spoiled (+ stuffed, added later)
    preference: list[FloatArray]  # per contest: (n, choices) shares or approval probabilities
    contest_in_jurisdiction: BoolArray  # (contests, jurisdictions)

    @property
    def n(self) -> int:
        return len(self.ids)


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _dirichlet_rows(rng: np.random.Generator, alpha: FloatArray) -> FloatArray:
    """One Dirichlet draw per row of ``alpha`` (numpy's own takes a single alpha)."""
    gamma = rng.gamma(alpha)
    gamma = np.maximum(gamma, 1e-300)
    out: FloatArray = gamma / gamma.sum(axis=1, keepdims=True)
    return out


def _preferences(
    rng: np.random.Generator, spec: ContestSpec, config: SimulationConfig, region: IntArray
) -> FloatArray:
    """Unit-level shares: national mean -> regional mean -> unit (hierarchical)."""
    base = np.array(spec.shares, dtype=np.float64)
    kr, ku = config.region_concentration, config.unit_concentration
    if spec.kind is ContestKind.APPROVAL:
        regional = rng.beta(kr * base, kr * (1 - base), size=(config.regions, base.size))
        mean = regional[region]
        return np.clip(rng.beta(ku * mean, ku * (1 - mean)), 1e-9, 1 - 1e-9)
    base = base / base.sum()
    regional = _dirichlet_rows(rng, np.tile(kr * base, (config.regions, 1)))
    return _dirichlet_rows(rng, ku * regional[region])


def draw_units(config: SimulationConfig, streams: dict[str, np.random.Generator]) -> Units:
    """Draw the structure and every unit's size, turnout and preferences."""
    structure, rng = streams["structure"], streams["units"]
    n, n_jur = config.units, config.jurisdictions
    jurisdiction = np.sort(np.arange(n, dtype=np.int64) % n_jur)
    region = jurisdiction % config.regions
    within = np.arange(n) - np.searchsorted(jurisdiction, jurisdiction)
    ids = [
        f"{jurisdiction_name(j)}-U{k + 1:04d}" for j, k in zip(jurisdiction, within, strict=True)
    ]

    in_jur = np.zeros((len(config.contests), n_jur), dtype=bool)
    for c, spec in enumerate(config.contests):
        count = max(1, round(spec.coverage * n_jur))
        in_jur[c, structure.choice(n_jur, size=count, replace=False)] = True

    sigma = config.electorate_sigma
    mu = np.log(config.mean_electorate) - sigma**2 / 2
    electorate = np.maximum(np.rint(rng.lognormal(mu, sigma, size=n)), config.min_electorate)
    electorate = electorate.astype(np.int64)

    logits = _logit(config.turnout) + rng.normal(0.0, config.turnout_region_sd, config.regions)
    regional_turnout = 1 / (1 + np.exp(-logits))
    k = config.turnout_concentration
    mean_t = regional_turnout[region]
    turnout = rng.beta(k * mean_t, k * (1 - mean_t))
    voters = rng.binomial(electorate, turnout)
    issued = voters + rng.binomial(electorate - voters, config.spoiled_rate)

    preference = [_preferences(rng, spec, config, region) for spec in config.contests]
    return Units(
        ids=ids,
        jurisdiction=jurisdiction,
        region=region,
        electorate=electorate,
        turnout=turnout,
        voters=voters.astype(np.int64),
        issued=issued.astype(np.int64),
        preference=preference,
        contest_in_jurisdiction=in_jur,
    )


def region_names(config: SimulationConfig) -> list[str]:
    return [region_name(i) for i in range(config.regions)]


def jurisdiction_names(config: SimulationConfig) -> list[str]:
    return [jurisdiction_name(i) for i in range(config.jurisdictions)]


def targeted(config: SimulationConfig, units: Units) -> BoolArray:
    """Units in the regions where manipulations may happen (all when none named)."""
    names = config.manipulation.regions
    if not names:
        return np.ones(units.n, dtype=bool)
    wanted = [i for i, name in enumerate(region_names(config)) if name in names]
    return np.isin(units.region, wanted)


@dataclass(frozen=True)
class Stuffing:
    """Klimek-model fraud per unit: kind 0 none, 1 incremental, 2 extreme."""

    kind: NDArray[np.int8]
    x: FloatArray  # fraud intensity in [0, 1]
    stuffed: IntArray  # ballots added for the leader


def klimek_stuffing(
    electorate: IntArray,
    issued: IntArray,
    allowed: BoolArray,
    incremental_rate: float,
    extreme_rate: float,
    theta: float,
    rng: np.random.Generator,
) -> Stuffing:
    """Klimek, Yegorov, Hanel & Thurner (2012, PNAS 109:16469), fraud model, on plain arrays.

    Among the ``allowed`` units, with probability ``incremental_rate`` a unit has
    incremental fraud, x ~ |N(0, theta)|; with probability ``extreme_rate``
    extreme fraud, x ~ 1 - |N(0, 0.075)|. A share x of the ballots not issued
    (``electorate - issued``) is stuffed for the leader, so turnout a becomes
    1 - (1-x)(1-a). The switching of other votes (probability x**alpha) is left
    to the caller, which knows whether it works on cards or on unit counts.
    """
    n = int(electorate.shape[0])
    u = rng.random(n)
    kind = np.zeros(n, dtype=np.int8)
    kind[allowed & (u < incremental_rate)] = 1
    kind[allowed & (u >= incremental_rate) & (u < incremental_rate + extreme_rate)] = 2
    incremental = np.abs(rng.normal(0.0, theta, n))
    extreme = 1 - np.abs(rng.normal(0.0, 0.075, n))
    x = np.clip(np.where(kind == 1, incremental, np.where(kind == 2, extreme, 0.0)), 0.0, 1.0)
    stuffed = rng.binomial(electorate - issued, x).astype(np.int64)
    return Stuffing(kind=kind, x=x, stuffed=stuffed)


def draw_stuffing(config: SimulationConfig, units: Units, rng: np.random.Generator) -> Stuffing:
    """Klimek-model stuffing (:func:`klimek_stuffing`) in the targeted regions."""
    spec = config.manipulation.stuffing
    return klimek_stuffing(
        units.electorate,
        units.issued,
        targeted(config, units),
        spec.incremental_rate,
        spec.extreme_rate,
        spec.theta,
        rng,
    )
