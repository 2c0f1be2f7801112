"""Cleaning of names and dates before linkage: what two clerks would agree is the same.

Names: Unicode compatibility decomposition with the accents dropped (JOSÉ ->
JOSE), upper case, punctuation other than hyphen and apostrophe removed, runs of
spaces collapsed; a generational suffix written inside a name (``SMITH JR``,
``JOHN III``) moves to ``suffix``; suffixes are normalised (JUNIOR -> JR,
SENIOR -> SR, 2ND -> II, 3RD -> III, 4TH -> IV). First names get their
nickname variants from the maintained ``nicknames`` table (Carlton Northern's
names/nicknames list, packaged on PyPI): ``first_name_variants`` holds the
name, the names it is a nickname of and its nicknames, so BILL and WILLIAM
meet; ``first_name_canonical`` is the one canonical form when the table names
exactly one and it is the longer name (JIM -> JAMES; MITCHELL does not become
MITCH, which the table also lists), else the name itself (BILL stays BILL: the
table lists it under several names, WILLIAM and ROBERT among them).

Dates: ISO ``YYYY-MM-DD``, ``YYYYMMDD``, ``YYYY/MM/DD``, and ``MM/DD/YYYY`` (US
order; ``--day-first`` reads ``DD/MM/YYYY`` and ``DD.MM.YYYY``), with or without
leading zeros; anything else, or an impossible date, is null and reported.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import polars as pl
from nicknames import NickNamer

SUFFIXES = {
    "JR": "JR",
    "JNR": "JR",
    "JUNIOR": "JR",
    "SR": "SR",
    "SNR": "SR",
    "SENIOR": "SR",
    "I": "I",
    "II": "II",
    "2ND": "II",
    "III": "III",
    "3RD": "III",
    "IV": "IV",
    "4TH": "IV",
    "V": "V",
}
_ISO_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d")
_US_FORMATS = ("%m/%d/%Y", "%m-%d-%Y")
_DAY_FIRST_FORMATS = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")


def ascii_upper(value: str) -> str:
    """Accents dropped, upper case, only letters, digits, spaces, hyphens and apostrophes."""
    decomposed = unicodedata.normalize("NFKD", value)
    kept = []
    for char in decomposed:
        if unicodedata.combining(char):
            continue
        if char.isalnum() or char in " -'":
            kept.append(char)
        elif char in ".,;/":
            kept.append(" ")
    text = "".join(kept).encode("ascii", "ignore").decode("ascii").upper()
    return " ".join(text.split())


def clean_name(column: str) -> pl.Expr:
    """Polars expression: the cleaned name, null when empty."""
    cleaned = pl.col(column).map_elements(ascii_upper, return_dtype=pl.String, skip_nulls=True)
    return pl.when(cleaned == "").then(None).otherwise(cleaned).alias(column)


def split_suffix(frame: pl.DataFrame) -> pl.DataFrame:
    """Move a trailing generational suffix out of last/first names; normalise ``suffix``."""
    suffix = pl.col("suffix") if "suffix" in frame.columns else pl.lit(None, dtype=pl.String)
    out = frame.with_columns(suffix.alias("suffix"))
    for column in ("last_name", "first_name"):
        words = pl.col(column).str.split(" ")
        tail = words.list.last()
        is_suffix = tail.is_in(list(SUFFIXES)) & (words.list.len() > 1)
        out = out.with_columns(
            pl.when(is_suffix & pl.col("suffix").is_null())
            .then(tail)
            .otherwise(pl.col("suffix"))
            .alias("suffix"),
            pl.when(is_suffix)
            .then(words.list.head(words.list.len() - 1).list.join(" "))
            .otherwise(pl.col(column))
            .alias(column),
        )
    return out.with_columns(
        pl.col("suffix").replace_strict(SUFFIXES, default=pl.col("suffix")).alias("suffix")
    )


@cache
def _namer() -> NickNamer:
    return NickNamer()


def name_variants(name: str) -> list[str]:
    """The name, the names it is a nickname of, and its nicknames, upper case, sorted."""
    lower = name.lower()
    namer = _namer()
    found = {lower} | namer.canonicals_of(lower) | namer.nicknames_of(lower)
    return sorted(v.upper() for v in found)


def canonical_first_name(name: str) -> str:
    """The one canonical form when the nickname table names exactly one, else the name."""
    namer = _namer()
    canonicals = namer.canonicals_of(name.lower())
    if len(canonicals) == 1:
        (only,) = canonicals
        if len(only) > len(name):  # the table lists pairs both ways; nicknames are shorter
            return only.upper()
    return name


def add_first_name_variants(frame: pl.DataFrame) -> pl.DataFrame:
    """``first_name_variants`` (list) and ``first_name_canonical`` from ``first_name``."""
    names = frame["first_name"].drop_nulls().unique().to_list()
    variants = {n: name_variants(n) for n in names}
    canonical = {n: canonical_first_name(n) for n in names}
    return frame.with_columns(
        pl.col("first_name")
        .replace_strict(variants, default=None, return_dtype=pl.List(pl.String))
        .alias("first_name_variants"),
        pl.col("first_name")
        .replace_strict(canonical, default=None, return_dtype=pl.String)
        .alias("first_name_canonical"),
    )


def parse_dates(column: str, *, day_first: bool = False) -> pl.Expr:
    """The first of the accepted formats that parses (module docstring); null otherwise."""
    text = pl.col(column).str.strip_chars()
    formats = _ISO_FORMATS + (_DAY_FIRST_FORMATS if day_first else _US_FORMATS)
    parsed = [text.str.to_date(fmt, strict=False) for fmt in formats]
    return pl.coalesce(parsed).alias(column)
