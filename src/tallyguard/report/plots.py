"""The risk plot: each assertion's sequential p-value against the ballots audited.

One figure per audit, one panel per contest with a risk path, the panels sharing
their x axis (every contest of a ballot-level audit is measured on the same
sample). Each panel draws the risk (p-value, log scale) of every assertion after
1, 2, ... audited draws, the risk limit as a horizontal line, and the end of each
round as a dotted vertical line. A contest can have many assertions (an approval
or multi-winner contest has one per winner-loser pair); only the tightest few
(smallest margins, plus the one that sets the contest's risk) get a colour and a
legend entry, the rest are drawn in grey.

The SVG is deterministic: matplotlib's default style (not the user's
``matplotlibrc``), glyphs drawn as paths, a fixed ``svg.hashsalt`` for element
ids and no date in the metadata, so the same result gives byte-identical SVG.
The figure is built on :class:`matplotlib.figure.Figure` directly; pyplot's
global figure registry is never touched.
"""

from __future__ import annotations

import html
import io
import re
import textwrap
import threading
from collections.abc import Sequence

import matplotlib.style
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from tallyguard.audit.workflow.result import AssertionStatus, AuditResult

__all__ = ["LABELLED_ASSERTIONS", "plotted_contests", "risk_plot_svg"]

#: How many assertions per contest get a colour and a legend entry.
LABELLED_ASSERTIONS = 4

SVG_STYLE = {
    "svg.hashsalt": "tallyguard-risk-plot",
    "svg.fonttype": "path",  # glyphs as paths: no font needed where the SVG is shown
    "text.parse_math": False,  # a "$" in a contest name is a dollar sign, not TeX
    "font.family": "DejaVu Sans",  # shipped with matplotlib
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "legend.fontsize": 7.5,
}
_COLOURS = ("#0b5cad", "#c2410c", "#047857", "#7c3aed", "#b45309", "#be185d")
_OTHERS = "#9ca3af"
_LIMIT = "#b91c1c"
_PANEL_HEIGHT = 2.9  # inches
_WIDTH = 7.2  # inches
# rcParams are process-wide: a lock keeps two threads from styling each other's figures.
MATPLOTLIB_LOCK = threading.Lock()


def plotted_contests(result: AuditResult) -> list[str]:
    """The contests that get a panel: those with at least one assertion with a risk path."""
    plotted = {a.contest for a in result.assertions if a.p_values}
    return [c.contest for c in result.contests if c.contest in plotted]


def risk_plot_svg(result: AuditResult) -> str | None:
    """Return the risk plot of ``result`` as inline SVG text, or ``None`` with nothing to plot.

    There is nothing to plot before the first draw is audited. The returned text
    starts at ``<svg`` (no XML prolog), carries ``role="img"``, an ``aria-label``
    and a ``<title>``, and scales to its container's width.
    """
    contests = plotted_contests(result)
    if not contests:
        return None
    unit = "batches" if result.kind == "batch" else "ballot cards"
    with MATPLOTLIB_LOCK, matplotlib.style.context(["default", SVG_STYLE]):
        figure = Figure(figsize=(_WIDTH, 0.5 + _PANEL_HEIGHT * len(contests)), layout="constrained")
        axes = figure.subplots(len(contests), 1, sharex=True, squeeze=False)[:, 0]
        for ax, contest in zip(axes, contests, strict=True):
            assertions = [a for a in result.assertions if a.contest == contest and a.p_values]
            _panel(ax, contest, assertions, result)
        axes[-1].set_xlabel(f"{unit} audited (in sample order)")
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    title = f"Risk of each assertion against {unit} audited: {result.name}"
    return _inline(buffer.getvalue(), title, _description(result, contests, unit))


