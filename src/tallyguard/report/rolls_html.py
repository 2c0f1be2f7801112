"""The voter-roll report as one self-contained HTML page: leads for review, with their evidence.

It renders a run of ``tallyguard rolls dedupe|link|deceased|check-claims`` (the
run's JSON summary, the rows of ``leads.csv``, Splink's model and the match
weights of all scored pairs) from ``templates/rolls_report.html`` with
autoescaping on (names, addresses and ids come from a user's file), the
stylesheets inlined, the figures of :mod:`tallyguard.report.rolls_plots` as
inline SVG and no JavaScript. The same inputs give the same bytes.

The wording follows the safeguards of list maintenance (references: NVRA,
52 U.S.C. §20507; Goel et al. 2020, "One Person, One Vote", APSR 114(2):456–469):
every pair is a *lead for review* whose next step is a confirmation notice or an
individual check; each batch states its expected false matches Σ(1 − p) and the
number of chance matches the naive "same first name, last name and date of
birth" rule produces; dates of birth show the year only unless the run asked
for personal data.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import jinja2
import numpy as np
import polars as pl
from markupsafe import Markup

import tallyguard
from tallyguard.report.rolls_plots import (
    format_probability,
    waterfall_svg,
    weight_histogram_svg,
    weight_of,
)
from tallyguard.rolls.exclusions import DEFAULT_RULES
from tallyguard.rolls.linkage import level_labels

VERSION: str = getattr(tallyguard, "__version__", "unknown")

__all__ = ["LISTED_EXCLUDED", "LISTED_LEADS", "WATERFALLS", "render_rolls_report"]

#: How many leads, and excluded pairs, the page lists (the CSV holds them all).
LISTED_LEADS = 200
LISTED_EXCLUDED = 100
#: How many leads get a waterfall chart: half with the highest probability, half the lowest.
WATERFALLS = 10

#: Record fields shown side by side, in this order, with their column headers.
FIELDS: dict[str, str] = {
    "first_name": "First name",
    "middle_name": "Middle name",
    "last_name": "Last name",
    "suffix": "Suffix",
    "dob": "Date of birth",
    "sex": "Sex",
    "address": "Address",
    "city": "City",
    "zip": "ZIP",
}
_RULE_FIELDS = {
    "first_name": "first name",
    "middle_name": "middle name",
    "last_name": "last name",
    "suffix": "suffix",
    "dob": "date of birth",
    "birth_year": "year of birth",
    "zip": "ZIP code",
    "address": "address",
}
_MODES = {
    "dedupe": ("Possible duplicate registrations", "pairs of registrations in one roll"),
    "link": ("Possible matches between two rolls", "pairs of a record in each roll"),
    "deceased": ("Possible deceased registrants", "pairs of a registration and a death record"),
    "check-claims": ("Check of a claimed list", "pairs of a claimed entry and a registration"),
}
_ISSUES = (
    ("no_name", "neither a first nor a last name (row excluded)"),
    ("part_name", "first or last name missing (kept, matched on the rest)"),
    ("bad_dob", "date of birth empty or not a date (kept, matched without it)"),
)
_DATE = re.compile(r"\b(\d{4})-\d{2}-\d{2}\b")


def _count(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "not computed"
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def _expected(value: object) -> str:
    """An expected count: 3 significant digits below 10, one decimal up to 100, whole above."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "not computed"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _interval(value: object) -> str | None:
    if isinstance(value, list | tuple) and len(value) == 2:
        low, high = (_expected(v) if isinstance(v, float) else _count(v) for v in value)
        return f"{low}–{high}"
    return None


def _confidence(summary: Mapping[str, Any], key: str) -> str:
    block = summary.get(key)
    level = block.get("confidence") if isinstance(block, Mapping) else None
    return f"{level:.0%}" if isinstance(level, float) and 0 < level < 1 else "95%"


def _rule_words(rule: object) -> str:
    fields = ["first_name", "last_name", "dob"]
    if isinstance(rule, list | tuple) and rule:
        fields = [str(f) for f in rule]
    words = [_RULE_FIELDS.get(f, f.replace("_", " ")) for f in fields]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text if text.strip() else None


