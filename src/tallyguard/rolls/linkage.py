"""Probabilistic linkage of voter rolls: the Fellegi–Sunter model fitted with Splink.

Fellegi & Sunter (1969), "A theory for record linkage", JASA 64(328):1183–1210: each
pair of records gets, field by field, a comparison level γ_k; with m_k = P(γ_k | match)
and u_k = P(γ_k | non-match) the pair's match weight is log2 λ/(1−λ) + Σ_k log2 m_k/u_k
(their eq. 2 summed in logs) and its match probability 2^w / (1 + 2^w). The m values
are fitted by EM as in Winkler (1988), "Using the EM algorithm for weight computation
in the Fellegi–Sunter model of record linkage", Proc. Section on Survey Research
Methods, ASA, 667–671; the u values by sampling random pairs (almost all non-matches);
λ by deterministic rules of known recall. Names are compared by the Jaro–Winkler
similarity (Winkler 1990, "String comparator metrics and enhanced decision rules in
the Fellegi–Sunter model", ASA Proc. Survey Research Methods, 354–359) with
term-frequency adjustment of exact agreement (a shared rare name is stronger evidence).
The engine is Splink 5 (Linacre et al. 2022, "Splink: free software for probabilistic
record linkage at scale", IJPDS 7(3)) on DuckDB, or on Spark for national files.

Households break the model's assumption that fields are independent given match
status: members share surname and address, twins a date of birth, a father and son
(JR/SR) their whole name. Two defences follow. (1) The EM sessions are chosen so that
look-alikes cannot pose as matches: the session that estimates the first-name m values
blocks on date of birth *and* middle name (twins rarely share one), and the one that
estimates the date-of-birth m values keeps out pairs of one household (same surname
and address), which is where fathers and sons are; each session's λ is held at its
blocking-adjusted value, which keeps EM from drifting to a class of non-matches that
merely share a middle name (measured: λ rose from 0.05 to 0.14 in 25 iterations). Without
this, twins made a first-name disagreement look common among matches and fathers and
sons a date-of-birth disagreement. (2) Raw probabilities stay over-confident on
family look-alikes: :mod:`tallyguard.rolls.exclusions` sets them aside by named rules
and provides the calibration check that every lead list carries.

Beyond exact and fuzzy agreement the comparisons know three patterns of one person's
records: a first name that is a listed nickname of the other (the ``nicknames``
table); a surname that is the other record's middle name (a birth surname kept as a
middle name after marriage, the middle names then counting as unknown); and
unlike surnames on two men's records as its own level, since men rarely change
surname at marriage (Pew Research Center 2023).
"""

from __future__ import annotations

import atexit
import math
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import numpy as np
import numpy.typing as npt
import polars as pl
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator
from splink.internals.dialects import SplinkDialect

from tallyguard.errors import InputError
from tallyguard.rolls.clean import name_variants
from tallyguard.rolls.exclusions import DEFAULT_RULES, ExclusionRule, apply_exclusions

if TYPE_CHECKING:
    from splink.internals.blocking_rule_creator import BlockingRuleCreator
    from splink.internals.comparison_creator import ComparisonCreator
    from splink.internals.database_api import DatabaseAPI
    from splink.internals.splink_dataframe import SplinkDataFrame

Mode = Literal["dedupe", "link"]
Engine = Literal["duckdb", "spark"]

__all__ = [
    "CANONICAL_COLUMNS",
    "DEFAULT_BLOCKING",
    "Engine",
    "LinkageResult",
    "Mode",
    "TrainingPlan",
    "link",
]

#: The cleaned columns a roll frame carries (``rolls.clean``); all but ``voter_id`` may be null.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "voter_id",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "dob",
    "birth_year",
    "sex",
    "address",
    "city",
    "zip",
    "county",
    "registration_date",
    "first_name_canonical",
)

#: Copies of the name columns that the name-swap levels read (see ``_swapped``).
GIVEN_COPY, SURNAME_COPY = "given_name_copy", "surname_copy"
#: Surname and address joined: the same for the members of one household.
HOUSEHOLD_KEY = "household_key"

