"""A simulated voter roll with known truth: households, twins, Jr/Sr, duplicates, deaths.

``simulate_roll(RollConfig(...))`` draws, vectorised, a state's list of
registered adults: people in households that share a surname and an address,
with twins (same birth date, different first names) and fathers and sons of the
same full name (JR/SR) as the look-alikes that defeat naive matching; a share of
people registered twice after a move, a name change or a clerical re-entry, each
second record with the typing errors (Damerau 1964), nicknames, dropped middle
names and day/month swaps that record-linkage studies report (Christen 2012,
*Data Matching*, ch. 3); and a death file listing some registrants, with
variations, among people who were never on the roll. Names follow US-census
frequencies, so chance coincidences of name and birth date occur as often as the
birthday-problem arithmetic says (McDonald & Levitt 2008; Goel et al. 2020).

Seeding follows ``units.py``: SHA-256 of the seed text seeds a
``SeedSequence`` whose children drive named PCG64 streams.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tallyguard.io.atomic import write_file_atomically
from tallyguard.io.jsonfile import validation_error
from tallyguard.simulate import roll_names as rn
from tallyguard.simulate.roll_names import BoolArray, IntArray, StrArray

STREAMS = ("people", "places", "duplicates", "variations", "addresses", "deaths", "ids")
VOTER_COLUMNS = ("voter_id", "first_name", "middle_name", "last_name", "suffix", "dob", "sex",
                 "address", "city", "zip", "county", "registration_date")  # fmt: skip
TRUTH_COLUMNS = ("voter_id", "person_id", "household_id", "role", "look_alike", "registration",
                 "cause", "variations", "deceased")  # fmt: skip
DEATH_COLUMNS = ("record_id", "first_name", "middle_name", "last_name", "dob", "date_of_death")
CAUSES = ("moved", "name_change", "clerical")
FILES = ("voters.csv", "deaths.csv", "truth/voters.csv", "truth/pairs.csv", "truth/deaths.csv",
         "truth/config.json")  # fmt: skip

HEAD, SPOUSE, CHILD, TWIN, SR, JR = range(6)
ROLES = ("head", "spouse", "child", "twin", "sr", "jr")
LOOK_ALIKE = ("", "", "", "twin", "jr_sr", "jr_sr")
#: Household templates: 0-4 ordinary (shares REGULAR_P), 5-7 twins, 8-9 father and son.
TEMPLATES = ((HEAD,), (HEAD, SPOUSE), (HEAD, SPOUSE, CHILD), (HEAD, SPOUSE, CHILD, CHILD),
             (HEAD, CHILD), (TWIN, TWIN), (HEAD, TWIN, TWIN), (HEAD, SPOUSE, TWIN, TWIN),
             (SR, JR), (SR, SPOUSE, JR))  # fmt: skip
REGULAR_P = (0.36, 0.40, 0.12, 0.05, 0.07)
LENGTH = np.array([len(t) for t in TEMPLATES], dtype=np.int64)
OFFSET = np.concatenate([[0], np.cumsum(LENGTH)[:-1]])
FLAT_ROLES = np.array([r for t in TEMPLATES for r in t], dtype=np.int64)
YEAR = rn.DAYS_PER_YEAR


class RollConfig(BaseModel):
    """Parameters of a simulated roll; every one has a realistic default.

    Rates of look-alikes are shares of people (``twin_rate=0.008``: 0.8 % of
    registrants are one of a twin pair living together); ``duplicate_rate`` is
    the chance that a person has a second registration; ``move_rate`` and
    ``name_change_rate`` split those second registrations by cause (the rest are
    clerical re-entries); the variation rates apply to each second record and
    each death record of a registrant independently.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: str = Field(default="1", min_length=1)
    records: int = Field(default=100_000, ge=100, le=20_000_000)
    as_of: date = date(2026, 7, 1)
    duplicate_rate: float = Field(default=0.02, ge=0.0, le=0.5)
    twin_rate: float = Field(default=0.008, ge=0.0, le=0.2)
    jr_sr_rate: float = Field(default=0.01, ge=0.0, le=0.2)
    twin_similar_rate: float = Field(default=0.3, ge=0.0, le=1.0)
    suffix_missing_rate: float = Field(default=0.25, ge=0.0, le=1.0)
    lone_suffix_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    move_rate: float = Field(default=0.6, ge=0.0, le=1.0)
    name_change_rate: float = Field(default=0.15, ge=0.0, le=1.0)
    typo_rate: float = Field(default=0.1, ge=0.0, le=1.0)
    nickname_rate: float = Field(default=0.1, ge=0.0, le=1.0)
    middle_missing_rate: float = Field(default=0.2, ge=0.0, le=1.0)
    dob_swap_rate: float = Field(default=0.03, ge=0.0, le=1.0)
    death_rate: float = Field(default=0.01, ge=0.0, le=0.5)
    nonregistrant_death_rate: float = Field(default=0.03, ge=0.0, le=1.0)
    death_window_days: int = Field(default=730, ge=1, le=3650)

    @model_validator(mode="after")
    def _check(self) -> RollConfig:
        if self.move_rate + self.name_change_rate > 1:
            raise ValueError("move_rate + name_change_rate must not exceed 1")
        return self


