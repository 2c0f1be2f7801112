"""The forensics report as one self-contained HTML page.

It renders a :class:`~tallyguard.forensics.battery.ForensicsRun` from
``templates/forensics_report.html`` with autoescaping on (unit ids, regions and
choice names come from a user's file), the stylesheets inlined, the figures of
:mod:`tallyguard.report.forensics_plots` as inline SVG and no JavaScript. The
same run gives the same bytes.

Wording follows the field's standard for an honest report (Kobak et al. 2016;
Mebane 2020): a finding is an *anomaly relative to the stated null*, never a
verdict on how the count was conducted; each test says what it cannot show; the
multiplicity correction is stated with the number of hypotheses it covers; and
a test whose q-value is above α is "no anomaly detected", which does not show
that the count is clean.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup

import tallyguard
from tallyguard.forensics.battery import ForensicsRun, Stratum
from tallyguard.forensics.load import EXCLUSION_RULES, FLAG_RULES
from tallyguard.forensics.result import Component, TestResult
from tallyguard.report.audit_html import format_risk
from tallyguard.report.forensics_plots import digit_svg, fingerprint_svg, integer_histogram_svg

VERSION: str = getattr(tallyguard, "__version__", "unknown")

__all__ = [
    "LISTED_ROWS",
    "calibration_rows",
    "calibration_settings",
    "forensics_report_html",
    "format_number",
]

#: How many excluded (and flagged) rows, and units singled out by a test, the page lists.
LISTED_ROWS = 50
_STANDARD = (  # (column header, statistic keys it shows, first found)
    ("Observed", ("observed", "statistic", "chi2", "mean", "share")),
    ("Null mean", ("null_mean", "null_chi2_mean", "null_share")),
    ("Null SD", ("null_sd",)),
    ("Excess", ("excess",)),
)


def format_number(value: object) -> str:
    """A statistic for reading: whole numbers with separators, others to 4 significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"
    if isinstance(value, list | tuple):
        if len(value) > 12 or any(isinstance(v, Mapping | list | tuple) for v in value):
            return f"{len(value):,} values"
        return ", ".join(format_number(v) for v in value)
    return str(value)


def _label(key: str) -> str:
    return key.replace("_", " ")


def _anchor(*parts: str) -> str:
    return "-".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") or "x" for p in parts)


@dataclass(frozen=True)
class CalibrationRow:
    """One measured rejection rate: the false-positive rate, or the power under one manipulation."""

    measure: str
    rate: str
    interval: str
    runs: str


def _rate_row(measure: str, rate: object) -> CalibrationRow | None:
    """A row from ``Rate.to_json()`` (``rate``, ``ci95``, ``rejections``, ``runs``, ``skipped``)."""
    if not isinstance(rate, Mapping):
        return None
    ci = rate.get("ci95")
    interval = ""
    if isinstance(ci, list | tuple) and len(ci) == 2:
        interval = f"{format_number(ci[0])} – {format_number(ci[1])}"
    hits, runs, skipped = rate.get("rejections"), rate.get("runs"), rate.get("skipped")
    count = "" if hits is None or runs is None else f"{hits} of {runs}"
    if isinstance(skipped, int) and skipped:
        count += f" ({skipped} skipped)"
    return CalibrationRow(measure, format_number(rate.get("rate")), interval, count)


def _calibration_entry(calibration: object, test: str) -> Mapping[str, Any]:
    tests = calibration.get("tests") if isinstance(calibration, Mapping) else None
    entry = tests.get(test) if isinstance(tests, Mapping) else None
    return entry if isinstance(entry, Mapping) else {}


def calibration_rows(calibration: object, test: str) -> tuple[CalibrationRow, ...]:
    """``test``'s false-positive rate and power per manipulation from the calibration's JSON.

    The JSON is :meth:`tallyguard.forensics.calibrate.Calibration.to_json`; None
    (not run), a test it does not cover or a malformed entry gives no rows.
    """
    entry = _calibration_entry(calibration, test)
    rows = [_rate_row("false-positive rate (clean elections)", entry.get("false_positive"))]
    power = entry.get("power")
    if isinstance(power, Mapping):
        rows += [_rate_row(f"power: {_label(str(k))}", v) for k, v in power.items()]
    return tuple(r for r in rows if r is not None)


