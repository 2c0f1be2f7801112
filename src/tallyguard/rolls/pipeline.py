"""The four list-maintenance modes, from loaded lists to leads and their figures.

``dedupe`` (duplicate registrations within one roll), ``link`` (one roll against
another), ``deceased`` (a roll against death records) and ``check-claims`` (a
third party's list of allegedly ineligible voters against the roll) all run the
same model (:mod:`tallyguard.rolls.linkage`) and carry the same figures:

* the **leads**: pairs at or above the threshold that no exclusion rule sets
  aside, each with its field-by-field evidence and the recommended due-process
  step (:data:`tallyguard.rolls.safeguards.STEPS`), never a removal;
* **expected false matches** Σ(1 − p) over the leads with its Poisson-binomial
  interval (only as good as the probabilities: check them against a review
  sample);
* **expected chance matches** of the naive rule "same first name, last name and
  date of birth" (the Crosscheck rule) from name frequencies and the birth-date
  distribution (:mod:`tallyguard.rolls.chance`), beside the number of pairs that
  rule finds.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from tallyguard.errors import InputError
from tallyguard.evidence.canonical import sha256_file
from tallyguard.io.csvfile import open_csv
from tallyguard.io.frames import read_string_frame
from tallyguard.rolls.chance import ChanceEstimate, expected_chance_pairs
from tallyguard.rolls.exclusions import DEFAULT_RULES, CalibrationCheck, calibration_check
from tallyguard.rolls.false_matches import FalseMatchEstimate, false_match_estimate
from tallyguard.rolls.linkage import Engine, LinkageResult, link
from tallyguard.rolls.load import LoadedList, load_list
from tallyguard.rolls.safeguards import STEPS, check_quiet_period, mask_dates

Mode = Literal["dedupe", "link", "deceased", "check-claims"]
MODES: tuple[Mode, ...] = ("dedupe", "link", "deceased", "check-claims")

#: The naive rule whose coincidences every report counts (Kansas Crosscheck's rule).
NAIVE_RULE: tuple[str, ...] = ("first_name", "last_name", "dob")

#: The record fields shown side by side in leads.csv, in this order.
LEAD_FIELDS: tuple[str, ...] = (
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "dob",
    "sex",
    "address",
    "city",
    "zip",
)

#: Which list kinds each mode reads, left first.
KINDS: dict[Mode, tuple[str, ...]] = {
    "dedupe": ("voters",),
    "link": ("voters", "voters"),
    "deceased": ("voters", "deaths"),
    "check-claims": ("claims", "voters"),
}

STEP_OF: dict[Mode, str] = {
    "dedupe": STEPS["duplicate"],
    "link": STEPS["link"],
    "deceased": STEPS["deceased"],
    "check-claims": STEPS["claim"],
}

CAVEATS: tuple[str, ...] = (
    "Every pair listed is a lead for review, not a finding that anyone is ineligible: "
    "the recommended step is a notice or an individual check, never a removal.",
    "Match probabilities come from a Fellegi-Sunter model fitted to these lists without "
    "labels; they are over-confident on family look-alikes (twins, parents and children "
    "of one name at one address). Exclusion rules set the known patterns aside, and the "
    "expected false matches are only as good as the probabilities: check a clerical "
    "review sample against them.",
    "The expected chance matches assume that distinct people's birth dates are "
    "independent draws from the list's birth-date distribution within each name; they "
    "count coincidences, not errors in the data.",
    "A pair the model does not flag may still be one person (recall is below 1), and the "
    "lists themselves may be out of date.",
)


@dataclass(frozen=True)
class RollsSettings:
    """Everything besides the input files that determines a run's numbers."""

    mode: Mode
    threshold: float = 0.95
    seed: int = 1
    engine: Engine = "duckdb"
    show_pii: bool = False
    day_first: bool = False
    election_date: dt.date | None = None
    as_of: dt.date | None = None
    columns: tuple[Mapping[str, str], ...] = field(default=())
    chance_rule: tuple[str, ...] = NAIVE_RULE
    review: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["columns"] = [dict(c) for c in self.columns]
        out["chance_rule"] = list(self.chance_rule)
        for key in ("election_date", "as_of"):
            value = getattr(self, key)
            out[key] = None if value is None else value.isoformat()
        return out

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> RollsSettings:
        values = {k: v for k, v in record.items() if k in cls.__dataclass_fields__}
        for key in ("election_date", "as_of"):
            if values.get(key):
                values[key] = dt.date.fromisoformat(values[key])
        values["columns"] = tuple(dict(c) for c in values.get("columns", ()))
        values["chance_rule"] = tuple(values.get("chance_rule", NAIVE_RULE))
        return cls(**values)


