"""Exclusion evidence and the calibration check: why a raw match probability is not enough.

The Fellegi–Sunter model (Fellegi & Sunter 1969) multiplies per-field Bayes factors as
if the fields were independent given match status. Family look-alikes break that
assumption: twins share surname, address and date of birth; a father and son ("Jr/Sr")
share first name, surname and address. Measured on a simulated 100,000-record roll
(references/rolls.md, summary 5–6), pairs Splink scored at p ≥ 0.999 were only 92 %
true, and Σ(1 − p) predicted 7 false matches where there were 818; three hard rules
cut them to 12. So every flagged pair here carries the named rule that sets it aside
(or none), and a clerical-review sample checks the model's implied false-match count.
Two rules were added since: ``household_member`` (same surname and address with another
first name or birth date: spouses and siblings, whose shared surname and address the
model counts as two independent rare agreements) and ``conflicting_birth_dates`` (dates
of birth no single recording error reconciles, which on a simulated roll were the
common full names that recur by chance).

The count of false matches in a reviewed sample is compared with its model expectation
Σ(1 − p_i) by the exact (Garwood 1936, Biometrika 28:437–442) Poisson interval on the
ratio, the exact Poisson-binomial tail P(X ≥ observed), and the Clopper–Pearson (1934,
Biometrika 26:404–413) interval on the sample's false-match rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from tallyguard.errors import InputError

__all__ = [
    "DEFAULT_RULES",
    "GENERATION",
    "CalibrationCheck",
    "ExclusionRule",
    "apply_exclusions",
    "calibration_check",
    "conflicting_birth_dates",
    "distant_birth_years",
    "household_member",
    "same_dob_different_first_name",
    "suffix_conflict",
]

#: Generational suffixes by generation: "JR" and "II" both name the second of a name.
GENERATION: dict[str, int] = {"SR": 1, "I": 1, "JR": 2, "II": 2, "III": 3, "IV": 4, "V": 5}

#: Record columns the rules read; each appears as ``<column>_l`` and ``<column>_r``.
RULE_COLUMNS = (
    "first_name",
    "first_name_canonical",
    "first_name_variants",
    "last_name",
    "suffix",
    "dob",
    "birth_year",
    "sex",
    "address",
)

#: Types of the rule columns that are not strings (absent columns are filled with nulls).
RULE_TYPES: dict[str, pl.DataType] = {"first_name_variants": pl.List(pl.String)}

Verdict = Literal["over-confident", "consistent", "under-confident"]


@dataclass(frozen=True, eq=False)
class ExclusionRule:
    """A named pattern of a family look-alike that sets a flagged pair aside.

    ``condition`` and ``reason`` are polars expressions over the pair frame joined to
    both records (columns ``<field>_l`` / ``<field>_r``); ``reason`` renders the values.
    """

    name: str
    description: str
    condition: pl.Expr
    reason: pl.Expr


def suffix_conflict() -> ExclusionRule:
    """Both records carry generational suffixes naming different generations (JR vs SR)."""
    gen_l = pl.col("suffix_l").replace_strict(GENERATION, default=None, return_dtype=pl.Int64)
    gen_r = pl.col("suffix_r").replace_strict(GENERATION, default=None, return_dtype=pl.Int64)
    return ExclusionRule(
        name="suffix_conflict",
        description="generational suffixes differ: a parent and child share the name",
        condition=(gen_l != gen_r).fill_null(False),
        reason=pl.format("suffix {} vs {}: different generations", "suffix_l", "suffix_r"),
    )


def distant_birth_years(max_gap: int = 11) -> ExclusionRule:
    """Birth years more than ``max_gap`` apart: a parent, unless one mistyped digit explains it.

    Dates of birth one typo apart (1956-04-09 and 1986-04-09) are not excluded, unless
    either record carries a generational suffix (JR, SR, II, ...): a father and son
    born on the same day of the year decades apart are then far likelier than a typo.
    """
    gap = (pl.col("birth_year_l") - pl.col("birth_year_r")).abs()
    suffixed = pl.col("suffix_l").is_in(list(GENERATION)) | pl.col("suffix_r").is_in(
        list(GENERATION)
    )
    typo = (
        one_edit_apart(pl.col("dob_l"), pl.col("dob_r")) & ~suffixed.fill_null(False)
    ).fill_null(False)
    return ExclusionRule(
        name="distant_birth_years",
        description=f"birth years more than {max_gap} years apart",
        condition=((gap > max_gap) & ~typo).fill_null(False),
        reason=pl.format(
            "born {} and {}: more than {} years apart",
            "birth_year_l",
            "birth_year_r",
            pl.lit(str(max_gap)),
        ),
    )


def same_dob_different_first_name() -> ExclusionRule:
    """Same date of birth, and first names that are not one person's spellings of a name.

    This is the twin pattern (same birth date, surname and address, another first
    name). Names count as the same when equal, nickname-equivalent (the same canonical
    name, or one listed among the other's variants), one an initial of
    the other, one typo apart (Damerau–Levenshtein distance 1) unless the recorded
    sexes differ (JOHN and JOAN), or swapped with the last name.
    """
    first_l, first_r = pl.col("first_name_l"), pl.col("first_name_r")
    return ExclusionRule(
        name="same_dob_different_first_name",
        description="same date of birth with a different first name: likely twins",
        condition=((pl.col("dob_l") == pl.col("dob_r")) & ~_one_first_name()).fill_null(False),
        reason=pl.format("both born {}, named {} and {}: likely twins", "dob_l", first_l, first_r),
    )


def _one_first_name() -> pl.Expr:
    """Whether the two first names can be one person's (see ``same_dob_different_first_name``).

    Null when a first name is missing.
    """
    first_l, first_r = pl.col("first_name_l"), pl.col("first_name_r")
    swapped = one_edit_apart(first_l, pl.col("last_name_r")) & one_edit_apart(
        pl.col("last_name_l"), first_r
    )
    initial = (first_l.str.len_chars() == 1) | (first_r.str.len_chars() == 1)
    listed = pl.col("first_name_variants_l").list.contains(first_r) | pl.col(
        "first_name_variants_r"
    ).list.contains(first_l)
    return (
        (pl.col("first_name_canonical_l") == pl.col("first_name_canonical_r")).fill_null(False)
        | listed.fill_null(False)
        | (initial & (first_l.str.slice(0, 1) == first_r.str.slice(0, 1)))
        | (
            one_edit_apart(first_l, first_r)
            & ~(pl.col("sex_l") != pl.col("sex_r")).fill_null(False)
        )
        | swapped.fill_null(False)
    )


def _dates_explained(dob_l: pl.Expr, dob_r: pl.Expr) -> pl.Expr:
    """Birth dates equal, one mistyped character apart, or with day and month swapped."""
    swapped = (
        (dob_l.str.slice(0, 4) == dob_r.str.slice(0, 4))
        & (dob_l.str.slice(5, 2) == dob_r.str.slice(8, 2))
        & (dob_l.str.slice(8, 2) == dob_r.str.slice(5, 2))
    )
    return one_edit_apart(dob_l, dob_r) | swapped


def conflicting_birth_dates() -> ExclusionRule:
    """Both dates of birth known, and no single recording error turns one into the other.

    A registration is re-entered from the voter's own statement, so a duplicate's date of
    birth agrees up to one mistyped character or a day/month swap (the errors of
    Damerau 1964 and of US/European date order). A lead for review needs that: two
    records whose dates conflict are, on the record, two people, however alike their
    names (common full names recur by chance in a large roll).
    """
    dob_l, dob_r = pl.col("dob_l"), pl.col("dob_r")
    return ExclusionRule(
        name="conflicting_birth_dates",
        description="dates of birth differ by more than one recording error",
        condition=(~_dates_explained(dob_l, dob_r)).fill_null(False),
        reason=pl.format("born {} and {}: not one recording error apart", dob_l, dob_r),
    )


def household_member() -> ExclusionRule:
    """Same surname and address, and a first name or a date of birth that differs.

    Members of one household share surname and address, the two fields with the
    rarest chance agreement, so the Fellegi–Sunter product of Bayes factors
    (which assumes fields independent given match status) over-states such a pair.
    A duplicate registration of one person at one address keeps the first name (up
    to the variants of ``same_dob_different_first_name``) and the date of birth (up
    to one mistyped character or a day/month swap); anything else is a relative.
    """
    dob_l, dob_r = pl.col("dob_l"), pl.col("dob_r")
    differs = (~_dates_explained(dob_l, dob_r)).fill_null(False) | (~_one_first_name()).fill_null(
        False
    )
    same_home = (pl.col("last_name_l") == pl.col("last_name_r")) & (
        pl.col("address_l") == pl.col("address_r")
    )
    return ExclusionRule(
        name="household_member",
        description="same surname and address, another first name or birth date: relatives",
        condition=(same_home & differs).fill_null(False),
        reason=pl.format(
            "both at {}: {} born {} and {} born {}, likely members of one household",
            "address_l",
            "first_name_l",
            dob_l,
            "first_name_r",
            dob_r,
        ),
    )


def one_edit_apart(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Whether two strings are equal or one insertion, deletion, substitution or swap apart."""

    def batch(pairs: pl.Series) -> pl.Series:
        left, right = pairs.struct.field("a").to_list(), pairs.struct.field("b").to_list()
        return pl.Series(
            [
                None if x is None or y is None else _one_edit(x, y)
                for x, y in zip(left, right, strict=True)
            ],
            dtype=pl.Boolean,
        )

    return pl.struct(a=a, b=b).map_batches(batch, return_dtype=pl.Boolean)


def _one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
        return len(diff) <= 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


#: The rules applied by default, in the order a pair's ``exclusion`` is named.
DEFAULT_RULES: tuple[ExclusionRule, ...] = (
    suffix_conflict(),
    distant_birth_years(),
    same_dob_different_first_name(),
    household_member(),
    conflicting_birth_dates(),
)


def apply_exclusions(
    pairs: pl.DataFrame,
    left: pl.DataFrame,
    right: pl.DataFrame,
    rules: Sequence[ExclusionRule] = DEFAULT_RULES,
) -> pl.DataFrame:
    """Add ``exclusion`` (the first rule that applies, else null) and ``exclusion_reason``.

    ``left``/``right`` are the rolls ``id_l``/``id_r`` point into (the same roll when
    deduplicating); they need ``voter_id`` and whichever of ``RULE_COLUMNS`` they have.
    Rows keep their order; no pair is dropped.
    """
    joined = pairs.select("id_l", "id_r")
    for side, roll in (("l", left), ("r", right)):
        present = [c for c in RULE_COLUMNS if c in roll.columns]
        records = roll.select(
            pl.col("voter_id").cast(pl.String).alias(f"id_{side}"),
            *[pl.col(c).alias(f"{c}_{side}") for c in present],
            *[
                pl.lit(None, RULE_TYPES.get(c, pl.String)).alias(f"{c}_{side}")
                for c in RULE_COLUMNS
                if c not in present
            ],
        )
        joined = joined.join(records, on=f"id_{side}", how="left", maintain_order="left")
    name: pl.Expr = pl.lit(None, pl.String)
    reason: pl.Expr = pl.lit(None, pl.String)
    for rule in reversed(rules):  # the first rule in order wins
        name = pl.when(rule.condition).then(pl.lit(rule.name)).otherwise(name)
        reason = pl.when(rule.condition).then(rule.reason).otherwise(reason)
    verdicts = joined.with_columns(exclusion=name, exclusion_reason=reason).select(
        "exclusion", "exclusion_reason"
    )
    return pairs.drop("exclusion", "exclusion_reason", strict=False).hstack(verdicts)


@dataclass(frozen=True)
class CalibrationCheck:
    """Observed false matches in a clerical-review sample against the model's Σ(1 − p).

    ``ratio`` is observed / expected with the exact Poisson interval of the observed
    count divided by ``expected_false``; ``p_value`` is P(X ≥ observed) where X, the
    model's false-match count in the same pairs, is Poisson-binomial with rates 1 − p.
    The verdict is "over-confident" when the whole ratio interval lies above 1,
    "under-confident" when it lies below 1, and "consistent" otherwise.
    """

    scope: Literal["leads", "all"]
    n_reviewed: int
    n_unflagged_labels: int
    observed_false: int
    expected_false: float
    ratio: float
    ratio_low: float
    ratio_high: float
    p_value: float
    false_rate: float
    false_rate_low: float
    false_rate_high: float
    confidence: float
    verdict: Verdict


def calibration_check(
    pairs: pl.DataFrame,
    labels: pl.DataFrame,
    *,
    confidence: float = 0.95,
    scope: Literal["leads", "all"] = "leads",
) -> CalibrationCheck:
    """Check the flagged pairs' probabilities against reviewed labels (id_l, id_r, is_match).

    A label is matched to a flagged pair in either orientation; labels of pairs that
    were not flagged (or, with ``scope="leads"``, were excluded) are counted in
    ``n_unflagged_labels`` and otherwise ignored.
    """
    missing = {"id_l", "id_r", "is_match"} - set(labels.columns)
    if missing:
        raise InputError(
            f"the review labels lack column(s) {sorted(missing)}",
            field=sorted(missing)[0],
            fix="give one row per reviewed pair: id_l, id_r, is_match (true/false)",
        )
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence {confidence} is not in (0, 1)", field="confidence")
    reviewed = labels.select(
        pl.col("id_l").cast(pl.String),
        pl.col("id_r").cast(pl.String),
        pl.col("is_match").cast(pl.Boolean),
    )
    if reviewed.get_column("is_match").null_count():
        row = int(reviewed.get_column("is_match").is_null().arg_max() or 0)
        raise InputError("is_match is empty or not true/false", line=row + 1, field="is_match")
    flagged = pairs
    if scope == "leads" and "exclusion" in pairs.columns:
        flagged = pairs.filter(pl.col("exclusion").is_null())
    flagged = flagged.select("id_l", "id_r", "match_probability")
    swapped = flagged.select(id_l="id_r", id_r="id_l", match_probability="match_probability")
    matched = reviewed.join(
        pl.concat([flagged, swapped]).unique(["id_l", "id_r"], keep="first", maintain_order=True),
        on=["id_l", "id_r"],
        how="inner",
    ).unique(["id_l", "id_r"], keep="first", maintain_order=True)
    q = 1.0 - matched.get_column("match_probability").to_numpy().astype(np.float64)
    observed = int((~matched.get_column("is_match")).sum())
    expected = float(q.sum())
    n = matched.height
    alpha = 1.0 - confidence
    low, high = _garwood(observed, alpha)
    ratio, ratio_low, ratio_high = _ratio(observed, low, high, expected)
    rate_low, rate_high = _clopper_pearson(observed, n, alpha)
    verdict: Verdict = "consistent"
    if ratio_low > 1.0:
        verdict = "over-confident"
    elif ratio_high < 1.0:
        verdict = "under-confident"
    return CalibrationCheck(
        scope=scope,
        n_reviewed=n,
        n_unflagged_labels=reviewed.height - n,
        observed_false=observed,
        expected_false=expected,
        ratio=ratio,
        ratio_low=ratio_low,
        ratio_high=ratio_high,
        p_value=poisson_binomial_upper_tail(q, observed),
        false_rate=observed / n if n else float("nan"),
        false_rate_low=rate_low,
        false_rate_high=rate_high,
        confidence=confidence,
        verdict=verdict,
    )


def poisson_binomial_upper_tail(rates: np.ndarray, k: int) -> float:
    """P(X ≥ k) for X a sum of independent Bernoulli(rates), by exact convolution."""
    if k <= 0:
        return 1.0
    below = np.zeros(k)  # P(X = j) for j < k, built one trial at a time
    below[0] = 1.0
    for rate in rates:
        below[1:] = below[1:] * (1.0 - rate) + below[:-1] * rate
        below[0] *= 1.0 - rate
    return float(min(1.0, max(0.0, 1.0 - below.sum())))


def _garwood(k: int, alpha: float) -> tuple[float, float]:
    """Exact two-sided interval for a Poisson mean from one count (Garwood 1936)."""
    low = 0.0 if k == 0 else float(stats.chi2.ppf(alpha / 2, 2 * k) / 2)
    return low, float(stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2)


def _ratio(k: int, low: float, high: float, expected: float) -> tuple[float, float, float]:
    if expected > 0:
        return k / expected, low / expected, high / expected
    return (float("inf") if k else float("nan")), (float("inf") if k else 0.0), float("inf")


def _clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high
