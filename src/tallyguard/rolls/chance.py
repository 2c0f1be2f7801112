"""Chance matches: how many pairs a matching rule finds between *different* people.

A rule such as Crosscheck's "same first name, last name and date of birth" pairs
up distinct people by coincidence. Following the birthday problem (McDonald &
Levitt 2008, Election Law Journal 7(2):111–122) and the probabilistic birthdate
model of Goel, Meredith, Morse, Rothschild & Shirani-Mehr (2020, "One Person, One
Vote", APSR 114(2):456–469): records are grouped by the rule's non-date fields
(the *name group*); within a group, distinct people's birth dates are independent
draws from a distribution ``p``, so with ``s₂ = Σ_k p_k²`` over the rule's date
key ``k`` (the full date, the year, ...)::

    E[coincidental pairs] = Σ_g C(n_g, 2) · s₂             (one list)
    E[coincidental pairs] = Σ_g n_g · m_g · Σ_k p_k q_k     (two lists)

Pairs sharing a person are not independent: with ``s₃ = Σ_k p_k³`` the exact
variance under the model is ``Σ_g C(n_g,2)·s₂(1−s₂) + n_g(n_g−1)(n_g−2)·(s₃−s₂²)``
(two lists: ``n m c(1−c) + n m(m−1)(Σpq²−c²) + m n(n−1)(Σp²q−c²)``, ``c = Σpq``).
The interval is the exact Poisson one when this is at most the mean (sparse
pairs), a variance-matched negative binomial when big name groups make it larger.

The model counts *coincidences*, so n_g must count distinct people: pass
``person_id`` when it is known (truth in a simulation, a cluster id from
linkage); otherwise every record counts as a person. The number of pairs that
satisfy the rule (``observed``) is coincidences **plus** true duplicates, so
``observed − expected`` estimates the pairs beyond chance.

First names are correlated with age, so same-name people are more alike in birth
year than the list as a whole; ignoring that *understates* coincidences.
``condition_on="first_name"`` takes the year of birth per first name (Goel et al.
2020), with unbiased U-statistics for ``Σ p_y²`` and ``Σ p_y³`` so that rare names
are not over-counted.

For pairs flagged by a probabilistic model, Σ(1 − p) and its Poisson-binomial
interval live in :mod:`tallyguard.rolls.false_matches` and are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from scipy import stats

from tallyguard.errors import InputError
from tallyguard.rolls.birthdates import (
    DOB_FIELDS,
    KEY_REST,
    KEY_YEAR,
    DateKey,
    DobDistribution,
    birthday_crowd,
    birthday_probability,
    parse_dob,
)
from tallyguard.rolls.false_matches import (
    FalseMatchEstimate,
    expected_false_matches,
    false_match_estimate,
    poisson_binomial_pmf,
)

__all__ = [
    "ChanceEstimate",
    "DobDistribution",
    "FalseMatchEstimate",
    "birthday_crowd",
    "birthday_probability",
    "expected_chance_pairs",
    "expected_false_matches",
    "false_match_estimate",
    "observed_rule_pairs",
    "poisson_binomial_pmf",
]

_Y, _R, _S, _P = KEY_YEAR, KEY_REST, "__tg_stratum", "__tg_dob"
_NOTE = (
    "expected counts coincidences between different people only; observed pairs satisfying "
    "the rule = coincidences + true duplicates"
)


def _prepare(
    frame: pl.DataFrame, names: list[str], key: DateKey, person: str | None, label: str
) -> pl.DataFrame:
    """The rule's columns (names, key-year, key-rest, person) for rows with every field."""
    for column in [*names, *([person] if person else [])]:
        if column not in frame.columns:
            raise InputError(
                f"no column {column!r}",
                file=label,
                field=column,
                fix=f"use one of {frame.columns} or a date field {DOB_FIELDS}",
            )
    dob = parse_dob(frame, label) if key.used else pl.lit(date(2000, 1, 1))
    kept = frame.with_columns(dob.alias(_P)).select(*names, *([person] if person else []), _P)
    return kept.with_columns(*key.exprs(pl.col(_P))).drop(_P).drop_nulls()