@dataclass(frozen=True)
class RollsRun:
    """One run: the loaded lists, the model's pairs, the lead table and the figures."""

    settings: RollsSettings
    lists: tuple[LoadedList, ...]
    result: LinkageResult
    leads: pl.DataFrame
    chance: ChanceEstimate
    false_matches: FalseMatchEstimate
    weights: npt.NDArray[np.float64]
    claims: pl.DataFrame | None = None
    model_notes: tuple[str, ...] = ()
    calibration: CalibrationCheck | None = None

    @property
    def flagged(self) -> pl.DataFrame:
        """Rows of ``leads`` no exclusion rule applies to."""
        return self.leads.filter(pl.col("exclusion").is_null())

    def summary(self) -> dict[str, Any]:
        """The JSON summary (``--json``, ``results.json``)."""
        settings = self.settings
        excluded = self.leads.filter(pl.col("exclusion").is_not_null())
        counts = excluded.group_by("exclusion").len().sort("exclusion")
        quiet = None
        if settings.election_date is not None:
            quiet = quiet_period_note(settings.election_date, settings.as_of or dt.date.today())
        out: dict[str, Any] = {
            "mode": settings.mode,
            "threshold": settings.threshold,
            "seed": settings.seed,
            "engine": settings.engine,
            "inputs": [_input_json(loaded) for loaded in self.lists],
            "pairs_scored": self.result.pairs.height,
            "pairs_flagged": self.flagged.height,
            "pairs_excluded": excluded.height,
            "exclusions": {
                **dict.fromkeys((rule.name for rule in DEFAULT_RULES), 0),
                **dict(zip(counts["exclusion"], counts["len"], strict=True)),
            },
            "expected_false_matches": self.false_matches.expected,
            "false_match_interval": [self.false_matches.low, self.false_matches.high],
            "expected_chance_matches": self.chance.expected,
            "chance_interval": [self.chance.low, self.chance.high],
            "chance_rule": list(self.chance.rule),
            "naive_rule_pairs": self.chance.observed,
            "chance": self.chance.to_json(),
            "false_matches": self.false_matches.to_json(),
            "clusters": None
            if self.result.clusters is None
            else int(self.result.clusters.get_column("cluster_id").n_unique()),
            "probability_two_random_records_match": float(
                self.result.model["probability_two_random_records_match"]
            ),
            "comparisons": list(self.result.comparisons),
            "blocking_rules": list(self.result.blocking_rules),
            "show_pii": settings.show_pii,
            "election_date": None
            if settings.election_date is None
            else settings.election_date.isoformat(),
            "quiet_period": quiet,
            "steps": [STEP_OF[settings.mode]],
            "caveats": list(CAVEATS),
            "model_notes": list(self.model_notes),
            "wording": "leads for review",
        }
        if self.claims is not None:
            out["claims"] = claims_summary(self.claims)
        out["calibration"] = None if self.calibration is None else asdict(self.calibration)
        return out