#: Blocking rules that generate the pairs to score: each is a cheap equi-join, and a
#: true pair survives when any one of them agrees exactly (so a typo in one field is
#: caught by another rule).
DEFAULT_BLOCKING: tuple[str, ...] = (
    "l.first_name_canonical = r.first_name_canonical and l.last_name = r.last_name",
    "l.last_name = r.last_name and l.birth_year = r.birth_year",
    "l.first_name_canonical = r.first_name_canonical and l.dob = r.dob",
    "l.zip = r.zip and l.dob = r.dob",
    "l.city = r.city and l.dob = r.dob",
    "l.address = r.address and l.zip = r.zip",
    "l.last_name = r.last_name and l.zip = r.zip",
    "l.first_name_canonical = r.first_name_canonical and l.zip = r.zip",
    "l.address = r.address and l.first_name_canonical = r.first_name_canonical",
    "l.first_name = r.last_name and l.last_name = r.first_name",
)

#: Broader rules, each added when it yields at most ``pair_budget`` pairs (small and
#: mid-size rolls): they catch pairs with errors in several fields at once.
BROAD_BLOCKING: tuple[tuple[str, tuple[pl.Expr, ...]], ...] = (
    ("l.dob = r.dob", (pl.col("dob"),)),
    (
        "substr(l.first_name, 1, 3) = substr(r.first_name, 1, 3) "
        "and substr(l.last_name, 1, 3) = substr(r.last_name, 1, 3)",
        (pl.col("first_name").str.slice(0, 3), pl.col("last_name").str.slice(0, 3)),
    ),
)


#: SQL: the records are not of one household (surname and address not both the same).
#: It reads ``HOUSEHOLD_KEY``, which no comparison uses, so that an EM session blocked
#: with it keeps every comparison active and its λ is not adjusted for it.
OTHER_HOUSEHOLD = "coalesce(l.household_key <> r.household_key, true)"


SAME_NAME_AND_CITY = "l.first_name = r.first_name and l.last_name = r.last_name and l.city = r.city"


@dataclass(frozen=True)
class TrainingPlan:
    """How the model's parameters are estimated (all steps are deterministic given the seed).

    Attributes:
        deterministic_rules: near-certain match rules whose pair count, divided by
            ``deterministic_recall``, estimates the number of matches and so λ.
        deterministic_recall: the share of true matches those rules are assumed to find.
        u_max_pairs: random pairs sampled to estimate the u values.
        em_blocking: blocking rules of the EM sessions; each estimates the m values of
            the fields it does not block on, so together they cover every field. An
            entry may be a tuple of alternatives: the first whose columns hold data
            is used (a roll without middle names falls back to blocking on the date
            of birth alone); a session whose columns are all empty is skipped.
        em_max_pairs: cap on the pairs of each EM session (hash-sampled, deterministic).
        em_fix_prior: hold λ of each EM session at its blocking-adjusted value (Splink's
            ``fix_probability_two_random_records_match``) instead of re-estimating it.
        refit_prior: after scoring, refit λ by EM over the scored pairs
            (``match_prior``). Right on FEBRL, whose deterministic rules find about a
            third of the matches, but wrong on rolls with households: members share
            surname and address, and the refit counts them as matches (λ 27 times too
            high on a simulated roll), so it is off by default.
    """

    deterministic_rules: tuple[str, ...] = (
        "l.first_name_canonical = r.first_name_canonical and l.last_name = r.last_name "
        "and l.dob = r.dob",
        "l.first_name = r.first_name and l.last_name = r.last_name and l.address = r.address",
    )
    deterministic_recall: float = 0.6
    u_max_pairs: float = 5e6
    em_blocking: tuple[str | tuple[str, ...], ...] = (
        "l.first_name_canonical = r.first_name_canonical and l.dob = r.dob",
        ("l.dob = r.dob and l.middle_name = r.middle_name", "l.dob = r.dob"),
        (
            f"{SAME_NAME_AND_CITY} and {OTHER_HOUSEHOLD}",
            f"l.first_name = r.first_name and l.last_name = r.last_name and {OTHER_HOUSEHOLD}",
        ),
    )
    em_max_pairs: float | None = 2e6
    em_fix_prior: bool = True
    refit_prior: bool = False


