"""Data tables and small edits behind the simulated voter roll (``roll.py``).

Names carry the US-census frequencies that Faker ships as data
(``faker.providers.person.en_US.Provider``: 381 female and 322 male first names
and 1,000 surnames, each with its weight); nicknames come from the maintained
table of the ``nicknames`` package; the adult age pyramid is a coarse reading
of the US Census Bureau's 2020 resident population by single year of age, and
mortality by age follows Gompertz's law (Gompertz 1825) fitted to a death rate
of about 1 % a year at 60. Nothing here calls Faker's random API: every draw
uses the caller's numpy generator, so the roll depends on the seed alone.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl
from faker.providers.address.en_US import Provider as AddressProvider
from faker.providers.person.en_US import Provider as PersonProvider
from nicknames import NickNamer
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
StrArray = NDArray[np.str_]
BoolArray = NDArray[np.bool_]

NAME = "<U20"  # wide enough for any name plus one inserted letter
DAYS_PER_YEAR = 365.2425
MIN_AGE, MAX_AGE = 18, 100

#: Relative population by age (US Census 2020 shape, read coarsely): flat through
#: working ages, thinning after 65; linear between the anchors.
AGE_ANCHORS = ((18, 1.00), (30, 1.05), (40, 1.00), (50, 0.97), (60, 1.02), (65, 0.95),
               (70, 0.80), (75, 0.60), (80, 0.42), (85, 0.26), (90, 0.12), (95, 0.04),
               (100, 0.008))  # fmt: skip

#: Gompertz hazard h(a) = exp(GOMPERTZ_A + GOMPERTZ_B * a): 1 % at 60, ~11 % at 85.
GOMPERTZ_A, GOMPERTZ_B = -10.24, 0.094

STREET_BASES = ("MAIN", "OAK", "MAPLE", "PINE", "CEDAR", "ELM", "WALNUT", "CHESTNUT", "HICKORY",
                "BIRCH", "WILLOW", "SPRUCE", "POPLAR", "MAGNOLIA", "DOGWOOD", "SYCAMORE", "LAUREL",
                "HOLLY", "CHURCH", "MILL", "SCHOOL", "RIVER", "LAKE", "HILL", "RIDGE", "VALLEY",
                "SPRING", "MEADOW", "FOREST", "PARK", "UNION", "MARKET", "FRONT", "HIGH", "CENTER",
                "BROAD", "WATER", "BRIDGE", "STATION", "SUNSET", "LIBERTY", "FRANKLIN")  # fmt: skip
STREET_SUFFIXES = ("ST", "AVE", "RD", "DR", "LN", "CT", "WAY", "BLVD", "PL", "CIR", "TER", "PKWY")
ORDINALS = tuple(f"{n}{dict(enumerate(('TH', 'ST', 'ND', 'RD'))).get(n % 10, 'TH')}"
                 if n not in (11, 12, 13) else f"{n}TH" for n in range(1, 41))  # fmt: skip


def age_weights(low: int = MIN_AGE, high: int = MAX_AGE) -> tuple[IntArray, FloatArray]:
    """Ages ``low..high`` (whole years) and their probabilities among adults."""
    ages = np.arange(low, high + 1, dtype=np.int64)
    xs, ys = zip(*AGE_ANCHORS, strict=True)
    weight = np.interp(ages, xs, ys)
    return ages, weight / weight.sum()


def hazard(age_years: FloatArray) -> FloatArray:
    """Gompertz (1825) force of mortality per year at ``age_years``."""
    out: FloatArray = np.exp(GOMPERTZ_A + GOMPERTZ_B * age_years)
    return out


def draw_age_days(
    rng: np.random.Generator,
    size: int,
    low: int = MIN_AGE,
    high: int = MAX_AGE,
    *,
    dying: bool = False,
) -> IntArray:
    """Ages in days: a year from the pyramid (times the hazard if ``dying``), then a uniform day."""
    ages, p = age_weights(low, high)
    if dying:
        p = p * hazard(ages.astype(np.float64))
        p = p / p.sum()
    years = rng.choice(ages, size=size, p=p)
    fraction = rng.random(size) * (1 - 2 / 365)  # keeps every age within [low, high + 1) years
    return 1 + np.floor((years + fraction) * DAYS_PER_YEAR).astype(np.int64)


@dataclass(frozen=True)
class NameTable:
    """Names (upper case) and their normalised frequencies, in Faker's order."""

    names: StrArray
    p: FloatArray

    def draw(self, rng: np.random.Generator, size: int) -> IntArray:
        return rng.choice(len(self.names), size=size, p=self.p)