def quiet_period_note(election: dt.date, as_of: dt.date) -> str | None:
    """The refusal text when ``as_of`` is within the NVRA quiet period, else ``None``."""
    try:
        check_quiet_period(election, as_of)
    except InputError as error:
        return error.message
    return None


def _input_json(loaded: LoadedList) -> dict[str, Any]:
    return {
        "path": loaded.path.name,
        "sha256": sha256_file(loaded.path),
        "kind": loaded.kind,
        "rows": loaded.rows,
        "kept": loaded.frame.height,
        "issues": loaded.issue_counts(),
    }


def load_inputs(paths: Sequence[Path], settings: RollsSettings) -> tuple[LoadedList, ...]:
    """Read the mode's lists with their column options (one mapping per list, or none)."""
    kinds = KINDS[settings.mode]
    if len(paths) != len(kinds):
        raise InputError(
            f"{settings.mode} reads {len(kinds)} list(s) ({', '.join(kinds)}), got {len(paths)}"
        )
    columns = list(settings.columns) or [{}] * len(paths)
    if len(columns) == 1 and len(paths) > 1:
        columns = columns * len(paths)
    return tuple(
        load_list(path, kind, columns=mapping, day_first=settings.day_first)
        for path, kind, mapping in zip(paths, kinds, columns, strict=True)
    )


def as_roll(loaded: LoadedList) -> pl.DataFrame:
    """The list with its id column named ``voter_id``, as the linkage expects."""
    frame = loaded.frame
    id_column = frame.columns[0]
    if id_column != "voter_id":
        frame = frame.rename({id_column: "voter_id"})
    return frame


@contextmanager
def splink_notes() -> Iterator[list[str]]:
    """Collect Splink's warnings (e.g. a comparison level never seen in training, whose
    m value then stays at its default) instead of letting them reach the terminal."""
    notes: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = " ".join(record.getMessage().replace("WARNING:", "").split())
            if text and text not in notes:
                notes.append(text)

    logger = logging.getLogger("splink")
    handler = Collect(level=logging.WARNING)
    saved = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    try:
        yield notes
    finally:
        logger.removeHandler(handler)
        logger.propagate, logger.level = saved[0], saved[1]


def analyse(lists: Sequence[LoadedList], settings: RollsSettings) -> RollsRun:
    """Run the model and compute the lead table and the figures."""
    frames = [as_roll(loaded) for loaded in lists]
    dedupe = settings.mode == "dedupe"
    with splink_notes() as notes:
        result = link(
            frames[0],
            None if dedupe else frames[1],
            mode="dedupe" if dedupe else "link",
            threshold=settings.threshold,
            seed=settings.seed,
            engine=settings.engine,
        )
    leads = lead_table(result, frames[0], frames[-1], settings)
    rule = settings.chance_rule
    chance = expected_chance_pairs(
        frames[0],
        rule,
        other=None if dedupe else frames[1],
        condition_on="first_name" if "first_name" in rule and _has_year(rule) else None,
    )
    flagged = leads.filter(pl.col("exclusion").is_null())
    false_matches = false_match_estimate(flagged.get_column("match_probability").to_numpy())
    claims = None
    if settings.mode == "check-claims":
        claims = claim_table(frames[0], frames[1], leads)
    calibration = None
    if settings.review is not None:
        calibration = calibration_check(result.pairs, read_review(Path(settings.review)))
    return RollsRun(
        settings=settings,
        lists=tuple(lists),
        result=result,
        leads=leads,
        chance=chance,
        false_matches=false_matches,
        weights=result.scored_weights,
        claims=claims,
        model_notes=tuple(notes),
        calibration=calibration,
    )


def _has_year(rule: Sequence[str]) -> bool:
    return "dob" in rule or "birth_year" in rule