@dataclass(frozen=True)
class LinkageResult:
    """Scored pairs of one linkage run, with everything needed to explain and re-derive them.

    ``pairs`` holds one row per pair at or above ``threshold``, sorted by ``id_l, id_r``:
    ``id_l, id_r, match_probability, match_weight``, then per comparison ``gamma_<c>``
    (the comparison level, -1 null) and ``mw_<c>`` (its match weight log2 m/u, plus
    ``mw_tf_adj_<c>`` where a term-frequency adjustment applies), then ``exclusion``
    (null or a rule name) and ``exclusion_reason``. In link mode ``id_l`` is from the
    left list and ``id_r`` from the right.
    """

    mode: Mode
    engine: Engine
    threshold: float
    seed: int
    pairs: pl.DataFrame
    clusters: pl.DataFrame | None
    model: Mapping[str, Any]
    comparisons: tuple[str, ...]
    blocking_rules: tuple[str, ...]
    n_left: int
    n_right: int
    timings: Mapping[str, float] = field(default_factory=dict)
    #: Match weights of every scored pair (down to ``LAMBDA_FLOOR``), for the distribution.
    scored_weights: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.zeros(0, dtype=np.float64)
    )

    @property
    def leads(self) -> pl.DataFrame:
        """Flagged pairs no exclusion rule applies to: leads for due-process review."""
        return self.pairs.filter(pl.col("exclusion").is_null())

    @property
    def excluded(self) -> pl.DataFrame:
        """Flagged pairs an exclusion rule sets aside (reported, never leads)."""
        return self.pairs.filter(pl.col("exclusion").is_not_null())

    def level_labels(self) -> dict[str, dict[int, str]]:
        """For each comparison, its gamma values and what they mean ("Exact match", …)."""
        return level_labels(self.model)


def link(
    left: pl.DataFrame,
    right: pl.DataFrame | None,
    *,
    mode: Mode,
    threshold: float = 0.95,
    seed: int,
    engine: Engine = "duckdb",
    blocking: Sequence[str | BlockingRuleCreator] | None = None,
    training: TrainingPlan | None = None,
    exclusions: Sequence[ExclusionRule] | None = None,
    pair_budget: int = 20_000_000,
) -> LinkageResult:
    """Train a Fellegi–Sunter model on the roll(s) and score the blocked pairs.

    Args:
        left: a cleaned roll (``CANONICAL_COLUMNS``; missing columns count as null).
        right: the second roll in ``"link"`` mode; ``None`` in ``"dedupe"`` mode.
        mode: ``"dedupe"`` (duplicates within ``left``) or ``"link"`` (left to right).
        threshold: pairs with match probability at or above it are kept and clustered.
        seed: seed of the u sampling; the same inputs and seed give the same result.
        engine: ``"duckdb"`` (one machine) or ``"spark"`` (``local[2]``, needs pyspark).
        blocking: blocking rules for the scored pairs (default ``DEFAULT_BLOCKING``).
        training: parameter-estimation plan (default ``TrainingPlan()``).
        exclusions: rules that set family look-alikes aside (default
            ``exclusions.DEFAULT_RULES``; pass ``()`` for none).

    Raises:
        InputError: bad mode, threshold, engine, blocking rule or roll columns.
    """
    if mode not in ("dedupe", "link"):
        raise InputError(f"unknown mode {mode!r}", field="mode", fix="use 'dedupe' or 'link'")
    if not 0.0 < threshold < 1.0:
        raise InputError(
            f"threshold {threshold} is not a probability strictly between 0 and 1",
            field="threshold",
            fix="pass e.g. 0.95",
        )
    if (right is None) != (mode == "dedupe"):
        raise InputError(
            "dedupe takes one roll and link takes two",
            field="right",
            fix="pass right=None with mode='dedupe', or a second roll with mode='link'",
        )
    plan = training or TrainingPlan()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    frames = [prepare_roll(left, "left")]
    if right is not None:
        frames.append(prepare_roll(right, "right"))
    comparisons = comparisons_for(frames, dedupe=mode == "dedupe", engine=engine)
    rules = tuple(blocking) if blocking is not None else default_blocking(frames, pair_budget)
    db_api = database_api(engine)
    names = ["rolls_left", "rolls_right"][: len(frames)]
    tables = [
        db_api.register(frame.to_arrow(), dataset_display_name=name)
        for frame, name in zip(frames, names, strict=True)
    ]
    settings = SettingsCreator(
        link_type="dedupe_only" if mode == "dedupe" else "link_only",
        unique_id_column_name="voter_id",
        comparisons=[c for _, c in comparisons],
        blocking_rules_to_generate_predictions=[*rules],  # type: ignore[list-item]
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
    )
    linker = Linker(tables if len(tables) > 1 else tables[0], settings, log_level=None)
    timings["register"] = time.perf_counter() - clock

    clock = time.perf_counter()
    with single_threaded(db_api):
        _train(linker, plan, seed, frames)
    timings["train"] = time.perf_counter() - clock

    clock = time.perf_counter()
    scored = _pairs_frame(_predict(linker, LAMBDA_FLOOR), mode)
    total_pairs = _total_pairs(frames)
    prior = float(linker.misc.save_model_to_json()["probability_two_random_records_match"])
    fitted = prior
    if plan.refit_prior:
        fitted = match_prior(scored.get_column("match_weight").to_numpy(), prior, total_pairs)
    rescored = with_prior(scored, prior, fitted)
    pairs = rescored.filter(pl.col("match_probability") >= threshold)
    timings["predict"] = time.perf_counter() - clock

    clock = time.perf_counter()
    pairs = apply_exclusions(
        pairs, frames[0], frames[-1], DEFAULT_RULES if exclusions is None else exclusions
    )
    timings["exclusions"] = time.perf_counter() - clock

    clusters = None
    if mode == "dedupe":
        clock = time.perf_counter()
        clusters = _clusters(db_api, linker, pairs, threshold)
        timings["cluster"] = time.perf_counter() - clock
    model = dict(linker.misc.save_model_to_json())
    model["probability_two_random_records_match"] = fitted
    return LinkageResult(
        mode=mode,
        engine=engine,
        threshold=threshold,
        seed=seed,
        pairs=pairs,
        clusters=clusters,
        model=model,
        comparisons=tuple(name for name, _ in comparisons),
        blocking_rules=tuple(_rule_text(r) for r in rules),
        n_left=frames[0].height,
        n_right=frames[-1].height,
        timings=timings,
        scored_weights=rescored.get_column("match_weight").to_numpy().astype(np.float64),
    )