def calibration_settings(calibration: object) -> str | None:
    """The calibration's design in words, or None when it was not run."""
    if not isinstance(calibration, Mapping):
        return None
    parts = []
    if isinstance(calibration.get("runs"), int):
        parts.append(f"{calibration['runs']:,} simulated elections fitted to this input")
    if isinstance(calibration.get("replicates"), int):
        parts.append(f"{calibration['replicates']:,} null replicates per test")
    kinds = calibration.get("manipulations")
    share = calibration.get("share")
    if isinstance(kinds, list) and kinds and isinstance(share, int | float):
        where = f" of region {calibration['region']}" if calibration.get("region") else ""
        names = ", ".join(str(k) for k in kinds)
        parts.append(f"manipulations ({names}) injected at {share:.0%} of the units{where}")
    if isinstance(calibration.get("interval"), str):
        parts.append(f"{calibration['interval']} intervals")
    return "; ".join(parts)


@dataclass(frozen=True)
class ComponentRow:
    """One row of a test's components table (``level`` 1 and more: a nested dict's sub-row)."""

    label: str
    level: int
    headline: bool
    cells: tuple[str, ...]
    p_value: str
    other: str
    skipped: str | None


@dataclass(frozen=True)
class Plot:
    kind: str  # "fingerprint", "histograms", "distribution" or "claim": the template's caption
    svg: Markup


@dataclass(frozen=True)
class Finding:
    """What the page says about one test's headline p-value on one stratum."""

    state: str  # "anomaly", "no-anomaly" or "not-tested" (CSS class and test hook)
    p_text: str
    q_text: str
    text: str


@dataclass(frozen=True)
class Section:
    """One test on the whole table, as its section of the page shows it."""

    anchor: str
    result: TestResult
    finding: Finding
    columns: tuple[str, ...]
    rows: tuple[ComponentRow, ...]
    calibration: tuple[CalibrationRow, ...]
    exceeds_alpha: bool
    plots: tuple[Plot, ...]


def _finding(result: TestResult, q: float | None, alpha: float) -> Finding:
    p = result.p_value
    if p is None or q is None:
        reason = result.component(result.headline).skipped or "no p-value was computed"
        return Finding("not-tested", "—", "—", f"not tested: {reason}")
    p_text, q_text = format_risk(p, alpha), format_risk(q, alpha)
    if q <= alpha:
        return Finding(
            "anomaly", p_text, q_text, f"anomaly relative to the stated null at FDR α = {alpha:g}"
        )
    return Finding(
        "no-anomaly",
        p_text,
        q_text,
        f"no anomaly detected at FDR α = {alpha:g} — which does not show the count is clean",
    )


def _component_rows(
    components: tuple[Component, ...], headline: str, alpha: float
) -> tuple[tuple[str, ...], tuple[ComponentRow, ...]]:
    """The columns present in any component (or nested dict), and the rows, sub-rows after."""
    raw: list[tuple[str, int, bool, Mapping[str, Any], float | None, str | None]] = []

    def walk(label: str, level: int, stats: Mapping[str, Any], p: object, why: str | None) -> None:
        p_value = float(p) if isinstance(p, int | float) else None
        raw.append((label, level, level == 0 and label == headline, stats, p_value, why))
        for key, value in stats.items():
            if isinstance(value, Mapping) and level < 3:
                walk(f"{label} · {_label(key)}", level + 1, value, value.get("p_value"), None)

    for c in components:
        walk(c.name, 0, c.statistics, c.p_value, c.skipped)
    present = [
        (header, keys)
        for header, keys in _STANDARD
        if any(k in stats for *_, stats, _, _ in raw for k in keys)
    ]
    rows = []
    for label, level, is_headline, stats, p, reason in raw:
        skipped = reason if not stats else None  # with statistics, the reason goes with them
        shown: set[str] = {"p_value"}
        cells = []
        for _, keys in present:
            key = next((k for k in keys if k in stats), None)
            cells.append("" if key is None else format_number(stats[key]))
            shown.add(key or "")
        other = "; ".join(
            f"{_label(k)} = {format_number(v)}"
            for k, v in stats.items()
            if k not in shown and not isinstance(v, Mapping)
        )
        if reason is not None and stats:
            other = "; ".join(x for x in (f"not computed: {reason}", other) if x)
        p_text = "—" if p is None else format_risk(p, alpha)
        rows.append(ComponentRow(label, level, is_headline, tuple(cells), p_text, other, skipped))
    return tuple(header for header, _ in present), tuple(rows)