def read_review(path: Path) -> pl.DataFrame:
    """A clerical-review sample: ``id_l, id_r, is_match`` (true/false, yes/no, 1/0)."""
    csv_file = open_csv(path)
    frame = read_string_frame(csv_file).frame
    missing = sorted({"id_l", "id_r", "is_match"} - set(frame.columns))
    if missing:
        raise InputError(
            f"has no column {missing[0]!r}",
            file=path,
            field=missing[0],
            fix="give one row per reviewed pair: id_l, id_r, is_match (true or false)",
        )
    truth = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    verdict = pl.col("is_match").str.strip_chars().str.to_lowercase()
    labels = frame.select(
        "id_l",
        "id_r",
        is_match=verdict.replace_strict(truth, default=None, return_dtype=pl.Boolean),
    )
    bad = labels.get_column("is_match").is_null()
    if bad.any():
        row = int(bad.arg_true()[0])
        raise InputError(
            f"is_match {frame['is_match'][row]!r} is not true or false",
            file=path,
            line=csv_file.header_lines + 1 + row,
            field="is_match",
        )
    return labels


def lead_table(
    result: LinkageResult, left: pl.DataFrame, right: pl.DataFrame, settings: RollsSettings
) -> pl.DataFrame:
    """``leads.csv``: every scored pair at or above the threshold, leads first.

    Columns: ``id_l, id_r, match_probability, match_weight, exclusion,
    exclusion_reason, step``, then each record field as ``<field>_l, <field>_r``
    (dates of birth masked unless ``show_pii``), then the model's evidence
    ``gamma_<c>`` (comparison level), ``level_<c>`` (its meaning) and ``mw_<c>``
    (its match weight in bits).
    """
    fields = [f for f in LEAD_FIELDS if f in left.columns or f in right.columns]

    def side(frame: pl.DataFrame, suffix: str) -> pl.DataFrame:
        present = [f for f in fields if f in frame.columns]
        return frame.select(
            pl.col("voter_id").alias(f"id{suffix}"), *[pl.col(f).alias(f + suffix) for f in present]
        )

    pairs = result.pairs
    table = pairs.join(side(left, "_l"), on="id_l", how="left").join(
        side(right, "_r"), on="id_r", how="left"
    )
    labels = result.level_labels()
    evidence: list[str] = []
    for name in result.comparisons:
        gamma = f"gamma_{name}"
        if gamma not in table.columns:
            continue
        mapping = {int(k): v for k, v in labels.get(name, {}).items()}
        table = table.with_columns(
            pl.col(gamma)
            .replace_strict(mapping, default=None, return_dtype=pl.String)
            .alias(f"level_{name}")
        )
        evidence += [gamma, f"level_{name}", f"mw_{name}"]
        if f"mw_tf_adj_{name}" in table.columns:
            evidence.append(f"mw_tf_adj_{name}")
    step = STEP_OF[settings.mode]
    table = table.with_columns(
        step=pl.when(pl.col("exclusion").is_null())
        .then(pl.lit(step))
        .otherwise(pl.lit("none: set aside by the exclusion rule (family look-alike)"))
    )
    record = [f + s for f in fields for s in ("_l", "_r") if f + s in table.columns]
    ordered = table.select(
        "id_l",
        "id_r",
        "match_probability",
        "match_weight",
        "exclusion",
        "exclusion_reason",
        "step",
        *record,
        *evidence,
    )
    ordered = mask_dates(ordered, ("dob_l", "dob_r"), show=settings.show_pii)
    if not settings.show_pii:
        ordered = ordered.with_columns(
            pl.col("exclusion_reason").str.replace_all(r"\b(\d{4})-\d{2}-\d{2}\b", "$1-**-**")
        )
    return ordered.sort(
        pl.col("exclusion").is_not_null(),
        pl.col("match_probability"),
        "id_l",
        "id_r",
        descending=[False, True, False, False],
    )