#: Pairs are scored down to this probability under the first estimate of λ, so that
#: the refit of λ sees every pair that could carry weight.
LAMBDA_FLOOR = 1e-4


def _total_pairs(frames: Sequence[pl.DataFrame]) -> int:
    if len(frames) == 1:
        n = frames[0].height
        return n * (n - 1) // 2
    return frames[0].height * frames[1].height


def match_prior(weights: npt.ArrayLike, prior: float, total_pairs: int) -> float:
    """λ, the share of all pairs that match, refitted to the scored pairs (an EM step for λ).

    The first λ comes from deterministic rules and an assumed recall, which can be far
    off (FEBRL 3: their recall is about 0.3, not 0.6). With the m and u values fixed,
    the maximum-likelihood λ solves λ = Σ_i p_i(λ) / N over all N pairs, where
    p_i(λ) = λ'K_i / (1 + λ'K_i), λ' = λ/(1−λ) and K_i = 2^(w_i) / λ'_0 is the pair's
    Bayes factor. Pairs outside the blocking (or below ``LAMBDA_FLOOR``) count as
    non-matches. Iterated to a relative change below 1e-9.
    """
    odds0 = prior / (1.0 - prior)
    factors = np.exp2(np.asarray(weights, dtype=np.float64)) / odds0
    lam = prior
    for _ in range(1_000):
        odds = lam / (1.0 - lam)
        expected = float(np.sum(odds * factors / (1.0 + odds * factors)))
        new = min(max(expected / total_pairs, 1e-12), 0.5)
        if abs(new - lam) <= 1e-9 * lam:
            return new
        lam = new
    return lam


def with_prior(pairs: pl.DataFrame, prior: float, fitted: float) -> pl.DataFrame:
    """Match weights and probabilities rescored from prior λ to ``fitted`` λ."""
    shift = math.log2(fitted / (1.0 - fitted)) - math.log2(prior / (1.0 - prior))
    weight = pl.col("match_weight") + shift
    return pairs.with_columns(
        match_weight=weight, match_probability=1.0 / (1.0 + (-weight * math.log(2.0)).exp())
    )