def _table(weights: dict[str, float]) -> NameTable:
    names = np.array([name.upper() for name in weights], dtype=np.str_)
    p = np.array(list(weights.values()), dtype=np.float64)
    return NameTable(names=names, p=p / p.sum())


@cache
def first_names(sex: str) -> NameTable:
    """First names of women (``"F"``) or men (``"M"``) with census weights."""
    source = PersonProvider.first_names_female if sex == "F" else PersonProvider.first_names_male
    return _table(dict(source))


@cache
def last_names() -> NameTable:
    """The 1,000 most common US surnames with census weights."""
    return _table(dict(PersonProvider.last_names))


@cache
def _nicknamer() -> NickNamer:
    return NickNamer()


@cache
def nicknames_of(name: str) -> tuple[str, ...]:
    """Nicknames of an upper-case first name from the ``nicknames`` package, sorted."""
    found = _nicknamer().nicknames_of(name.lower())
    return tuple(sorted({nick.upper() for nick in found if nick.isalpha()} - {name}))


@cache
def related_names(name: str) -> frozenset[str]:
    """An upper-case first name, its nicknames and the names it is a nickname of."""
    lower = name.lower()
    found = {lower} | _nicknamer().nicknames_of(lower) | _nicknamer().canonicals_of(lower)
    return frozenset(n.upper() for n in found)


def other_name(rng: np.random.Generator, table: NameTable, name: str, *, similar: bool) -> str:
    """A name of ``table`` other than ``name`` or its nickname forms, by frequency (same
    initial if ``similar``): parents do not name twins RICHARD and RICKY."""
    keep = ~np.isin(table.names, sorted(related_names(name)))
    if similar and (keep & np.char.startswith(table.names, name[:1])).any():
        keep &= np.char.startswith(table.names, name[:1])
    index = np.flatnonzero(keep)
    weight = table.p[index] / table.p[index].sum()
    return str(table.names[rng.choice(index, p=weight)])


def one_edit(words: StrArray, rng: np.random.Generator) -> StrArray:
    """Each word with one typing error: substitution, deletion, insertion or transposition.

    The result is always at Damerau-Levenshtein distance 1 from the word (the
    single-error model of Damerau 1964); empty words stay empty.
    """
    n = len(words)
    op, where, letter = rng.integers(0, 4, n), rng.random(n), rng.integers(0, 25, n)
    out = []
    for word, kind, at, shift in zip(words.tolist(), op, where, letter, strict=True):
        size = len(word)
        if size == 0:
            out.append(word)
            continue
        i = min(int(at * size), size - 1)
        if kind == 1 and size > 1:  # deletion
            out.append(word[:i] + word[i + 1 :])
        elif kind == 2:  # insertion of a letter after position i
            out.append(word[: i + 1] + string.ascii_uppercase[shift] + word[i + 1 :])
        elif kind == 3 and size > 1 and word[min(i, size - 2)] != word[min(i, size - 2) + 1]:
            j = min(i, size - 2)
            out.append(word[:j] + word[j + 1] + word[j] + word[j + 2 :])
        else:  # substitution by a different letter
            old = string.ascii_uppercase.find(word[i])
            new = string.ascii_uppercase[(max(old, 0) + 1 + int(shift)) % 26]
            out.append(word[:i] + new + word[i + 1 :])
    return np.array(out, dtype=np.str_) if out else words.copy()


