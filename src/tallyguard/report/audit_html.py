"""The audit report as one self-contained HTML page (and the source of the PDF).

The page is rendered from ``templates/audit_report.html`` with autoescaping on,
since every contest, choice, jurisdiction and batch name comes from a user's
file. It needs nothing from the network: the stylesheet is inlined in a
``<style>`` element, the risk plot (:mod:`tallyguard.report.plots`) is inline
SVG, and there is no JavaScript. Numbers are rounded for reading (a risk is
shown with as many digits as it takes to tell it apart from the risk limit);
the CSV report holds every value in full precision.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup

from tallyguard import __version__
from tallyguard.audit.workflow.result import AuditResult, ContestStatus
from tallyguard.report.plots import risk_plot_svg

__all__ = ["KIND_LABELS", "METHOD_LABELS", "audit_report_html", "format_risk"]

KIND_LABELS: Mapping[str, str] = {
    "polling": "ballot polling",
    "comparison": "ballot-level comparison",
    "batch": "batch comparison",
}
METHOD_LABELS: Mapping[str, str] = {
    "bravo": "BRAVO",
    "alpha": "ALPHA",
    "betting": "betting martingale",
    "kaplan-markov": "Kaplan–Markov",
}


@dataclass(frozen=True)
class Verdict:
    """What the report says about one contest, in words."""

    contest: ContestStatus
    state: str  # "confirmed", "not-confirmed" or "no-test" (CSS class and test hook)
    headline: str
    risk_text: str
    explanation: str


def format_risk(value: float, limit: float) -> str:
    """``value`` with 4 significant digits, or more when 4 would blur it with ``limit``.

    A risk of 0.050004 against a limit of 0.05 reads ``0.050004``, not ``0.05``.
    """
    if math.isnan(value):
        return "—"
    digits = 4
    text = f"{value:.{digits}g}"
    while digits < 17 and value != limit and float(text) == float(f"{limit:.{digits}g}"):
        digits += 1
        text = f"{value:.{digits}g}"
    return text


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def _verdict(result: AuditResult, contest: ContestStatus, tested: set[str]) -> Verdict:
    limit = result.risk_limit
    risk = format_risk(contest.risk, limit)
    limit_text = f"{limit:g}"
    if contest.confirmed:
        return Verdict(
            contest,
            "confirmed",
            "Outcome confirmed",
            f"risk {risk} ≤ risk limit {limit_text}",
            "The paper ballots examined support the reported outcome at the risk limit.",
        )
    if contest.contest not in tested:
        return Verdict(
            contest,
            "no-test",
            "Not confirmed: no assertion to test",
            "no risk measured",
            "This outcome cannot be checked by sampling; see the notes below.",
        )
    if contest.audited == 0:
        why = "No ballots have been audited yet."
    elif contest.targeted:
        why = (
            "The evidence so far is not strong enough. This is not evidence that the outcome "
            "is wrong: the audit continues with more ballots, or with a full hand count."
        )
    else:
        why = (
            "This contest is audited opportunistically: the sample size was not chosen for "
            "it, so it often stays unconfirmed. That is not evidence that its outcome is wrong."
        )
    return Verdict(
        contest,
        "not-confirmed",
        "Not confirmed yet",
        f"risk {risk} > risk limit {limit_text}",
        why,
    )


def _context(result: AuditResult) -> dict[str, Any]:
    tested = {a.contest for a in result.assertions}
    plot = risk_plot_svg(result)
    batch = result.kind == "batch"
    return {
        "result": result,
        "kind_label": KIND_LABELS.get(result.kind, result.kind),
        "method_label": METHOD_LABELS.get(result.method, result.method),
        "risk_limit": f"{result.risk_limit:g}",
        "risk_limit_percent": _percent(result.risk_limit),
        "unit": "batch" if batch else "ballot card",
        "units": "batches" if batch else "ballot cards",
        "batch": batch,
        "verdicts": [_verdict(result, c, tested) for c in result.contests],
        "any_confirmed": any(c.confirmed for c in result.contests),
        "audited": sum(1 for d in result.sample if d.audited),
        "contest_names": [c.contest for c in result.contests],
        "plot": None if plot is None else Markup(plot),  # escaped by plots
        "version": __version__,
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
    environment.filters["risk"] = format_risk
    environment.filters["count"] = lambda n: f"{n:,}"
    environment.filters["yesno"] = lambda flag: "yes" if flag else "no"
    return environment


def audit_report_html(result: AuditResult) -> str:
    """Return the audit report of ``result`` as a self-contained HTML page."""
    return _environment().get_template("audit_report.html").render(_context(result))