def prepare_roll(frame: pl.DataFrame, side: str) -> pl.DataFrame:
    """The canonical columns of a cleaned roll, typed, with absent columns as nulls.

    ``birth_year`` falls back to the year of ``dob``; ``first_name_canonical`` to
    ``first_name``; ``first_name_variants`` (the name, its nicknames and the names it
    is a nickname of, as ``rolls.clean`` lists them) is computed when absent. Three
    helper columns follow: copies of the first and last name for the name-swap levels
    (``GIVEN_COPY``, ``SURNAME_COPY``) and ``HOUSEHOLD_KEY``. Raises
    :class:`InputError` when ``voter_id`` is missing, null or repeated (the linkage
    needs one row per registration; the line given is the repeat's).
    """
    if "voter_id" not in frame.columns:
        raise InputError(f"the {side} roll has no voter_id column", field="voter_id")
    ids = frame.get_column("voter_id").cast(pl.String)
    if ids.null_count():
        row = int(ids.is_null().arg_max() or 0)
        raise InputError(f"the {side} roll has an empty voter_id", line=row + 1, field="voter_id")
    repeated = ~ids.is_first_distinct()
    if repeated.any():
        row = int(repeated.arg_max() or 0)
        raise InputError(
            f"voter_id {ids[row]!r} appears more than once in the {side} roll",
            line=row + 1,
            field="voter_id",
            fix="give each registration its own id, or drop the repeated rows",
        )
    columns: list[pl.Expr] = []
    for name in CANONICAL_COLUMNS:
        kind: type[pl.DataType] = pl.Int64 if name == "birth_year" else pl.String
        if name in frame.columns:
            columns.append(pl.col(name).cast(kind, strict=False))
        else:
            columns.append(pl.lit(None, kind).alias(name))
    if "first_name_variants" in frame.columns:
        columns.append(pl.col("first_name_variants").cast(pl.List(pl.String)))
    else:
        columns.append(pl.lit(None, pl.List(pl.String)).alias("first_name_variants"))
    out = frame.select(columns)
    if "first_name_variants" not in frame.columns:
        names = out.get_column("first_name").drop_nulls().unique().to_list()
        table = {name: name_variants(name) for name in names}
        out = out.with_columns(
            first_name_variants=pl.col("first_name").replace_strict(
                table, default=None, return_dtype=pl.List(pl.String)
            )
        )
    year_of_dob = pl.col("dob").str.slice(0, 4).cast(pl.Int64, strict=False)
    return out.with_columns(
        birth_year=pl.coalesce("birth_year", year_of_dob),
        first_name_canonical=pl.coalesce("first_name_canonical", "first_name"),
    ).with_columns(
        pl.col("first_name").alias(GIVEN_COPY),
        pl.col("last_name").alias(SURNAME_COPY),
        pl.concat_str("last_name", "address", separator="|").alias(HOUSEHOLD_KEY),
    )


def default_blocking(frames: Sequence[pl.DataFrame], pair_budget: int) -> tuple[str, ...]:
    """``DEFAULT_BLOCKING`` plus each ``BROAD_BLOCKING`` rule that keeps within the budget."""
    return DEFAULT_BLOCKING + tuple(
        sql for sql, keys in BROAD_BLOCKING if blocked_pairs(frames, keys) <= pair_budget
    )