def swap_day_month(days: IntArray) -> tuple[IntArray, NDArray[np.bool_]]:
    """Dates (days since 1970) with day and month exchanged where that is another valid date."""
    dates = days.astype("datetime64[D]")
    years = dates.astype("datetime64[Y]")
    month = (dates.astype("datetime64[M]") - years.astype("datetime64[M]")).astype(np.int64) + 1
    day = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    ok = (day <= 12) & (day != month)
    swapped_month = years.astype("datetime64[M]") + (day - 1)
    swapped = swapped_month.astype("datetime64[D]") + (month - 1)
    out = np.where(ok, swapped.astype(np.int64), days)
    return out.astype(np.int64), ok


@dataclass(frozen=True)
class Places:
    """Cities (with county, weight and street range) and their streets (with zip)."""

    city: StrArray
    county: StrArray  # county name of each city
    city_p: FloatArray  # share of households living in each city
    street_start: IntArray  # first street of each city in ``street``
    street_count: IntArray
    street: StrArray  # every city's streets, one block per city
    street_zip: StrArray


def _unique(candidates: list[str], count: int) -> list[str]:
    seen = list(dict.fromkeys(candidates))
    if len(seen) < count:
        raise ValueError("not enough distinct place names")  # pragma: no cover - tables are large
    return seen[:count]