def _pairs(a: pl.DataFrame, b: pl.DataFrame | None, keys: list[str]) -> int:
    """Pairs of rows agreeing on ``keys``: within ``a``, or between ``a`` and ``b``.

    ``a`` and ``b`` are counts (``keys`` and ``len``) from :func:`_counts`.
    """
    count = pl.col("len").cast(pl.Int64)
    if b is None:
        return int(a.select((count * (count - 1) // 2).sum()).item() or 0)
    joined = a.join(b, on=keys, suffix="_b")
    return int(joined.select((count * pl.col("len_b").cast(pl.Int64)).sum()).item() or 0)


def _counts(rows: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return rows.group_by(keys).len() if keys else pl.DataFrame({"len": [rows.height]})


def observed_rule_pairs(
    voters: pl.DataFrame, rule: Sequence[str], other: pl.DataFrame | None = None
) -> int:
    """Pairs of records that satisfy ``rule`` (all its fields present and equal).

    Within ``voters``, or between ``voters`` and ``other`` when given. This is what a
    naive claim counts: chance coincidences plus true duplicates.
    """
    names, key = _split(rule)
    keys = [*names, _Y, _R]
    a = _counts(_prepare(voters, names, key, None, "voters"), keys)
    b = None if other is None else _counts(_prepare(other, names, key, None, "other list"), keys)
    return _pairs(a, b, keys)


def _split(rule: Sequence[str]) -> tuple[list[str], DateKey]:
    if isinstance(rule, str) or not rule or len(set(rule)) != len(rule):
        raise InputError(f"a rule is a non-empty list of distinct fields, got {rule!r}")
    return [f for f in rule if f not in DOB_FIELDS], DateKey.of(rule)


def _year_weights(
    people: pl.DataFrame, key: DateKey, dist: DobDistribution, stratum: str | None
) -> pl.DataFrame:
    """Per stratum and key-year: ``e1, e2, e3`` estimate P(y), P(y)², P(y)³.

    Without a stratum they come from ``dist``. Per stratum (a first name) they come
    from the people's own years by U-statistics, ``c(c−1)/(n(n−1))`` for P(y)²
    and ``c(c−1)(c−2)/(n(n−1)(n−2))`` for P(y)³, unbiased however rare the name.
    """
    if stratum is None:
        pi = pl.col("pi")
        years = dist.key_shares(key).group_by(_Y).agg(pi.first())
        return years.select(pl.lit(0, pl.Int32).alias(_S), _Y, e1=pi, e2=pi**2, e3=pi**3)
    counts = people.group_by(stratum, _Y).len().rename({stratum: _S})
    c = pl.col("len").cast(pl.Float64)
    n = c.sum().over(_S)
    return counts.select(
        _S,
        _Y,
        e1=c / n,
        e2=pl.when(n > 1).then(c * (c - 1) / (n * (n - 1))).otherwise(0.0),
        e3=pl.when(n > 2).then(c * (c - 1) * (c - 2) / (n * (n - 1) * (n - 2))).otherwise(0.0),
    )


def _within_moments(weights: pl.DataFrame, dist: DobDistribution, key: DateKey) -> pl.DataFrame:
    """Per stratum: ``s2 = Σ_k p_k²`` and ``s3 = Σ_k p_k³`` over the rule's date key."""
    shares = (
        dist.key_shares(key)
        .sort(_Y, _R)
        .group_by(_Y, maintain_order=True)
        .agg(m2=(pl.col("w") ** 2).sum(), m3=(pl.col("w") ** 3).sum())
    )
    return (
        weights.join(shares, on=_Y)
        .sort(_S, _Y)
        .group_by(_S, maintain_order=True)
        .agg(s2=(pl.col("e2") * pl.col("m2")).sum(), s3=(pl.col("e3") * pl.col("m3")).sum())
    )


def _cross_moments(
    weights: tuple[pl.DataFrame, pl.DataFrame],
    dists: tuple[DobDistribution, DobDistribution],
    key: DateKey,
) -> pl.DataFrame:
    """Per stratum: ``c = Σ p q``, ``pq2 = Σ p q²`` and ``p2q = Σ p² q`` (p: first list)."""
    wa, wb = (d.key_shares(key).select(_Y, _R, "w") for d in dists)
    w, v = pl.col("w"), pl.col("w_b")
    shares = (
        wa.join(wb, on=[_Y, _R], suffix="_b")
        .sort(_Y, _R)
        .group_by(_Y, maintain_order=True)
        .agg(mab=(w * v).sum(), mabb=(w * v**2).sum(), maab=(w**2 * v).sum())
    )
    e1, e2, f1, f2 = pl.col("e1"), pl.col("e2"), pl.col("e1_b"), pl.col("e2_b")
    return (
        weights[0]
        .join(weights[1], on=[_S, _Y], suffix="_b")
        .join(shares, on=_Y)
        .sort(_S, _Y)
        .group_by(_S, maintain_order=True)
        .agg(
            c=(e1 * f1 * pl.col("mab")).sum(),
            pq2=(e1 * f2 * pl.col("mabb")).sum(),
            p2q=(e2 * f1 * pl.col("maab")).sum(),
        )
    )


def _groups(counts: pl.DataFrame, names: list[str], stratum: str | None) -> pl.DataFrame:
    """People per name group, as ``n``, with the group's stratum, from key counts."""
    n = pl.col("len").sum().cast(pl.Float64).alias("n")
    groups = counts.group_by(names).agg(n) if names else counts.select(n)
    label = pl.col(stratum) if stratum else pl.lit(0, pl.Int32)
    return groups.with_columns(label.alias(_S))


def _within_totals(groups: pl.DataFrame, moments: pl.DataFrame) -> dict[str, Any]:
    """Σ over name groups of C(n,2)·s2, its variance, the candidate pairs and groups."""
    # sorted so that the sums, and so the printed figures, do not depend on thread timing
    table = groups.join(moments, on=_S, how="left").sort(pl.all())
    n, s2, s3 = pl.col("n"), pl.col("s2").fill_null(0.0), pl.col("s3").fill_null(0.0)
    pairs = n * (n - 1) / 2
    return table.select(
        expected=(pairs * s2).sum(),
        variance=(pairs * s2 * (1 - s2) + n * (n - 1) * (n - 2) * (s3 - s2**2)).sum(),
        name_pairs=pairs.sum(),
        groups=(n >= 2).sum(),
    ).row(0, named=True)


def _cross_totals(
    groups: tuple[pl.DataFrame, pl.DataFrame], names: list[str], moments: pl.DataFrame
) -> dict[str, Any]:
    """Σ over name groups of n·m·c, its variance, the candidate pairs and groups."""
    a, b = groups
    joined = a.join(b, on=names, suffix="_b") if names else a.join(b.drop(_S), how="cross")
    table = joined.join(moments, on=_S, how="left").sort(pl.all())
    n, m = pl.col("n"), pl.col("n_b")
    c, pq2, p2q = (pl.col(x).fill_null(0.0) for x in ("c", "pq2", "p2q"))
    return table.select(
        expected=(n * m * c).sum(),
        variance=(
            n * m * c * (1 - c) + n * m * (m - 1) * (pq2 - c**2) + m * n * (n - 1) * (p2q - c**2)
        ).sum(),
        name_pairs=(n * m).sum(),
        groups=pl.len(),
    ).row(0, named=True)


def _count_interval(mean: float, variance: float, confidence: float) -> tuple[int, int, str]:
    """A ``confidence`` prediction interval of a count with this mean and variance."""
    low_q, high_q = (1 - confidence) / 2, (1 + confidence) / 2
    if mean <= 0:
        return 0, 0, "none: no candidate pairs"
    if variance > mean:
        size, p = mean**2 / (variance - mean), mean / variance
        low, high = stats.nbinom.ppf([low_q, high_q], size, p)
        return int(low), int(high), "negative binomial matched to the model variance"
    if variance >= 0.9 * mean:
        low, high = stats.poisson.ppf([low_q, high_q], mean)
        return int(low), int(high), "exact Poisson"
    spread = float(stats.norm.ppf(high_q)) * math.sqrt(max(variance, 0.0))
    return max(0, math.floor(mean - spread)), math.ceil(mean + spread), "normal"


@dataclass(frozen=True)
class ChanceEstimate:
    """Expected coincidental pairs under a matching rule, with its interval.

    ``expected`` and ``low..high`` (a ``confidence`` interval of the count) are for
    pairs of *different* people; ``observed`` counts record pairs satisfying the
    rule, i.e. coincidences + true duplicates. ``distinct_groups`` is the number of
    name groups with at least one candidate pair, ``name_pairs`` the candidate pairs
    (agreeing on every non-date field), ``dob_collision_probability`` their mean
    chance of agreeing on the date key (``expected / name_pairs``).
    """

    rule: tuple[str, ...]
    expected: float
    low: int
    high: int
    observed: int
    distinct_groups: int
    dob_collision_probability: float
    name_pairs: int
    variance: float
    interval_method: str
    records: int
    other_records: int | None
    observed_between_people: int | None
    dob_model: str
    confidence: float = 0.95

    @property
    def excess(self) -> tuple[float, int, int]:
        """Observed pairs beyond chance (point, low, high): an estimate of true duplicates."""
        return (
            self.observed - self.expected,
            max(0, self.observed - self.high),
            max(0, self.observed - self.low),
        )

    def to_json(self) -> dict[str, Any]:
        excess, excess_low, excess_high = self.excess
        p = self.dob_collision_probability
        return {
            "rule": list(self.rule),
            "expected_chance_pairs": self.expected,
            "interval": [self.low, self.high],
            "confidence": self.confidence,
            "interval_method": self.interval_method,
            "variance": self.variance,
            "observed_rule_pairs": self.observed,
            "observed_between_people": self.observed_between_people,
            "pairs_beyond_chance": {"estimate": excess, "interval": [excess_low, excess_high]},
            "distinct_groups": self.distinct_groups,
            "name_pairs": self.name_pairs,
            "dob_collision_probability": p,
            "effective_dob_days": 1 / p if p > 0 else None,
            "records": self.records,
            "other_records": self.other_records,
            "dob_model": self.dob_model,
            "note": _NOTE,
        }


def expected_chance_pairs(
    voters: pl.DataFrame,
    rule: Sequence[str],
    *,
    dob_distribution: DobDistribution | None = None,
    other: pl.DataFrame | None = None,
    other_dob_distribution: DobDistribution | None = None,
    person_id: str | None = None,
    condition_on: str | None = None,
    confidence: float = 0.95,
) -> ChanceEstimate:
    """Expected pairs of different people satisfying ``rule`` by chance (Goel et al. 2020).

    ``rule`` lists fields that must agree: columns (``first_name``, ``last_name``,
    ...) and date fields from ``dob`` (``dob``, ``birth_year``, ``birth_month``,
    ``birth_month_day``). Rows missing a rule field can satisfy nothing and are
    left out. Across two lists, each list's birth dates follow its own
    distribution (``other_dob_distribution``, by default ``dob_distribution`` if
    given, else estimated from ``other``). ``person_id`` names a column of true
    person ids: people are then counted once per name group, and
    ``observed_between_people`` counts the rule's pairs of different people.
    ``condition_on`` (a non-date rule field, normally ``first_name``) takes the
    year of birth per value of that field, the rest of the date from the list.
    """
    names, key = _split(rule)
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}")
    if condition_on is not None and (condition_on not in names or not key.year):
        raise InputError(
            f"condition_on={condition_on!r} needs a rule comparing that field and the birth year",
            field=condition_on,
        )
    lists = [("voters", voters)] + ([] if other is None else [("other list", other)])
    people = [_prepare(frame, names, key, person_id, label) for label, frame in lists]
    keys = [*names, _Y, _R]
    sizes = [p.height for p in people]
    counts = [_counts(p, keys) for p in people]
    observed = _pairs(counts[0], counts[1] if other is not None else None, keys)
    between = None
    if person_id is not None:
        people = [p.unique([person_id, *keys], maintain_order=True) for p in people]
        unique = [_counts(p, keys) for p in people]
        between = _pairs(unique[0], unique[1] if other is not None else None, keys)
        if other is not None:
            between -= people[0].join(people[1], on=[person_id, *keys]).height
        people = [p.unique([person_id, *names], keep="first", maintain_order=True) for p in people]
        counts = [_counts(p, names) for p in people]
    given = [dob_distribution, other_dob_distribution or dob_distribution]
    if not key.used:
        fixed = pl.DataFrame({"dob": [date(2000, 1, 1)], "probability": [1.0]})
        dists = [DobDistribution(fixed, "none: the rule compares no date")] * len(lists)
    else:
        dists = [
            d or DobDistribution.estimate(f, label)
            for d, (label, f) in zip(given[: len(lists)], lists, strict=True)
        ]
    weights = [_year_weights(p, key, d, condition_on) for p, d in zip(people, dists, strict=True)]
    groups = [_groups(c, names, condition_on) for c in counts]
    if other is None:
        row = _within_totals(groups[0], _within_moments(weights[0], dists[0], key))
    else:
        moments = _cross_moments((weights[0], weights[1]), (dists[0], dists[1]), key)
        row = _cross_totals((groups[0], groups[1]), names, moments)
    expected, variance = float(row["expected"] or 0.0), max(0.0, float(row["variance"] or 0.0))
    low, high, method = _count_interval(expected, variance, confidence)
    name_pairs = round(float(row["name_pairs"] or 0.0))
    model = dists[0].description
    if condition_on is not None:
        model = f"year of birth by {condition_on} (U-statistics); within the year: {model}"
    return ChanceEstimate(
        rule=tuple(rule),
        expected=expected,
        low=low,
        high=high,
        observed=observed,
        distinct_groups=int(row["groups"] or 0),
        dob_collision_probability=expected / name_pairs if name_pairs else 0.0,
        name_pairs=name_pairs,
        variance=variance,
        interval_method=method,
        records=sizes[0],
        other_records=sizes[1] if other is not None else None,
        observed_between_people=between,
        dob_model=model,
        confidence=confidence,
    )