def blocked_pairs(frames: Sequence[pl.DataFrame], keys: Sequence[pl.Expr]) -> int:
    """Pairs an equi-join on ``keys`` yields: Σ n(n−1)/2 within one roll, Σ n_l·n_r across two."""
    names = [f"key_{i}" for i in range(len(keys))]
    counts = [
        frame.select(*[k.alias(n) for k, n in zip(keys, names, strict=True)])
        .drop_nulls()
        .group_by(names)
        .len()
        for frame in frames
    ]
    if len(counts) == 1:
        n = counts[0].get_column("len").cast(pl.Int64)
        return int((n * (n - 1) // 2).sum())
    both = counts[0].join(counts[1], on=names)
    return int((both.get_column("len").cast(pl.Int64) * both.get_column("len_right")).sum())


def _rule_text(rule: str | BlockingRuleCreator) -> str:
    if isinstance(rule, str):
        return rule
    return str(rule.get_blocking_rule("duckdb").blocking_rule_sql)


def _train(linker: Linker, plan: TrainingPlan, seed: int, frames: Sequence[pl.DataFrame]) -> None:
    """λ by deterministic rules, u by seeded random sampling, m by EM on each rule.

    An EM session whose blocking rule reads a column that is empty in a roll (FEBRL
    has no middle names) would block no pairs, and is skipped.
    """
    training = linker.training
    try:
        training.estimate_probability_two_random_records_match(
            list(plan.deterministic_rules), recall=plan.deterministic_recall
        )
    except ValueError as error:  # more deterministic matches than the recall allows
        raise InputError(str(error), field="deterministic_recall") from error
    training.estimate_u_using_random_sampling(max_pairs=plan.u_max_pairs, seed=seed)
    empty = {
        column
        for frame in frames
        for column in frame.columns
        if frame.get_column(column).null_count() == frame.height
    }
    for entry in plan.em_blocking:
        choices = (entry,) if isinstance(entry, str) else entry
        usable = [r for r in choices if not empty & set(re.findall(r"\b[lr]\.(\w+)", r))]
        if not usable:
            continue
        rule = usable[0]
        training.estimate_parameters_using_expectation_maximisation(
            rule,
            max_pairs=plan.em_max_pairs,
            fix_probability_two_random_records_match=plan.em_fix_prior,
        )


def _predict(linker: Linker, threshold: float) -> SplinkDataFrame:
    return linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")


def _pairs_frame(predictions: SplinkDataFrame, mode: Mode) -> pl.DataFrame:
    """Splink's predictions as a polars frame with the documented column names."""
    raw = pl.from_arrow(predictions.as_pyarrow_table())  # type: ignore[no-untyped-call]
    assert isinstance(raw, pl.DataFrame)
    evidence = [c for c in raw.columns if c.startswith(("gamma_", "mw_"))]
    left_first = pl.lit(True)
    if mode == "link":
        left_first = pl.col("source_dataset_l") == "rolls_left"
    pairs = raw.select(
        pl.when(left_first)
        .then("voter_id_l")
        .otherwise("voter_id_r")
        .cast(pl.String)
        .alias("id_l"),
        pl.when(left_first)
        .then("voter_id_r")
        .otherwise("voter_id_l")
        .cast(pl.String)
        .alias("id_r"),
        pl.col("match_probability").cast(pl.Float64),
        pl.col("match_weight").cast(pl.Float64),
        *[pl.col(c) for c in evidence],
        pl.col("match_key").cast(pl.Int64),
    )
    return pairs.sort("id_l", "id_r")


def _clusters(
    db_api: DatabaseAPI[Any], linker: Linker, pairs: pl.DataFrame, threshold: float
) -> pl.DataFrame:
    """Connected components of the leads (excluded pairs are not edges)."""
    edges = pairs.filter(pl.col("exclusion").is_null()).select(
        voter_id_l="id_l", voter_id_r="id_r", match_probability="match_probability"
    )
    table = db_api.register(edges.to_arrow(), dataset_display_name="rolls_lead_edges")
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        table, threshold_match_probability=threshold
    )
    frame = pl.from_arrow(clustered.as_pyarrow_table())  # type: ignore[no-untyped-call]
    assert isinstance(frame, pl.DataFrame)
    return frame.select(
        voter_id=pl.col("voter_id").cast(pl.String), cluster_id=pl.col("cluster_id")
    ).sort("voter_id")


def _initial(column: str) -> cll.CustomLevel:
    """One side is a bare initial and it is the other side's first letter."""
    sql = (
        f"(length({column}_l) = 1 or length({column}_r) = 1) "
        f"and substr({column}_l, 1, 1) = substr({column}_r, 1, 1)"
    )
    return cll.CustomLevel(sql, label_for_charts="Initial agrees")


def _exact(column: str, *, tf: bool = False) -> cll.ExactMatchLevel:
    level = cll.ExactMatchLevel(column)
    if tf:
        level.configure(tf_adjustment_column=column)
    return level


def _custom(name: str, levels: list[Any]) -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name=name, comparison_levels=[cll.NullLevel(name), *levels, cll.ElseLevel()]
    )


#: Starting m values of the date-of-birth levels for EM (exact first). EM only refines
#: them, and a start that says "most matches agree" keeps it in the right mode.
DOB_START_M = (0.95, 0.02, 0.01, 0.01, 0.008, 0.002)


def _dob() -> cl.CustomComparison:
    """Date of birth with partial agreement; rolls with only a birth year still compare."""
    null = cll.CustomLevel(
        "(dob_l is null or dob_r is null) and (birth_year_l is null or birth_year_r is null)"
    ).configure(is_null_level=True)
    transposed = cll.CustomLevel(
        "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) and substr(dob_l, 6, 2) = substr(dob_r, 9, 2)"
        " and substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
        label_for_charts="Month and day transposed",
    )
    levels = [
        _exact("dob"),
        cll.LevenshteinLevel("dob", 1).configure(label_for_charts="One character differs"),
        transposed,
        cll.CustomLevel("birth_year_l = birth_year_r", label_for_charts="Same birth year"),
        cll.CustomLevel(
            "abs(birth_year_l - birth_year_r) <= 1", label_for_charts="Birth years within 1"
        ),
        cll.ElseLevel(),
    ]
    for level, m in zip(levels, DOB_START_M, strict=True):
        level.configure(m_probability=m)
    return cl.CustomComparison(output_column_name="dob", comparison_levels=[null, *levels])