def draw_places(rng: np.random.Generator, households: int) -> Places:
    """A state's geography sized for ``households``: Zipf-sized cities, counties, streets, zips."""
    n_city = int(np.clip(households // 1200, 5, 800))
    n_county = max(2, n_city // 6)
    surnames = last_names().names
    bases = np.concatenate([surnames[:400], first_names("M").names[:100], STREET_BASES])
    stems = rng.permutation(np.tile(bases[:500], 3))
    suffixes = rng.choice(np.array(AddressProvider.city_suffixes, dtype=np.str_), size=len(stems))
    prefix = rng.choice(np.array(AddressProvider.city_prefixes, dtype=np.str_), size=len(stems))
    with_prefix = rng.random(len(stems)) < 0.15
    cities = [
        (f"{p.upper()} " if wp else "") + f"{s}{x.upper()}"
        for s, x, p, wp in zip(stems, suffixes, prefix, with_prefix, strict=True)
    ]
    city = np.array(_unique(cities, n_city), dtype=np.str_)
    county_names = np.array(_unique(list(rng.permutation(surnames[:200])), n_county), np.str_)
    county_of = np.concatenate([rng.permutation(n_county), rng.integers(0, n_county, n_city)])
    weight = 1.0 / np.arange(1, n_city + 1) ** 0.9
    city_p = rng.permutation(weight / weight.sum())

    pool = np.array(
        [f"{b} {s}" for b in (*STREET_BASES, *ORDINALS, *surnames[:300]) for s in STREET_SUFFIXES],
        dtype=np.str_,
    )
    expected = city_p * households
    count = np.minimum(len(pool), 15 + (expected // 12).astype(np.int64))
    streets = [pool[rng.choice(len(pool), size=int(k), replace=False)] for k in count]
    zips_per_city = 1 + (expected // 4000).astype(np.int64)
    first_zip = 27001 + np.cumsum(zips_per_city + rng.integers(0, 3, n_city)) - zips_per_city
    street_zip = [
        (first_zip[c] + rng.integers(0, zips_per_city[c], int(k))).astype(np.str_)
        for c, k in enumerate(count)
    ]
    return Places(
        city=city,
        county=county_names[county_of[:n_city]],
        city_p=city_p,
        street_start=np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64),
        street_count=count.astype(np.int64),
        street=np.concatenate(streets),
        street_zip=np.concatenate(street_zip),
    )


def draw_addresses(
    rng: np.random.Generator, places: Places, city: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """A distinct (street, house number, apartment) for each entry of ``city``.

    House numbers are log-uniform in 1..9,999 and 15 % of homes are apartments
    (``APT 1``..``APT 60``); collisions are redrawn until every address is unique.
    """
    n = len(city)
    street = np.zeros(n, dtype=np.int64)
    number = np.zeros(n, dtype=np.int64)
    unit = np.zeros(n, dtype=np.int64)
    todo = np.arange(n)
    while todo.size:
        k = todo.size
        c = city[todo]
        street[todo] = places.street_start[c] + (rng.random(k) * places.street_count[c]).astype(
            np.int64
        )
        number[todo] = np.floor(10 ** rng.uniform(0.0, 4.0, k)).astype(np.int64)
        unit[todo] = np.where(rng.random(k) < 0.15, rng.integers(1, 61, k), 0)
        key = (street * 10_000 + number) * 100 + unit
        _, first = np.unique(key, return_index=True)
        repeat = np.ones(n, dtype=bool)
        repeat[first] = False
        todo = np.flatnonzero(repeat)
    return street, number, unit


def address_text(places: Places, street: IntArray, number: IntArray, unit: IntArray) -> pl.Series:
    """Street addresses as a voter file writes them: ``1234 MAPLE AVE APT 5``."""
    frame = pl.DataFrame({"n": number, "s": places.street[street], "u": unit})
    apt = pl.when(pl.col("u") > 0).then(pl.format(" APT {}", pl.col("u"))).otherwise(pl.lit(""))
    text = pl.concat_str(pl.col("n").cast(pl.String), pl.lit(" "), pl.col("s"), apt)
    return frame.select(text.alias("address")).to_series()


#: Variations a second record may carry, in the order they are applied and listed.
VARIATIONS = ("nickname", "typo_first", "surname_changed", "maiden_name_as_middle", "typo_last",
              "middle_dropped", "suffix_dropped", "dob_day_month_swapped")  # fmt: skip


@dataclass(frozen=True)
class Rates:
    """Per-record chances of each variation (``roll.RollConfig`` holds the user's values)."""

    nickname: float = 0.0
    typo: float = 0.0
    middle_missing: float = 0.0
    suffix_missing: float = 0.0
    dob_swap: float = 0.0
    twin_similar: float = 0.0  # twins' first names share the initial
    lone_suffix: float = 0.0  # men outside Jr/Sr pairs with JR, II or III


@dataclass(frozen=True)
class Record:
    """Name and birth-date fields of a batch of records (days since 1970 for ``dob``)."""

    first: StrArray
    middle: StrArray
    last: StrArray
    suffix: StrArray
    dob: IntArray


def vary(
    rng: np.random.Generator,
    record: Record,
    rates: Rates,
    *,
    male: NDArray[np.bool_],
    name_change: NDArray[np.bool_],
) -> tuple[Record, dict[str, NDArray[np.bool_]]]:
    """Another record of the same people, and which variations each received.

    A nickname replaces the first name where the ``nicknames`` table has one; a
    name change draws a new surname (for half of the women the old surname
    becomes the middle name); typing errors are single edits (``one_edit``); a
    day/month swap happens only where it gives another valid date.
    """
    first, middle, last = record.first.copy(), record.middle.copy(), record.last.copy()
    suffix = record.suffix.copy()
    n = len(first)
    u = rng.random((8, n))
    flag = {name: np.zeros(n, dtype=bool) for name in VARIATIONS}
    for i in np.flatnonzero(u[0] < rates.nickname).tolist():
        nicks = nicknames_of(str(first[i]))
        if nicks:
            first[i], flag["nickname"][i] = nicks[int(u[7, i] * len(nicks))], True
    flag["typo_first"] = u[1] < rates.typo
    first[flag["typo_first"]] = one_edit(first[flag["typo_first"]], rng)
    change = np.flatnonzero(name_change)
    table = last_names()
    new = table.names[table.draw(rng, len(change))]
    while (same := new == last[change]).any():
        new[same] = table.names[table.draw(rng, int(same.sum()))]
    maiden = change[(u[6, change] < 0.5) & ~male[change]]
    middle[maiden], last[change] = last[maiden], new
    flag["surname_changed"][change] = True
    flag["maiden_name_as_middle"][maiden] = True
    flag["typo_last"] = u[2] < rates.typo
    last[flag["typo_last"]] = one_edit(last[flag["typo_last"]], rng)
    flag["middle_dropped"] = (u[3] < rates.middle_missing) & (middle != "")
    flag["middle_dropped"] &= ~flag["maiden_name_as_middle"]
    middle[flag["middle_dropped"]] = ""
    flag["suffix_dropped"] = (u[4] < rates.suffix_missing) & (suffix != "")
    suffix[flag["suffix_dropped"]] = ""
    swapped, valid = swap_day_month(record.dob)
    flag["dob_day_month_swapped"] = (u[5] < rates.dob_swap) & valid
    dob = np.where(flag["dob_day_month_swapped"], swapped, record.dob)
    return Record(first, middle, last, suffix, dob), flag


def given_names(rng: np.random.Generator, male: BoolArray) -> StrArray:
    """First (or middle) names drawn by sex with census frequencies."""
    women, men = first_names("F"), first_names("M")
    n = len(male)
    return np.where(male, men.names[men.draw(rng, n)], women.names[women.draw(rng, n)]).astype(NAME)


def _distinct_in_household(
    rng: np.random.Generator,
    first: StrArray,
    male: BoolArray,
    household: IntArray,
    *,
    keep: IntArray,
) -> StrArray:
    """First names redrawn until no two members of a household share one (``keep`` excepted)."""
    first = first.copy()
    exempt = np.zeros(len(first), dtype=bool)
    exempt[keep] = True
    for _ in range(100):
        frame = pl.DataFrame({"h": household, "f": first})
        repeated = ~frame.select(pl.col("f").is_first_distinct().over("h")).to_series().to_numpy()
        todo = np.flatnonzero(repeated & ~exempt)
        if not todo.size:
            break
        first[todo] = given_names(rng, male[todo])
    return first


def family_names(
    rng: np.random.Generator,
    male: BoolArray,
    household: IntArray,
    households: int,
    *,
    father: IntArray,
    son: IntArray,
    second_twin: IntArray,
    lone: BoolArray,
    rates: Rates,
) -> tuple[StrArray, StrArray, StrArray, StrArray, StrArray]:
    """First, full middle, shown middle, last name and suffix of every person.

    A household shares one surname; no two members share a first name (parents do not
    give two children, or a child and themselves, one name, except the JR named after
    his father); a son (JR) has his father's (SR) first and
    middle names, and one of the two suffixes is missing with ``suffix_missing``;
    a second twin (the person after the first) gets another first name, not a
    nickname form of the first twin's, with the same initial at rate
    ``twin_similar``. The roll shows 65 % of middle names in full, 20 % as an
    initial and 15 % not at all; 8 % of people have none.
    """
    n = len(male)
    first, middle = given_names(rng, male), given_names(rng, male)
    middle[rng.random(n) < 0.08] = ""
    style = rng.choice(3, size=n, p=[0.65, 0.20, 0.15])
    shown = np.where(style == 0, middle, np.where(style == 1, middle.astype("<U1"), ""))
    shown = shown.astype(NAME)
    last = last_names().names[last_names().draw(rng, households)][household].astype(NAME)
    first = _distinct_in_household(rng, first, male, household, keep=son)
    first[son], middle[son], shown[son] = first[father], middle[father], shown[father]
    similar = rng.random(len(second_twin)) < rates.twin_similar
    for b, like in zip(second_twin.tolist(), similar.tolist(), strict=True):
        if like or str(first[b]) in related_names(str(first[b - 1])):
            table = first_names("M" if male[b] else "F")
            first[b] = other_name(rng, table, str(first[b - 1]), similar=like)
    suffix = np.full(n, "", dtype="<U3")
    suffix[father], suffix[son] = "SR", "JR"
    blank = rng.random(len(son)) < rates.suffix_missing
    suffix[np.where(rng.random(len(son)) < 0.5, son, father)[blank]] = ""
    alone = male & lone & (rng.random(n) < rates.lone_suffix)
    suffix[alone] = rng.choice(np.array(["JR", "II", "III"]), int(alone.sum()), p=[0.7, 0.15, 0.15])
    return first, middle, shown, last, suffix