def parse_roll_config(data: Mapping[str, Any], *, source: str = "options") -> RollConfig:
    """Validate raw parameters, turning pydantic's report into an :class:`InputError`."""
    try:
        return RollConfig.model_validate(data)
    except ValidationError as error:
        raise validation_error(error, file=source) from None


@dataclass(frozen=True)
class SimulatedRoll:
    """The roll, the death file and the truth behind them.

    ``truth`` has one row per voter record in the order of ``voters``
    (``voter_id, person_id, household_id, role, look_alike, registration,
    cause, variations, deceased``); ``pairs`` lists every true duplicate pair,
    every (voter_id, death record_id) pair, and the twin and Jr/Sr pairs (first
    registrations of two different people: look-alikes, not duplicates);
    ``death_truth`` gives each death record's person (empty: not a registrant).
    """

    config: RollConfig
    voters: pl.DataFrame
    deaths: pl.DataFrame
    truth: pl.DataFrame
    pairs: pl.DataFrame
    death_truth: pl.DataFrame

    @property
    def person_id(self) -> pl.Series:
        return self.truth["person_id"]

    def pairs_of(self, kind: str) -> list[tuple[str, str]]:
        """(id_l, id_r) of one ``kind``: duplicate, death, twin or jr_sr."""
        chosen = self.pairs.filter(pl.col("kind") == kind)
        return list(zip(chosen["id_l"].to_list(), chosen["id_r"].to_list(), strict=True))


def random_streams(seed: str) -> dict[str, np.random.Generator]:
    """PCG64 generators seeded from SHA-256 of the UTF-8 seed text, one per stream."""
    entropy = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest(), "big")
    children = np.random.SeedSequence(entropy).spawn(len(STREAMS))
    return {
        n: np.random.Generator(np.random.PCG64(s)) for n, s in zip(STREAMS, children, strict=True)
    }