def _swapped(engine: Engine, *, in_first: bool) -> cll.CustomLevel:
    """First and last names swapped, each within Jaro–Winkler 0.88 of the other's place.

    The level sits in both name comparisons, so a swapped pair is not scored as two
    disagreeing names. The SQL names the engine's own Jaro–Winkler function. Each
    comparison reads the other name through a copy of its column (``SURNAME_COPY``,
    ``GIVEN_COPY``), so that an EM session blocked on one name still estimates the
    other name's m values (Splink sets aside every comparison that reads a column
    of the session's blocking rule).
    """
    jw = SplinkDialect.from_string(engine).jaro_winkler_function_name
    first, last = ("first_name", SURNAME_COPY) if in_first else (GIVEN_COPY, "last_name")
    sql = f"{jw}({first}_l, {last}_r) >= 0.88 and {jw}({last}_l, {first}_r) >= 0.88"
    return cll.CustomLevel(sql, label_for_charts="First and last names swapped")


def _nickname() -> cll.CustomLevel:
    """Same canonical first name, or one first name is a listed variant of the other."""
    sql = (
        "first_name_canonical_l = first_name_canonical_r "
        "or array_contains(first_name_variants_l, first_name_r) "
        "or array_contains(first_name_variants_r, first_name_l)"
    )
    return cll.CustomLevel(sql, label_for_charts="Nickname-equivalent")


#: SQL: one record's surname is the other's middle name (a full name, not an initial).
MAIDEN_NAME = (
    "(length(middle_name_r) > 1 and last_name_l = middle_name_r) "
    "or (length(middle_name_l) > 1 and middle_name_l = last_name_r)"
)


def _men_surnames_differ() -> cll.CustomLevel:
    """Unlike surnames on two records of men: its own level, below every agreement.

    A surname changes at marriage far more often for women than for men (Pew Research
    Center 2023: 79 % of married women in opposite-sex marriages took their husband's
    surname, 5 % of married men their wife's), so a surname disagreement is much
    stronger evidence against a match between men; the level lets EM estimate it apart.
    """
    sql = "sex_l = 'M' and sex_r = 'M'"
    return cll.CustomLevel(sql, label_for_charts="Surnames differ, both records of men")


def _maiden_name() -> cll.CustomLevel:
    """One record's surname is the other's middle name (a full name, not an initial).

    Many women who take a spouse's surname keep the birth surname as a middle name, so
    a re-registration after marriage shows the old surname in the middle-name field.
    """
    return cll.CustomLevel(
        MAIDEN_NAME, label_for_charts="Surname is the other record's middle name"
    )


def _middle_name() -> cl.CustomComparison:
    """Middle names: agreement (term-frequency adjusted, so that a shared JAMES or a shared
    initial J counts for less than a shared rare name), initial agreement, or not.

    Where one record's middle name is the other's surname (``MAIDEN_NAME``), the surname
    comparison already counts it, and the middle names say nothing more: the pair
    takes the null level rather than a disagreement.
    """
    null = cll.CustomLevel(
        f"middle_name_l is null or middle_name_r is null or ({MAIDEN_NAME})"
    ).configure(is_null_level=True)
    return cl.CustomComparison(
        output_column_name="middle_name",
        comparison_levels=[
            null,
            _exact("middle_name", tf=True),
            _initial("middle_name"),
            cll.ElseLevel(),
        ],
    )


def _catalogue(engine: Engine) -> list[tuple[str, tuple[str, ...], ComparisonCreator]]:
    """Every comparison the model may use: its name, the columns it needs, its levels."""
    first = [
        _exact("first_name", tf=True),
        _nickname(),
        _swapped(engine, in_first=True),
        cll.JaroWinklerLevel("first_name", 0.92),
        cll.JaroWinklerLevel("first_name", 0.88),
        _initial("first_name"),
    ]
    last = [
        _exact("last_name", tf=True),
        _swapped(engine, in_first=False),
        _maiden_name(),
        cll.JaroWinklerLevel("last_name", 0.92),
        cll.JaroWinklerLevel("last_name", 0.88),
        _men_surnames_differ(),
    ]
    return [
        ("first_name", ("first_name",), _custom("first_name", first)),
        ("last_name", ("last_name",), _custom("last_name", last)),
        ("middle_name", ("middle_name",), _middle_name()),
        ("dob", ("dob", "birth_year"), _dob()),
        ("suffix", ("suffix",), _custom("suffix", [_exact("suffix")])),
        ("sex", ("sex",), _custom("sex", [_exact("sex")])),
        ("residence", ("address", "zip", "city"), _residence()),
    ]