@dataclass(frozen=True)
class FieldCell:
    """One field of a lead: both records' values and whether they agree."""

    left: str | None
    right: str | None
    state: str  # "agree", "year" (same year, day hidden), "differ" or "missing"
    note: str


@dataclass(frozen=True)
class LeadRow:
    rank: int
    id_l: str
    id_r: str
    probability: str
    weight: str
    step: str
    cells: tuple[FieldCell, ...]
    anchor: str | None


@dataclass(frozen=True)
class Waterfall:
    anchor: str
    group: str  # "highest" or "lowest"
    row: LeadRow
    svg: Markup


def _cell(field: str, left: str | None, right: str | None, dob_top: bool | None) -> FieldCell:
    if left is None or right is None:
        return FieldCell(left, right, "missing", "missing")
    masked = field == "dob" and ("*" in left or "*" in right)
    if masked and dob_top:
        return FieldCell(left, right, "agree", "same date")
    if left.strip().casefold() == right.strip().casefold():
        if masked:
            return FieldCell(left, right, "year", "same year")
        return FieldCell(left, right, "agree", "same")
    return FieldCell(left, right, "differ", "differs")


def _mask(frame: pl.DataFrame, show: bool) -> pl.DataFrame:
    """Dates of birth as ``YYYY-**-**`` (also inside the exclusion reasons) unless ``show``."""
    if show:
        return frame
    masked: list[pl.Expr] = []
    for c in ("dob_l", "dob_r"):
        if c in frame.columns:
            value = pl.col(c).cast(pl.String)
            year = pl.coalesce(value.str.extract(r"(\d{4})", 1), pl.lit("****"))
            masked.append(pl.when(value.is_null()).then(None).otherwise(year + "-**-**").alias(c))
    if "exclusion_reason" in frame.columns:
        reason = pl.col("exclusion_reason").cast(pl.String)
        masked.append(reason.str.replace_all(_DATE.pattern, "${1}-**-**"))
    return frame.with_columns(masked)


def _comparisons(leads: pl.DataFrame, model: Mapping[str, Any]) -> list[str]:
    """The model's comparisons in its order, those the leads carry a level for."""
    named = [c.get("output_column_name") for c in model.get("comparisons", ()) or ()]
    ordered = [str(n) for n in named if n is not None and f"gamma_{n}" in leads.columns]
    rest = [c[6:] for c in leads.columns if c.startswith("gamma_") and c[6:] not in ordered]
    return ordered + rest


def _labels(model: Mapping[str, Any], leads: pl.DataFrame, comparisons: Sequence[str]) -> Any:
    """Level labels from the model, completed from ``level_<c>`` columns of the leads."""
    try:
        labels = level_labels(model)
    except (KeyError, TypeError, AttributeError):
        labels = {}
    for c in comparisons:
        mine = labels.setdefault(c, {})
        if f"level_{c}" in leads.columns:
            pairs = leads.select(f"gamma_{c}", f"level_{c}").drop_nulls().unique().rows()
            for gamma, label in pairs:
                mine.setdefault(int(gamma), str(label))
    return labels


def _prior(model: Mapping[str, Any], summary: Mapping[str, Any]) -> float | None:
    for source in (model, summary):
        value = source.get("probability_two_random_records_match")
        if isinstance(value, int | float) and 0 < value < 1:
            return float(value)
    return None


def _lead_rows(
    frame: pl.DataFrame, fields: Sequence[str], labels: Mapping[str, Mapping[int, str]]
) -> list[LeadRow]:
    top_dob = max(labels.get("dob", {}) or {-1: ""})
    rows = []
    for rank, lead in enumerate(frame.iter_rows(named=True), start=1):
        gamma = lead.get("gamma_dob")
        dob_top = None if gamma is None or top_dob < 0 else int(gamma) == top_dob
        cells = tuple(
            _cell(f, _text(lead.get(f"{f}_l")), _text(lead.get(f"{f}_r")), dob_top) for f in fields
        )
        p = lead.get("match_probability")
        w = lead.get("match_weight")
        rows.append(
            LeadRow(
                rank=rank,
                id_l=str(lead.get("id_l")),
                id_r=str(lead.get("id_r")),
                probability="—" if p is None else format_probability(float(p)),
                weight="—" if w is None else f"{w:.2f}".replace("-", "−", 1),
                step=_text(lead.get("step")) or "",
                cells=cells,
                anchor=None,
            )
        )
    return rows