def _panel(
    ax: Axes, contest: str, assertions: Sequence[AssertionStatus], result: AuditResult
) -> None:
    labelled = _labelled(assertions)
    longest = max(len(a.p_values) for a in assertions)
    positive = [p for a in assertions for p in a.p_values if p > 0]
    floor = min([*positive, result.risk_limit]) / 3  # p = 0 (certainty) drawn at the floor
    handles: list[Line2D] = []
    labels: list[str] = []
    marker = "o" if longest <= 30 else None
    named = {id(a) for a in labelled}
    others = [a for a in assertions if id(a) not in named]
    for a in others:  # first, so that the labelled lines are drawn on top of them
        (grey,) = ax.plot(
            range(1, len(a.p_values) + 1),
            [max(p, floor) for p in a.p_values],
            color=_OTHERS,
            linewidth=0.9,
            marker=marker,
            markersize=2,
        )
    for index, a in enumerate(labelled):
        (line,) = ax.plot(
            range(1, len(a.p_values) + 1),
            [max(p, floor) for p in a.p_values],
            color=_COLOURS[index % len(_COLOURS)],
            linewidth=1.6,
            marker=marker,
            markersize=3,
        )
        handles.append(line)
        labels.append(f"{_short_name(a)} (margin {a.margin:.3g})")
    if others:
        handles.append(grey)
        labels.append(f"{len(others)} other assertion{'s' if len(others) > 1 else ''}")
    limit = ax.axhline(result.risk_limit, color=_LIMIT, linestyle="--", linewidth=1.2)
    handles.append(limit)
    labels.append(f"risk limit {result.risk_limit:g}")
    right = max([longest, *(r.sample_size for r in result.rounds)])
    for status in result.rounds:
        ax.axvline(status.sample_size, color="#4b5563", linestyle=":", linewidth=1.0)
    if result.rounds:
        top = ax.secondary_xaxis("top")
        top.set_xticks(
            [r.sample_size for r in result.rounds],
            [f"end of round {r.round}" for r in result.rounds],
            fontsize=7,
            color="#4b5563",
        )
        top.tick_params(length=3, color="#4b5563")
    ax.set_yscale("log")
    ax.set_ylim(floor / 1.5, 1.6)
    ax.set_xlim(0, right + max(1.0, right * 0.02))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.set_ylabel("risk (p-value)")
    ax.set_title(textwrap.shorten(contest, width=90, placeholder="…"), loc="left")
    ax.grid(True, which="major", axis="y", color="#e5e7eb", linewidth=0.6)
    # Explicit handles and labels: a name starting with "_" must not be dropped.
    ax.legend(handles, labels, loc="best", framealpha=0.9)


def _labelled(assertions: Sequence[AssertionStatus]) -> list[AssertionStatus]:
    """The tightest assertions by margin, plus the one whose risk is the contest's risk."""
    tightest = sorted(assertions, key=lambda a: (a.margin, a.assertion))[:LABELLED_ASSERTIONS]
    riskiest = max(assertions, key=lambda a: a.p_value)
    if all(a is not riskiest for a in tightest):
        tightest[-1] = riskiest
    return tightest


def _short_name(assertion: AssertionStatus) -> str:
    """``"Mayor: Alice beats Bob"`` reads ``"Alice beats Bob"`` inside the Mayor panel."""
    name = assertion.assertion
    prefix = f"{assertion.contest}: "
    name = name.removeprefix(prefix)
    return textwrap.shorten(name, width=60, placeholder="…")


def _description(result: AuditResult, contests: Sequence[str], unit: str) -> str:
    ends = ", ".join(f"round {r.round} at {r.sample_size}" for r in result.rounds)
    text = (
        f"One panel per contest ({', '.join(contests)}): the risk (p-value, log scale) of "
        f"each assertion after each of the {unit} audited so far, with the risk limit "
        f"{result.risk_limit:g} as a dashed horizontal line. A contest is confirmed when "
        "every one of its assertions is at or below the risk limit."
    )
    if ends:
        text += f" Dotted vertical lines mark where rounds end ({ends} draws)."
    return text


_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
_SIZE = re.compile(r'<svg\b([^>]*?)\swidth="[^"]*"\s+height="[^"]*"')


def _inline(svg: str, title: str, description: str) -> str:
    """Make matplotlib's SVG document fit for inlining in HTML (accessible, responsive)."""
    svg = _PROLOG.sub("", svg, count=1)
    svg = _SIZE.sub(r"<svg\1", svg, count=1)  # the viewBox stays; CSS sets the width
    svg = _METADATA.sub("", svg, count=1)  # RDF naming matplotlib; no use inline
    title_attr = html.escape(title, quote=True)
    svg = svg.replace(
        "<svg ",
        f'<svg class="risk-plot" role="img" aria-label="{title_attr}" '
        'aria-labelledby="risk-plot-title" aria-describedby="risk-plot-desc" ',
        1,
    )
    opening_end = svg.index(">") + 1
    accessible = (
        f'\n <title id="risk-plot-title">{html.escape(title, quote=False)}</title>'
        f'\n <desc id="risk-plot-desc">{html.escape(description, quote=False)}</desc>'
    )
    return svg[:opening_end] + accessible + svg[opening_end:].rstrip() + "\n"