def _residence() -> cl.CustomComparison:
    """Address, ZIP and city as one comparison: they are far from independent."""
    null = cll.CustomLevel(
        " and ".join(f"({c}_l is null or {c}_r is null)" for c in ("address", "zip", "city"))
    ).configure(is_null_level=True)
    return cl.CustomComparison(
        output_column_name="residence",
        comparison_levels=[
            null,
            cll.And(
                cll.ExactMatchLevel("address"),
                cll.Or(cll.ExactMatchLevel("zip"), cll.ExactMatchLevel("city")),
            ).configure(label_for_charts="Address and ZIP or city exact"),
            _exact("address", tf=True),
            cll.And(
                cll.JaroWinklerLevel("address", 0.9),
                cll.Or(cll.ExactMatchLevel("zip"), cll.ExactMatchLevel("city")),
            ),
            cll.JaroWinklerLevel("address", 0.9),
            cll.And(cll.ExactMatchLevel("zip"), cll.ExactMatchLevel("city")),
            _exact("zip"),
            _exact("city"),
            cll.ElseLevel(),
        ],
    )


def comparisons_for(
    frames: Sequence[pl.DataFrame], *, dedupe: bool, engine: Engine = "duckdb"
) -> list[tuple[str, ComparisonCreator]]:
    """The comparisons whose columns hold data on both sides (an empty column says nothing)."""

    def filled(column: str) -> bool:
        counts = [frame.height - frame.get_column(column).null_count() for frame in frames]
        return counts[0] >= 2 if dedupe else min(counts) >= 1

    return [
        (name, creator)
        for name, needs, creator in _catalogue(engine)
        if any(filled(c) for c in needs)
    ]


def level_labels(model: Mapping[str, Any]) -> dict[str, dict[int, str]]:
    """Gamma value -> label per comparison, numbered as Splink does (null -1, top level highest)."""
    out: dict[str, dict[int, str]] = {}
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        gamma = sum(1 for level in levels if not level.get("is_null_level", False)) - 1
        labels: dict[int, str] = {}
        for level in levels:
            label = str(level.get("label_for_charts") or level["sql_condition"])
            if level.get("is_null_level", False):
                labels[-1] = label
            else:
                labels[gamma] = label
                gamma -= 1
        out[str(comparison["output_column_name"])] = labels
    return out


def database_api(engine: Engine) -> DatabaseAPI[Any]:
    """The Splink backend: in-memory DuckDB, or Spark in ``local[2]`` mode."""
    if engine == "duckdb":
        return DuckDBAPI(duckdb.connect())
    if engine != "spark":
        raise InputError(
            f"unknown engine {engine!r}", field="engine", fix="use 'duckdb' or 'spark'"
        )
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise InputError(
            "the Spark engine needs pyspark, which is not installed",
            field="engine",
            fix="pip install 'tallyguard[spark]' (Java 17 must be on the PATH), "
            "or use the default engine duckdb",
        ) from error
    from splink import SparkAPI
    from splink.backends.spark import similarity_jar_location

    scratch = Path(tempfile.mkdtemp(prefix="tallyguard-spark-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("tallyguard-rolls")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    if spark.sparkContext.getCheckpointDir() is None:
        spark.sparkContext.setCheckpointDir(str(scratch / "checkpoints"))
    # a new session per run: its own temporary views, so a second run does not collide
    return SparkAPI(spark_session=spark.newSession())  # type: ignore[no-untyped-call]


@contextmanager
def single_threaded(db_api: DatabaseAPI[Any]) -> Iterator[None]:
    """DuckDB on one thread: EM sums floating-point numbers over many pairs, and with
    several threads their order, and so the last bits of the fitted m values, would
    change from run to run. One thread makes a re-run reproduce every output byte."""
    if not isinstance(db_api, DuckDBAPI):
        yield
        return
    connection = db_api._con
    threads = connection.execute("select current_setting('threads')").fetchone()
    connection.execute("set threads to 1")
    try:
        yield
    finally:
        if threads is not None:
            connection.execute(f"set threads to {int(threads[0])}")