def _households(rng: np.random.Generator, config: RollConfig, people: int) -> IntArray:
    """Template of each household: twin and Jr/Sr homes first, ordinary ones fill to ``people``."""
    twins = rng.binomial(people // 2, config.twin_rate)
    fathers = rng.binomial(people // 2, config.jr_sr_rate)
    special = np.concatenate(
        [5 + rng.choice(3, twins, p=[0.5, 0.2, 0.3]), 8 + rng.choice(2, fathers, p=[0.5, 0.5])]
    ).astype(np.int64)
    special = special[np.cumsum(LENGTH[special]) <= people]  # only tiny rolls ever need this
    left = people - int(LENGTH[special].sum())
    regular = rng.choice(len(REGULAR_P), size=left, p=REGULAR_P)
    cum = np.cumsum(LENGTH[regular])
    count = int(np.searchsorted(cum, left)) + 1 if left else 0
    return np.concatenate([special, regular[:count]]).astype(np.int64)


def _select(role: IntArray, choices: dict[int, Any], default: Any) -> Any:
    return np.select([role == r for r in choices], list(choices.values()), default)


@dataclass(frozen=True)
class _People:
    """One entry per person (first registration); ages in days on ``as_of``."""

    household: IntArray
    households: int
    role: IntArray
    male: BoolArray
    age: IntArray
    first: StrArray
    middle: StrArray  # full middle name (death records show it)
    shown: StrArray  # the middle name as the roll shows it: full, initial or none
    last: StrArray
    suffix: StrArray


def _people(rng: np.random.Generator, config: RollConfig, n: int) -> _People:
    """Every person's household, role, sex, names and age in days on ``as_of``."""
    template = _households(rng, config, n)
    size = LENGTH[template].copy()
    size[-1] -= int(size.sum()) - n  # the last ordinary household may be cut short
    h = len(template)
    household = np.repeat(np.arange(h), size)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    within = np.arange(n) - start[household]
    role = FLAT_ROLES[OFFSET[template[household]] + within]
    second = within > 0
    second[1:] &= role[:-1] == role[1:]  # second child, second twin
    second[0] = False

    adult, oldest = int(18 * YEAR), int(101 * YEAR) - 1
    young = np.where(template == 5, rn.draw_age_days(rng, h), rn.draw_age_days(rng, h, 18, 58))
    gap = (rng.uniform(20, np.where(template >= 8, 40, 38)) * YEAR).astype(np.int64)
    parent = np.where(template >= 2, young + gap, rn.draw_age_days(rng, h))
    # spouses and second children are reflected, not clipped, into the allowed ages
    step = (np.abs(rng.normal(0, 3.5, h)) * YEAR).astype(np.int64)
    low = np.where(template >= 2, young, 0) + adult
    spouse = np.where(rng.random(h) < 0.5, parent + step, parent - step)
    spouse = np.where(spouse < low, parent + step, np.where(spouse > oldest, parent - step, spouse))
    spouse = np.clip(spouse, low, oldest)
    offset = (rng.uniform(-3, 2, h) * YEAR).astype(np.int64)
    sibling = np.where(young + offset < adult, young - offset * 2 // 3, young + offset)
    young_p = np.where((role == CHILD) & second, sibling[household], young[household])
    age = _select(role, {HEAD: parent[household], SR: parent[household],
                         SPOUSE: spouse[household]}, young_p).astype(np.int64)  # fmt: skip

    male_head = (rng.random(h) < 0.5) | (template >= 8)
    male_spouse = np.where(rng.random(h) < 0.95, ~male_head, male_head) & (template < 8)
    twin_kind = rng.integers(0, 3, h)[household]  # FF, MM, FM
    twin_male = np.where(second, twin_kind == 1, twin_kind >= 1)
    male = _select(role, {HEAD: male_head[household], SPOUSE: male_spouse[household], SR: True,
                          JR: True, TWIN: twin_male}, rng.random(n) < 0.5).astype(bool)  # fmt: skip

    jr = np.flatnonzero(role == JR)
    names = rn.family_names(
        rng, male, household, h, father=start[household[jr]], son=jr,
        second_twin=np.flatnonzero((role == TWIN) & second), lone=~np.isin(role, (SR, JR)),
        rates=_rates(config),
    )  # fmt: skip
    return _People(household, h, role, male, age, *names)


def _rates(config: RollConfig, *, death: bool = False) -> rn.Rates:
    """The variation rates; death records carry legal names (no nickname, suffix kept)."""
    c = config
    return rn.Rates(0.0 if death else c.nickname_rate, c.typo_rate, c.middle_missing_rate,
                    0.0 if death else c.suffix_missing_rate, c.dob_swap_rate, c.twin_similar_rate,
                    c.lone_suffix_rate)  # fmt: skip


def _variation_text(flag: dict[str, BoolArray]) -> pl.Series:
    parts = [pl.when(pl.col(c)).then(pl.lit(c)) for c in rn.VARIATIONS]
    text = pl.DataFrame(flag).select(pl.concat_str(parts, separator=";", ignore_nulls=True))
    return text.to_series().fill_null("").alias("variations")


def _ids(prefix: str, numbers: IntArray, width: int) -> pl.Series:
    digits = pl.Series(numbers + 1).cast(pl.String).str.zfill(width)
    return pl.select(pl.lit(prefix) + digits).to_series()


def _dates(days: IntArray) -> pl.Series:
    return pl.Series(days.astype(np.int32)).cast(pl.Date).dt.to_string("%Y-%m-%d")


#: Share of men among people who change surname at marriage. Pew Research Center (2023,
#: "About 8 in 10 women in opposite-sex marriages say they took their husband's last
#: name"): 79 % of married women took their husband's surname and 5 % of married men
#: took their wife's, so about 5 / (79 + 5) of the name changes are men's.
MALE_SHARE_OF_NAME_CHANGES = 5 / 84


def _second(
    rng: np.random.Generator, config: RollConfig, n_dup: int, reg: IntArray, latest: int,
    home: IntArray, places: rn.Places, male: BoolArray,
) -> tuple[IntArray, IntArray, BoolArray, IntArray, IntArray]:  # fmt: skip
    """Who registered twice (sorted), why (a move, a name change, half of them with a move, or a
    clerical re-entry), whether at a new address, when, and in which city.

    The number of name changes is binomial with ``name_change_rate``; they fall on women and
    men in the proportion ``MALE_SHARE_OF_NAME_CHANGES`` (weighted draws without replacement);
    every other second registration is a move with probability
    ``move_rate / (1 - name_change_rate)``, so the shares of the causes keep their rates.
    """
    person = np.sort(rng.choice(len(reg), size=n_dup, replace=False))
    changes = int(rng.binomial(n_dup, config.name_change_rate))
    share = MALE_SHARE_OF_NAME_CHANGES
    weight = np.where(male[person], share, 1.0 - share)
    changed = np.zeros(0, dtype=np.int64)
    if changes:
        changed = rng.choice(n_dup, size=changes, replace=False, p=weight / weight.sum())
    rest = 1.0 - config.name_change_rate
    move = config.move_rate / rest if rest > 0 else 0.0
    cause = np.where(rng.random(n_dup) < move, 0, 2)
    cause[changed] = 1
    relocate = (cause == 0) | ((cause == 1) & (rng.random(n_dup) < 0.5))
    first = reg[person]
    later = first + 30 + np.floor(rng.random(n_dup) * (np.maximum(latest - first - 30, 0) + 1))
    when = np.where(cause == 2, first + rng.integers(0, 31, n_dup), later.astype(np.int64))
    other = rng.choice(len(places.city), size=n_dup, p=places.city_p)
    city = np.where(rng.random(n_dup) < 0.5, home[person], other)
    return person, cause, relocate, np.clip(when, first, max(latest, 0)), city


def _deaths(
    rng: np.random.Generator, config: RollConfig, people: _People, dob: IntArray,
    last_registered: IntArray, today: int,
) -> tuple[pl.DataFrame, IntArray]:  # fmt: skip
    """Death records of registrants (chosen by Gompertz hazard) and of people never registered.

    Returns the records (the death file's fields, ``person_id``, empty for
    non-registrants, and ``variations`` from the person's own data) and the
    deceased registrants (person indices).
    """
    n = len(dob)
    dead_n = int(rng.binomial(n, config.death_rate))
    keys = rng.exponential(size=n) / rn.hazard(people.age / YEAR)  # Efraimidis-Spirakis
    dead = (
        np.sort(np.argpartition(keys, dead_n - 1)[:dead_n]) if 0 < dead_n < n else np.arange(dead_n)
    )
    low = np.maximum(last_registered[dead] + 1, today - config.death_window_days)
    died = low + np.floor(rng.random(dead_n) * (today - low)).astype(np.int64)
    record = rn.Record(people.first[dead], people.middle[dead], people.last[dead],
                       people.suffix[dead], dob[dead])  # fmt: skip
    varied, flag = rn.vary(rng, record, _rates(config, death=True), male=people.male[dead],
                           name_change=np.zeros(dead_n, dtype=bool))  # fmt: skip
    k = int(rng.binomial(config.records, config.nonregistrant_death_rate))
    male = rng.random(k) < 0.5
    first, middle = rn.given_names(rng, male), rn.given_names(rng, male)
    middle[rng.random(k) < 0.08] = ""
    last = rn.last_names().names[rn.last_names().draw(rng, k)]
    other_died = today - 1 - rng.integers(0, config.death_window_days, k)
    other_dob = other_died - rn.draw_age_days(rng, k, dying=True)
    return pl.DataFrame(
        {
            "first_name": np.concatenate([varied.first, first]),
            "middle_name": np.concatenate([varied.middle, middle]),
            "last_name": np.concatenate([varied.last, last]),
            "dob": _dates(np.concatenate([varied.dob, other_dob])),
            "date_of_death": _dates(np.concatenate([died, other_died])),
            "person_id": pl.concat([_ids("P", dead, 8), pl.Series([""] * k, dtype=pl.String)]),
            "variations": pl.concat([_variation_text(flag), pl.Series([""] * k, dtype=pl.String)]),
        }
    ), dead


def simulate_roll(config: RollConfig) -> SimulatedRoll:
    """Draw a voter roll, a death file and their truth from ``config`` (the seed fixes all)."""
    streams = random_streams(config.seed)
    rate = config.duplicate_rate
    n_dup = int(streams["duplicates"].binomial(config.records, rate / (1 + rate)))
    n = config.records - n_dup
    rng = streams["people"]
    people = _people(rng, config, n)
    today = (config.as_of - date(1970, 1, 1)).days
    latest = today - 31  # the roll closes 30 days before its date
    dob = today - people.age
    earliest = np.minimum(np.maximum(dob + int(18 * YEAR), today - int(60 * YEAR)), latest)
    reg = earliest + np.floor(rng.random(n) * (latest - earliest + 1)).astype(np.int64)

    places = rn.draw_places(streams["places"], people.households)
    home = streams["addresses"].choice(len(places.city), size=people.households, p=places.city_p)
    dup, cause, moved, reg2, new_city = _second(
        streams["duplicates"], config, n_dup, reg, latest, home[people.household], places,
        people.male,
    )  # fmt: skip
    record = rn.Record(people.first[dup], people.shown[dup], people.last[dup], people.suffix[dup],
                       dob[dup])  # fmt: skip
    varied, flag = rn.vary(streams["variations"], record, _rates(config),
                           male=people.male[dup], name_change=cause == 1)  # fmt: skip
    city = np.concatenate([home, new_city[moved]])
    street, number, unit = rn.draw_addresses(streams["addresses"], places, city)
    moved_to: IntArray = people.households + np.cumsum(moved) - 1
    at = np.concatenate([people.household, np.where(moved, moved_to, people.household[dup])])

    last_registered = reg.copy()
    last_registered[dup] = reg2
    deaths, dead = _deaths(streams["deaths"], config, people, dob, last_registered, today)

    records = np.concatenate([np.arange(n), dup])
    ids = streams["ids"]
    frame = pl.DataFrame(
        {
            "voter_id": _ids("V", ids.permutation(config.records), 8),
            "first_name": np.concatenate([people.first, varied.first]),
            "middle_name": np.concatenate([people.shown, varied.middle]),
            "last_name": np.concatenate([people.last, varied.last]),
            "suffix": np.concatenate([people.suffix, varied.suffix]),
            "dob": _dates(np.concatenate([dob, varied.dob])),
            "sex": np.where(people.male[records], "M", "F"),
            "address": rn.address_text(places, street[at], number[at], unit[at]),
            "city": places.city[city[at]],
            "zip": places.street_zip[street[at]],
            "county": places.county[city[at]],
            "registration_date": _dates(np.concatenate([reg, reg2])),
            "person_id": _ids("P", records, 8),
            "household_id": _ids("H", people.household[records], 7),
            "role": np.array(ROLES)[people.role[records]],
            "look_alike": np.array(LOOK_ALIKE)[people.role[records]],
            "registration": np.repeat(["original", "duplicate"], [n, n_dup]),
            "cause": np.concatenate([np.full(n, ""), np.array(CAUSES)[cause]]),
            "variations": pl.concat([pl.Series([""] * n, dtype=pl.String), _variation_text(flag)]),
            "deceased": np.isin(records, dead),
        }
    )
    deaths = deaths.with_columns(record_id=_ids("D", ids.permutation(deaths.height), 7))
    frame = frame.sort("voter_id")
    truth = frame.select(TRUTH_COLUMNS)
    deaths = deaths.sort("record_id")
    death_truth = deaths.select("record_id", "person_id", "variations")
    return SimulatedRoll(
        config=config,
        voters=frame.select(VOTER_COLUMNS),
        deaths=deaths.select(DEATH_COLUMNS),
        truth=truth,
        pairs=_pairs(truth, death_truth),
        death_truth=death_truth,
    )


def _pairs(truth: pl.DataFrame, death_truth: pl.DataFrame) -> pl.DataFrame:
    """Every true pair, derived from the truth table: duplicates, deaths, twins, Jr/Sr."""

    def ordered(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
        low, high = pl.min_horizontal("a", "b"), pl.max_horizontal("a", "b")
        return frame.select(
            id_l=low, id_r=high, kind=pl.lit(kind), cause="cause", variations="variations"
        )

    original = truth.filter(pl.col("registration") == "original")
    duplicate = truth.filter(pl.col("registration") == "duplicate")
    dup = original.select("person_id", a="voter_id").join(
        duplicate.select("person_id", "cause", "variations", b="voter_id"), on="person_id"
    )
    look = []
    for kind in ("twin", "jr_sr"):
        members = original.filter(pl.col("look_alike") == kind).sort("household_id", "person_id")
        grouped = members.group_by("household_id", maintain_order=True).agg(
            a=pl.col("voter_id").first(), b=pl.col("voter_id").last()
        )
        look.append(ordered(grouped.with_columns(cause=pl.lit(""), variations=pl.lit("")), kind))
    death = (
        truth.select("person_id", id_l="voter_id")
        .join(
            death_truth.filter(pl.col("person_id") != "").rename({"record_id": "id_r"}),
            on="person_id",
        )
        .select("id_l", "id_r", kind=pl.lit("death"), cause=pl.lit(""), variations="variations")
    )
    return pl.concat([ordered(dup, "duplicate"), *look, death]).sort("kind", "id_l", "id_r")


def write_roll(roll: SimulatedRoll, directory: Path) -> list[Path]:
    """Write ``FILES`` under ``directory``, each atomically; ``truth/config.json`` re-draws it."""
    directory = Path(directory)
    (directory / "truth").mkdir(parents=True, exist_ok=True)
    frames = (roll.voters, roll.deaths, roll.truth, roll.pairs, roll.death_truth)
    for name, frame in zip(FILES, frames, strict=False):
        buffer = io.BytesIO()
        frame.write_csv(buffer, line_terminator="\n")
        write_file_atomically(directory / name, buffer.getvalue())
    config = json.dumps(roll.config.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    write_file_atomically(directory / FILES[-1], config.encode("utf-8"))
    return [directory / name for name in FILES]