def _plots(result: TestResult, ident: str) -> tuple[Plot, ...]:
    details = result.details
    svgs = (
        ("fingerprint", fingerprint_svg(details.get("heatmap"), ident=f"{ident}-fingerprint")),
        ("histograms", integer_histogram_svg(details.get("histograms"), ident=f"{ident}-hist")),
        (
            "distribution" if result.valid else "claim",
            digit_svg(details.get("distribution"), result.title, ident=f"{ident}-digits"),
        ),
    )
    return tuple(Plot(kind, Markup(svg)) for kind, svg in svgs if svg is not None)


def _section(run: ForensicsRun, name: str, result: TestResult) -> Section:
    """``name`` is the test's key in the battery (q-values and calibration use it)."""
    alpha = run.settings.alpha
    columns, rows = _component_rows(result.components, result.headline, alpha)
    return Section(
        anchor=_anchor("test", name),
        result=result,
        finding=_finding(result, run.q_values.get((run.overall.name, name)), alpha),
        columns=columns,
        rows=rows,
        calibration=calibration_rows(run.calibration, name),
        exceeds_alpha=_calibration_entry(run.calibration, name).get("exceeds_alpha") is True,
        plots=_plots(result, _anchor("plot", name)),
    )


def _region_table(run: ForensicsRun) -> dict[str, Any] | None:
    regions: tuple[Stratum, ...] = run.strata[1:]
    if not regions:
        return None
    tests = [t for t, r in run.overall.results.items() if r.valid]
    titles = [run.overall.results[t].title for t in tests]
    rows = []
    for stratum in regions:
        cells = []
        for test in tests:
            result = stratum.results.get(test)
            if result is None:
                cells.append(Finding("not-tested", "—", "—", "not run"))
            else:
                q = run.q_values.get((stratum.name, test))
                cells.append(_finding(result, q, run.settings.alpha))
        rows.append((stratum, cells))
    return {"titles": titles, "rows": rows}


def _claim(details: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``claim_explanation`` flattened to (label, value) pairs for reading."""
    out: list[tuple[str, str]] = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(f"{prefix} · {_label(str(key))}" if prefix else _label(str(key)), inner)
        else:
            out.append((prefix, format_number(value)))

    explanation = details.get("claim_explanation")
    if isinstance(explanation, str):
        return [("", explanation)]
    if explanation is not None:
        walk("", explanation)
    return out


def _context(run: ForensicsRun) -> dict[str, Any]:
    loaded, settings, table = run.loaded, run.settings, run.loaded.table
    alpha = settings.alpha
    sections = [_section(run, name, r) for name, r in run.overall.results.items()]
    valid = [s for s in sections if s.result.valid]
    counts = loaded.exclusion_counts()
    negatives = [
        {
            "result": r,
            "anchor": _anchor("negative", name),
            "p_text": "—" if r.p_value is None else format_risk(r.p_value, alpha),
            "claim": _claim(r.details),
            "plots": _plots(r, _anchor("negative", name)),
        }
        for name, r in run.negative.items()
    ]
    tested = [q for q in run.q_values.values() if q is not None]
    region_rejections = [key for key in run.rejected() if key[0] != run.overall.name]
    return {
        "run": run,
        "file_name": loaded.path.name or table.source,
        "sha256": run.input_sha256 or "not recorded",
        "table": table,
        "alpha": f"{alpha:g}",
        "sections": sections,
        "summary": valid,
        "anomalies": sum(1 for s in valid if s.finding.state == "anomaly"),
        "run_tests": sum(1 for s in valid if s.finding.state != "not-tested"),
        "m": len(tested),
        "strata": len(run.strata),
        "region_rejections": len(region_rejections),
        "regions": _region_table(run),
        "rules": [(rule, text, counts.get(rule, 0)) for rule, text in EXCLUSION_RULES.items()],
        "flag_rules": [
            (rule, text, sum(1 for f in loaded.flagged if f.rule == rule))
            for rule, text in FLAG_RULES.items()
        ],
        "excluded": loaded.excluded[:LISTED_ROWS],
        "flagged": loaded.flagged[:LISTED_ROWS],
        "listed": LISTED_ROWS,
        "negatives": negatives,
        "calibration_settings": calibration_settings(run.calibration),
        "version": VERSION,
    }


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("tallyguard.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["count"] = lambda n: f"{n:,}"
    environment.filters["number"] = format_number
    environment.filters["sentence"] = lambda text: str(text).rstrip(". ") + "."
    return environment


def forensics_report_html(run: ForensicsRun) -> str:
    """Return the forensics report of ``run`` as a self-contained HTML page."""
    return _environment().get_template("forensics_report.html").render(_context(run))