def _waterfall_ranks(n: int) -> list[tuple[int, str]]:
    """Which leads (0-based, by descending probability) get a waterfall, and their group."""
    if n <= WATERFALLS:
        return [(i, "highest" if i < (n + 1) // 2 else "lowest") for i in range(n)]
    half = WATERFALLS // 2
    return [(i, "highest") for i in range(half)] + [(i, "lowest") for i in range(n - half, n)]


def _exclusion_rows(summary: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    counts = summary.get("exclusions")
    counts = counts if isinstance(counts, Mapping) else {}
    known = {rule.name: rule.description for rule in DEFAULT_RULES}
    names = [*known, *(str(n) for n in counts if str(n) not in known)]
    return [
        (name, _count(counts.get(name, 0)), known.get(name, "a rule given for this run"))
        for name in names
    ]


def _inputs(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for item in summary.get("inputs") or ():
        if not isinstance(item, Mapping):
            continue
        issues = item.get("issues")
        issues = issues if isinstance(issues, Mapping) else {}
        out.append(
            {
                "path": str(item.get("path", "")),
                "kind": str(item.get("kind", "")),
                "rows": _count(item.get("rows")),
                "kept": _count(item.get("kept")),
                "issues": [_count(issues.get(key, 0)) for key, _ in _ISSUES],
                "sha256": _text(item.get("sha256")) or "not recorded",
            }
        )
    return out


def _model_rows(model: Mapping[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Each comparison level's m, u and match weight log2(m/u) (Fellegi & Sunter 1969)."""
    rows = []
    for comparison in model.get("comparisons", ()) or ():
        name = str(comparison.get("output_column_name", ""))
        for level in comparison.get("comparison_levels", ()):
            if level.get("is_null_level", False):
                continue
            label = str(level.get("label_for_charts") or level.get("sql_condition", ""))
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = "not estimated"
            if isinstance(m, int | float) and isinstance(u, int | float) and m > 0 and u > 0:
                weight = f"{math.log2(m / u):+.2f}".replace("-", "−", 1)
            rows.append(
                (
                    name,
                    label,
                    "—" if m is None else f"{m:.4g}",
                    "—" if u is None else f"{u:.4g}",
                    weight,
                )
            )
    return rows


def _context(
    summary: Mapping[str, Any],
    leads: pl.DataFrame,
    model: Mapping[str, Any],
    weights: np.ndarray[Any, np.dtype[Any]],
) -> dict[str, Any]:
    mode = str(summary.get("mode", ""))
    title, pair_kind = _MODES.get(mode, ("Voter-roll linkage", "pairs of records"))
    show_pii = summary.get("show_pii") is True
    threshold = float(summary.get("threshold", 0.95))
    frame = _mask(leads, show_pii)
    required = {
        "id_l": pl.String,
        "id_r": pl.String,
        "match_probability": pl.Float64,
        "match_weight": pl.Float64,
        "exclusion": pl.String,
    }
    frame = frame.with_columns(
        pl.lit(None, kind).alias(name) for name, kind in required.items() if name not in frame
    )
    order = [pl.col("match_probability"), pl.col("id_l"), pl.col("id_r")]
    frame = frame.sort(order, descending=[True, False, False], nulls_last=True)
    flagged = frame.filter(pl.col("exclusion").is_null())
    excluded = frame.filter(pl.col("exclusion").is_not_null())
    fields = [f for f in FIELDS if f"{f}_l" in frame.columns or f"{f}_r" in frame.columns]
    comparisons = _comparisons(frame, model)
    labels = _labels(model, frame, comparisons)
    rows = _lead_rows(flagged.head(LISTED_LEADS), fields, labels)

    lam = _prior(model, summary)
    waterfalls = []
    for index, group in _waterfall_ranks(flagged.height):
        lead = flagged.row(index, named=True)
        prior = weight_of(lam) if lam is not None else _residual_prior(lead, comparisons)
        anchor = f"waterfall-{index + 1}"
        svg = waterfall_svg(lead, comparisons, labels, prior, ident=anchor)
        if index < len(rows):
            row = rows[index] = replace(rows[index], anchor=anchor)
        else:
            row = replace(_lead_rows(flagged.slice(index, 1), fields, labels)[0], rank=index + 1)
        waterfalls.append(Waterfall(anchor, group, row, Markup(svg)))

    values = np.asarray(weights, dtype=np.float64).ravel()
    histogram = None
    if values.size:
        threshold_weight = weight_of(threshold)
        histogram = Markup(weight_histogram_svg(values, threshold_weight, ident="weights"))
    naive = summary.get("naive_rule_pairs")
    chance_high = summary.get("chance_interval")
    within_chance = None
    if isinstance(naive, int | float) and isinstance(chance_high, list | tuple) and chance_high:
        within_chance = naive <= chance_high[-1]
    blocking = summary.get("blocking_rules") or [
        r.get("blocking_rule", "") if isinstance(r, Mapping) else str(r)
        for r in model.get("blocking_rules_to_generate_predictions", ()) or ()
    ]
    return {
        "title": title,
        "mode": mode,
        "pair_kind": pair_kind,
        "threshold": format_probability(threshold),
        "summary": summary,
        "count": _count,
        "expected": _expected,
        "flagged_total": flagged.height,
        "false_interval": _interval(summary.get("false_match_interval")),
        "false_confidence": _confidence(summary, "false_matches"),
        "chance_interval": _interval(summary.get("chance_interval")),
        "chance_confidence": _confidence(summary, "chance"),
        "within_chance": within_chance,
        "rule_words": _rule_words(summary.get("chance_rule")),
        "inputs": _inputs(summary),
        "issue_names": _ISSUES,
        "exclusions": _exclusion_rows(summary),
        "histogram": histogram,
        "fields": [FIELDS[f] for f in fields],
        "rows": rows,
        "listed_leads": LISTED_LEADS,
        "waterfalls": waterfalls,
        "excluded": list(excluded.head(LISTED_EXCLUDED).iter_rows(named=True)),
        "excluded_total": excluded.height,
        "listed_excluded": LISTED_EXCLUDED,
        "probability": lambda p: "—" if p is None else format_probability(float(p)),
        "show_pii": show_pii,
        "steps": [s for s in summary.get("steps") or () if _text(s)],
        "caveats": [c for c in summary.get("caveats") or () if _text(c)],
        "claims": summary.get("claims") if isinstance(summary.get("claims"), Mapping) else None,
        "lam": None if lam is None else format_probability(lam),
        "prior_weight": None if lam is None else f"{weight_of(lam):.2f}".replace("-", "−", 1),
        "model_rows": _model_rows(model),
        "comparisons": comparisons,
        "blocking": [str(b) for b in blocking],
        "version": VERSION,
    }


def _residual_prior(lead: Mapping[str, Any], comparisons: Sequence[str]) -> float:
    """Without λ, the prior weight is what the comparisons leave of the lead's weight."""
    total = float(lead.get("match_weight") or 0.0)
    for c in comparisons:
        for key in (f"mw_{c}", f"mw_tf_adj_{c}"):
            value = lead.get(key)
            if isinstance(value, int | float) and math.isfinite(value):
                total -= float(value)
    return total


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("tallyguard.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_rolls_report(
    summary: Mapping[str, Any],
    leads: pl.DataFrame,
    model: Mapping[str, Any],
    weights: np.ndarray[Any, np.dtype[Any]],
) -> str:
    """Return the report of one rolls run as a self-contained HTML page.

    Args:
        summary: the run's JSON summary (mode, threshold, seed, engine, inputs,
            pair counts, exclusions, expected false and chance matches with their
            intervals, the naive rule and its pair count, steps, caveats, ...);
            missing optional keys read "not computed" or are left out.
        leads: the rows of ``leads.csv``: leads (``exclusion`` null) and pairs set
            aside by an exclusion rule, with both records' fields and the model's
            evidence per comparison.
        model: Splink's model dictionary (``linker.misc.save_model_to_json()``).
        weights: match weights of all scored pairs, for the histogram (may be empty).
    """
    return (
        _environment()
        .get_template("rolls_report.html")
        .render(_context(summary, leads, model, weights))
    )