def claim_table(claims: pl.DataFrame, roll: pl.DataFrame, leads: pl.DataFrame) -> pl.DataFrame:
    """Per claim: what the roll holds for and against it.

    ``naive_matches`` counts roll records with the claim's first name, last name and
    date of birth (what a naive claim rests on); ``same_name`` those with its first
    and last name; ``chance_expected`` = ``same_name × P(date of birth)`` the naive
    matches expected by coincidence alone if the claimed person were not on the roll,
    with P the roll's own share of that exact birth date; ``best_id`` and
    ``best_probability`` the model's most likely roll record among the scored pairs
    (``exclusion`` when a rule sets it aside). ``coincidence_probability`` is 1 − p
    of the best lead (1 when there is none).
    """
    keys = ["first_name", "last_name"]
    names = roll.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in keys))
    same_name = names.group_by(keys).agg(same_name=pl.len())
    naive = names.filter(pl.col("dob").is_not_null()).group_by([*keys, "dob"]).len("naive_matches")
    dob_share = (
        roll.filter(pl.col("dob").is_not_null())
        .group_by("dob")
        .len()
        .select("dob", dob_share=pl.col("len") / pl.col("len").sum())
    )
    best = (
        leads.sort("match_probability", descending=True)
        .unique("id_l", keep="first", maintain_order=True)
        .select(
            claim_id="id_l",
            best_id="id_r",
            best_probability="match_probability",
            best_exclusion="exclusion",
        )
    )
    table = (
        claims.select(
            claim_id="voter_id", first_name="first_name", last_name="last_name", dob="dob"
        )
        .join(same_name, on=keys, how="left")
        .join(naive, on=[*keys, "dob"], how="left")
        .join(dob_share, on="dob", how="left")
        .join(best, on="claim_id", how="left")
        .with_columns(
            pl.col("same_name").fill_null(0),
            pl.col("naive_matches").fill_null(0),
        )
    )
    lead = pl.col("best_exclusion").is_null() & pl.col("best_probability").is_not_null()
    return table.select(
        "claim_id",
        "naive_matches",
        "same_name",
        chance_expected=pl.col("same_name") * pl.col("dob_share").fill_null(0.0),
        best_id=pl.when(lead).then("best_id"),
        best_probability=pl.when(lead).then("best_probability"),
        coincidence_probability=pl.when(lead).then(1 - pl.col("best_probability")).otherwise(1.0),
        set_aside=pl.col("best_exclusion"),
    ).sort("claim_id")


def claims_summary(claims: pl.DataFrame) -> dict[str, Any]:
    """Totals of the claim table: how many claims the roll supports, how many are coincidences.

    ``expected_coincidences`` is Σ ``coincidence_probability`` over all claims, the
    number of claims expected to name nobody on the roll, with its Poisson-binomial
    interval.
    """
    supported = claims.filter(pl.col("best_probability").is_not_null())
    estimate = false_match_estimate(1 - claims.get_column("coincidence_probability").to_numpy())
    return {
        "claims": claims.height,
        "supported_by_model": supported.height,
        "with_naive_match": claims.filter(pl.col("naive_matches") > 0).height,
        "expected_coincidences": estimate.expected,
        "coincidence_interval": [estimate.low, estimate.high],
        "chance_expected_naive_matches": float(claims.get_column("chance_expected").sum()),
        "note": (
            "expected_coincidences is the sum over claims of 1 - p, p the model's probability "
            "that the claim names its best roll record (1 - p = 1 when the roll holds no lead "
            "for it): the claims expected to name nobody on the roll. "
            "chance_expected_naive_matches is how many same-name-and-birth-date matches the "
            "claims would find by coincidence alone if none of the claimed people were on "
            "the roll."
        ),
    }


def run_rolls(paths: Sequence[Path], settings: RollsSettings) -> RollsRun:
    """Load and analyse (no files written)."""
    if settings.mode not in MODES:
        raise InputError(f"unknown mode {settings.mode!r}", fix=f"use one of {', '.join(MODES)}")
    return analyse(load_inputs(paths, settings), settings)
