"""Birth dates: the birthday problem and the distribution of dates of birth in a list.

The birthday problem (McDonald & Levitt 2008, "Seeing Double Voting: An Extension
of the Birthday Problem", Election Law Journal 7(2):111–122): among ``k`` people
with ``D`` equally likely birth dates, P(some pair shares one) is
``1 − ∏_{i<k}(1 − i/D)``; with D ≈ 23,000 adult birth dates that is 50 % at 180
people and 99 % at 460.

Real birth dates are not uniform: birth cohorts differ in size, and the day of
year has a seasonal shape with dips on holidays. :class:`DobDistribution` holds
a distribution over dates; estimated from a list it is year of birth × day of
year, the factorisation of Goel, Meredith, Morse, Rothschild & Shirani-Mehr
(2020, "One Person, One Vote", APSR 114(2):456–469). :class:`DateKey` is the
part of the date a matching rule compares (the full date, the year, the month
and day, the month).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from tallyguard.errors import InputError

#: Rule fields computed from ``dob``; every other rule field must be a column.
DOB_FIELDS = ("dob", "birth_year", "birth_month", "birth_month_day")
ID_COLUMNS = ("voter_id", "record_id", "claim_id")
#: Key columns: the year part (0 when the rule ignores the year) and the rest.
KEY_YEAR, KEY_REST = "__tg_year", "__tg_rest"
_P = "__tg_p"


def birthday_probability(k: int, days: float) -> float:
    """P(at least two of ``k`` people share a birth date among ``days`` equally likely ones).

    ``1 − ∏_{i=0}^{k−1} (1 − i/D)`` (McDonald & Levitt 2008, eq. 1), summed in logs;
    beyond ten million people, by Stirling's series for ``log Γ(D+1) − log Γ(D−k+1)``
    written with ``log1p`` so that nothing cancels catastrophically.
    """
    if k < 0 or not (math.isfinite(days) and days > 0):
        raise InputError(f"birthday problem needs k ≥ 0 and days > 0, got k={k}, days={days}")
    if k < 2:
        return 0.0
    if k - 1 >= days or k * (k - 1) / (2 * days) > 800:  # Σ log(1 − i/D) ≤ −k(k−1)/2D
        return 1.0
    if k <= 10_000_000:
        chunk = 1 << 20
        log_none = sum(
            float(np.log1p(-np.arange(start, min(start + chunk, k), dtype=np.float64) / days).sum())
            for start in range(0, k, chunk)
        )
    else:  # here D > k²/1600 ≫ k
        rest = days - k
        log_none = -(rest + 0.5) * math.log1p(-k / days) - k + (1 / days - 1 / rest) / 12
    return -math.expm1(log_none)


def birthday_crowd(probability: float, days: float) -> int:
    """The fewest people for whom :func:`birthday_probability` reaches ``probability``."""
    if not 0 < probability < 1:
        raise InputError(f"probability must be strictly between 0 and 1, got {probability}")
    low, high = 1, math.ceil(days) + 1
    while low < high:
        middle = (low + high) // 2
        if birthday_probability(middle, days) >= probability:
            high = middle
        else:
            low = middle + 1
    return low


@dataclass(frozen=True)
class DateKey:
    """The part of the date a rule compares: the year, and month-day / month / nothing."""

    year: bool
    rest: str  # "md" (month and day), "month" or "none"

    @classmethod
    def of(cls, rule: Sequence[str]) -> DateKey:
        fields = set(rule)
        rest = "none"
        if fields & {"dob", "birth_month_day"}:
            rest = "md"
        elif "birth_month" in fields:
            rest = "month"
        return cls(year=bool(fields & {"dob", "birth_year"}), rest=rest)

    @property
    def used(self) -> bool:
        return self.year or self.rest != "none"

    def exprs(self, dob: pl.Expr) -> list[pl.Expr]:
        year = dob.dt.year().cast(pl.Int32) if self.year else pl.lit(0, pl.Int32)
        month = dob.dt.month().cast(pl.Int32)
        rest = {"md": month * 100 + dob.dt.day().cast(pl.Int32), "month": month}
        return [year.alias(KEY_YEAR), rest.get(self.rest, pl.lit(0, pl.Int32)).alias(KEY_REST)]


def is_leap(year: pl.Expr) -> pl.Expr:
    return ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)


def parse_dob(frame: pl.DataFrame, label: str) -> pl.Series:
    """The ``dob`` column as dates; a non-empty value that is not YYYY-MM-DD is an error."""
    if "dob" not in frame.columns:
        raise InputError("no 'dob' column", file=label, field="dob", fix="add the dates of birth")
    raw = frame.get_column("dob")
    if raw.dtype == pl.Date:
        return raw
    if raw.dtype == pl.Datetime:
        return raw.dt.date()
    text = raw.cast(pl.String).str.strip_chars()
    dates = text.str.to_date("%Y-%m-%d", strict=False)
    bad = dates.is_null() & text.is_not_null() & (text != "")
    if bad.any():
        row = int(bad.arg_true()[0])
        ident = next((c for c in ID_COLUMNS if c in frame.columns), None)
        where = f"{ident} {frame[row, ident]!r}" if ident else f"row {row + 1}"
        raise InputError(
            f"{int(bad.sum())} date(s) of birth are not YYYY-MM-DD dates; first at {where}: "
            f"{text[row]!r}",
            file=label,
            field="dob",
            fix="clean the file with tallyguard's roll loader, or write dates as YYYY-MM-DD",
        )
    return dates.alias("dob")


@dataclass(frozen=True, eq=False)
class DobDistribution:
    """A distribution of dates of birth: ``table`` has ``dob`` (Date) and ``probability``."""

    table: pl.DataFrame
    description: str

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, description: str = "given") -> DobDistribution:
        """Check and adopt a table of ``dob`` and ``probability`` (non-negative, sum 1)."""
        for column in ("dob", "probability"):
            if column not in frame.columns:
                raise InputError(f"no {column!r} column", file="dob distribution", field=column)
        table = pl.DataFrame(
            {"dob": parse_dob(frame, "dob distribution"), "probability": frame["probability"]}
        ).with_columns(pl.col("probability").cast(pl.Float64))
        probability = table["probability"]
        if table["dob"].null_count() or table["dob"].is_duplicated().any():
            raise InputError("dates must be present and distinct", file="dob distribution")
        if probability.null_count() or (probability < 0).any() or not probability.is_finite().all():
            raise InputError("probabilities must be finite and ≥ 0", field="probability")
        total = float(probability.sum())
        if abs(total - 1) > 1e-6:
            raise InputError(
                f"probabilities sum to {total}, not 1", field="probability", fix="normalise them"
            )
        return cls(table.filter(pl.col("probability") > 0), description)

    @classmethod
    def uniform(cls, first: date, last: date) -> DobDistribution:
        """Every date from ``first`` to ``last`` (inclusive) equally likely."""
        days = pl.date_range(first, last, interval="1d", eager=True).alias("dob")
        table = pl.DataFrame({"dob": days, "probability": np.full(len(days), 1 / len(days))})
        return cls(table, f"uniform {first.isoformat()}..{last.isoformat()}")

    @classmethod
    def estimate(cls, voters: pl.DataFrame, label: str = "voters") -> DobDistribution:
        """Year of birth × day of year, estimated from the list's valid dates of birth.

        P(y, m-d) = P̂(y) · Q̂(m-d | y): the day-of-year shape Q̂ is pooled over all
        years, with 29 February's share taken from leap-year births only, and cut
        to each year's observed first..last birth date and renormalised, so that a
        cohort truncated at the list's edge (the youngest voters, born before the
        18th-birthday cut-off) keeps its real concentration. Smoother than the raw
        date counts (:meth:`empirical`) for small lists. Not modelled: year-specific
        day-of-year effects such as fewer weekend births since the 1970s, which
        make real ``Σ p²`` about 1 % higher than this estimate.
        """
        dob = parse_dob(voters, label).drop_nulls()
        if dob.is_empty():
            raise InputError("no valid date of birth to estimate from", file=label, field="dob")
        parts = pl.DataFrame({"dob": dob}).with_columns(
            y=pl.col("dob").dt.year(),
            leap=pl.col("dob").dt.is_leap_year(),
            feb29=(pl.col("dob").dt.month() == 2) & (pl.col("dob").dt.day() == 29),
        )
        leap_births = parts.filter("leap")
        feb29 = float(leap_births["feb29"].mean()) if leap_births.height else 0.0  # type: ignore[arg-type]
        years = parts.group_by("y", "leap").agg(
            py=pl.len() / dob.len(), first=pl.col("dob").min(), last=pl.col("dob").max()
        )
        days = (
            parts.filter(~pl.col("feb29"))
            .group_by(m=pl.col("dob").dt.month(), d=pl.col("dob").dt.day())
            .len()
        )
        days = pl.concat(
            [
                days.select("m", "d", q=pl.col("len") / pl.col("len").sum(), feb29=pl.lit(False)),
                pl.DataFrame({"m": [2], "d": [29], "q": [1.0], "feb29": [True]}),
            ],
            how="vertical_relaxed",
        )
        scale = (
            pl.when(pl.col("feb29")).then(feb29).when(pl.col("leap")).then(1 - feb29).otherwise(1)
        )
        table = years.join(days, how="cross").filter(pl.col("leap") | ~pl.col("feb29"))
        table = (
            table.with_columns(dob=pl.date("y", "m", "d"), w=pl.col("q") * scale)
            .filter(pl.col("dob").is_between("first", "last"))
            .select("dob", probability=pl.col("py") * pl.col("w") / pl.col("w").sum().over("y"))
            .filter(pl.col("probability") > 0)
            .sort("dob")
        )
        return cls(table, f"estimated from {label}: year of birth x day of year")

    @classmethod
    def empirical(cls, voters: pl.DataFrame, label: str = "voters") -> DobDistribution:
        """The list's own date-of-birth frequencies.

        Captures every real pattern (weekdays, holidays, cohorts) but its ``Σ p̂²``
        is biased *up* by about (1 − Σ p²)/n, i.e. by ~ D/n relatively with D the
        effective number of birth dates (≈ 0.4 % at 10 M records, 37 % at 100 k):
        a conservative choice for very large lists.
        """
        dob = parse_dob(voters, label).drop_nulls()
        if dob.is_empty():
            raise InputError("no valid date of birth to estimate from", file=label, field="dob")
        table = dob.value_counts(name="count").select(
            "dob", probability=pl.col("count") / dob.len()
        )
        return cls(table.sort("dob"), f"empirical frequencies of {label}")

    def key_shares(self, key: DateKey) -> pl.DataFrame:
        """Per key-year: P(year) as ``pi`` and the within-year key shares ``w``."""
        return (
            self.table.select(*key.exprs(pl.col("dob")), pl.col("probability").alias(_P))
            .group_by(KEY_YEAR, KEY_REST)
            .agg(pl.col(_P).sum())
            .with_columns(pi=pl.col(_P).sum().over(KEY_YEAR))
            .with_columns(w=pl.col(_P) / pl.col("pi"))
        )
