"""The voter-roll report's figures: the evidence behind one lead, and all scored pairs.

* :func:`waterfall_svg`: the waterfall chart of one pair's match weight, as Splink
  draws it (Linacre et al. 2022, IJPDS 7(3)): the prior weight log2 λ/(1 − λ), then
  one bar per comparison adding its weight log2 m/u for the level the pair is in
  (Fellegi & Sunter 1969, JASA 64(328):1183–1210, their eq. 2 in logs), and a bar
  for each term-frequency adjustment, ending at the pair's match weight;
* :func:`weight_histogram_svg`: the distribution of match weights of the scored
  pairs, with the threshold as a vertical line.

Weights are in bits (log2 of the odds); the top axis of each figure reads them as
match probabilities 2^w / (1 + 2^w). The SVG is deterministic, as in
:mod:`tallyguard.report.plots`: matplotlib's default style, glyphs as paths, a fixed
``svg.hashsalt``, no date; pyplot is never used. Every ``id`` inside a figure is
prefixed with its ``ident``, so that many figures can be inlined in one page.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.style
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

# rcParams are process-wide: the risk plot's lock keeps threads from styling each other's figures.
from tallyguard.report.plots import MATPLOTLIB_LOCK, SVG_STYLE
from tallyguard.report.svg import inline_svg, render_svg

__all__ = [
    "PROBABILITY_TICKS",
    "WaterfallBar",
    "format_probability",
    "probability_of",
    "waterfall_bars",
    "waterfall_svg",
    "weight_histogram_svg",
    "weight_of",
]

#: Match probabilities the top axis may mark, in order of preference; a tick is kept
#: when its weight lies in the plotted range and not too near one already kept.
PROBABILITY_TICKS = (0.5, 0.99, 0.01, 0.9999, 1e-4, 0.999999, 1e-6, 0.9, 0.1)
#: At most this many bins in the weight histogram (the bin width is at least 0.5 bit).
MAX_BINS = 100
_STYLE = {**SVG_STYLE, "svg.hashsalt": "tallyguard-rolls-plot"}
_WIDTH = 7.2  # inches
_PRIOR = "#6b7280"
_FOR = "#047857"
_AGAINST = "#b91c1c"
_FINAL = "#0b5cad"
_THRESHOLD = "#c2410c"
_LABEL_WIDTH = 52  # characters of a bar's label before it is shortened


def probability_of(weight: float) -> float:
    """Match probability 2^w / (1 + 2^w) of a match weight ``w`` in bits."""
    if weight >= 0:
        return 1.0 / (1.0 + math.pow(2.0, -weight))
    odds = math.pow(2.0, weight)
    return odds / (1.0 + odds)


def weight_of(probability: float) -> float:
    """Match weight log2(p / (1 − p)) in bits of a probability strictly between 0 and 1."""
    return math.log2(probability / (1.0 - probability))


def format_probability(p: float) -> str:
    """A probability with enough digits that a value near 1 does not read as 1.

    0.95 reads ``0.95``; 0.999953 reads ``0.999953`` (two significant digits of 1 − p);
    exactly 1 reads ``1``.
    """
    if math.isnan(p):
        return "—"
    if p >= 1.0:
        return "1"
    if p <= 0.0:
        return "0"
    if p < 0.5:
        return f"{p:.2g}" if p < 1e-4 else f"{p:.4g}"
    digits = min(12, max(4, math.ceil(-math.log10(1.0 - p)) + 1))
    text = f"{p:.{digits}f}".rstrip("0").rstrip(".")
    return "1" if text == "1" else text


@dataclass(frozen=True)
class WaterfallBar:
    """One bar of a waterfall: from ``start`` to ``start + value`` (prior and total from 0)."""

    kind: str  # "prior", "comparison", "tf" or "final"
    label: str
    start: float
    value: float

    @property
    def end(self) -> float:
        return self.start + self.value


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _level(lead: Mapping[str, Any], comparison: str, labels: Mapping[int, str]) -> str:
    gamma = lead.get(f"gamma_{comparison}")
    if isinstance(gamma, int | float) and not isinstance(gamma, bool) and math.isfinite(gamma):
        return labels.get(int(gamma), f"level {int(gamma)}")
    return "level not recorded"


def waterfall_bars(
    lead: Mapping[str, Any],
    comparisons: Sequence[str],
    labels: Mapping[str, Mapping[int, str]],
    prior_weight: float,
) -> list[WaterfallBar]:
    """The bars of ``lead``'s waterfall, top to bottom.

    The prior, one bar per comparison (``mw_<c>``; a missing or null weight counts
    0), one per non-null ``mw_tf_adj_<c>``, and the final match weight: the lead's
    ``match_weight`` when it has one, else the running sum.
    """
    prior = f"prior (λ = {format_probability(probability_of(prior_weight))})"
    bars = [WaterfallBar("prior", prior, 0.0, prior_weight)]
    total = prior_weight
    for comparison in comparisons:
        level = _level(lead, comparison, labels.get(comparison, {}))
        weight = _number(lead.get(f"mw_{comparison}")) or 0.0
        bars.append(WaterfallBar("comparison", f"{comparison}: {level}", total, weight))
        total += weight
        adjustment = _number(lead.get(f"mw_tf_adj_{comparison}"))
        if adjustment is not None:
            bars.append(WaterfallBar("tf", f"{comparison} (term frequency)", total, adjustment))
            total += adjustment
    final = _number(lead.get("match_weight"))
    bars.append(WaterfallBar("final", "Final match weight", 0.0, total if final is None else final))
    return bars


def _colour(bar: WaterfallBar) -> str:
    if bar.kind == "prior":
        return _PRIOR
    if bar.kind == "final":
        return _FINAL
    return _FOR if bar.value >= 0 else _AGAINST


def _probability_axis(ax: Axes, low: float, high: float) -> None:
    """A top axis marking where the weight axis reaches some round match probabilities."""
    gap = (high - low) / 14
    ticks: list[tuple[float, float]] = []
    for p in PROBABILITY_TICKS:
        weight = weight_of(p)
        if low <= weight <= high and all(abs(weight - w) >= gap for w, _ in ticks):
            ticks.append((weight, p))
    ticks.sort()
    top = ax.secondary_xaxis("top")
    top.set_xticks([w for w, _ in ticks], [format_probability(p) for _, p in ticks], fontsize=7.5)
    top.set_xlabel("match probability", fontsize=8)


def _bits(value: float, *, signed: bool = False) -> str:
    """A weight to 2 decimals with a true minus sign (and a plus sign when ``signed``)."""
    text = f"{value:+.2f}" if signed else f"{value:.2f}"
    return text.replace("-", "−", 1)


def waterfall_svg(
    lead: Mapping[str, Any],
    comparisons: Sequence[str],
    labels: Mapping[str, Mapping[int, str]],
    prior_weight: float,
    *,
    ident: str,
) -> str:
    """The waterfall chart of one pair's match weight, as inline SVG.

    ``lead`` is one row of the leads (``id_l``, ``id_r``, ``match_weight``,
    ``match_probability``, ``gamma_<c>``, ``mw_<c>``, optionally ``mw_tf_adj_<c>``);
    ``labels`` maps each comparison's gamma values to their level labels
    (:func:`tallyguard.rolls.linkage.level_labels`); ``prior_weight`` is
    log2 λ/(1 − λ). Each bar is labelled by its comparison and the level the pair
    is in, and annotated with the bits it adds.
    """
    bars = waterfall_bars(lead, comparisons, labels, prior_weight)
    final = bars[-1].value
    probability = _number(lead.get("match_probability"))
    if probability is None:
        probability = probability_of(final)
    ends = [0.0, *(b.start for b in bars), *(b.end for b in bars)]
    low, high = min(ends), max(ends)
    span = max(high - low, 1.0)
    low, high = low - 0.14 * span, high + 0.14 * span
    pair = f"{_short(str(lead.get('id_l')), 24)} and {_short(str(lead.get('id_r')), 24)}"
    title = (
        f"Pair {pair}: match weight {_bits(final)} bits, "
        f"probability {format_probability(probability)}"
    )
    with MATPLOTLIB_LOCK, matplotlib.style.context(["default", _STYLE]):
        figure = Figure(figsize=(_WIDTH, 1.3 + 0.3 * len(bars)), layout="constrained")
        ax = figure.subplots()
        rows = np.arange(len(bars), dtype=np.float64)
        ax.barh(
            rows,
            [b.value for b in bars],
            left=[b.start for b in bars],
            height=0.62,
            color=[_colour(b) for b in bars],
        )
        for y, bar in zip(rows, bars, strict=True):
            right = bar.value >= 0
            ax.text(
                bar.end + (0.01 if right else -0.01) * span,
                float(y),
                _bits(bar.value, signed=bar.kind in ("comparison", "tf")),
                ha="left" if right else "right",
                va="center",
                fontsize=7.5,
            )
        for row, bar in enumerate(bars[:-1]):  # dotted connectors, as in Splink's chart
            ax.plot([bar.end] * 2, [row - 0.31, row + 1.31], color="#9ca3af", lw=0.7, ls=":")
        ax.axvline(0.0, color="#4b5563", linewidth=0.7)
        ax.set_yticks(rows, [_short(b.label, _LABEL_WIDTH) for b in bars], fontsize=7.5)
        ax.set_ylim(len(bars) - 0.5, -0.5)  # first bar on top
        ax.set_xlim(low, high)
        ax.set_xlabel("match weight (bits: log2 of the odds that the records are one person)")
        figure.suptitle(title, x=0.01, ha="left", fontsize=9.5)
        ax.grid(True, axis="x", color="#e5e7eb", linewidth=0.6)
        ax.set_axisbelow(True)
        _probability_axis(ax, low, high)
        svg = render_svg(figure)
    steps = "; ".join(f"{b.label}: {_bits(b.value, signed=True)}" for b in bars[1:-1])
    description = (
        f"Waterfall of the match weight of the pair {pair}. It starts at the prior match "
        f"weight {_bits(prior_weight)} bits; then {steps or 'no comparison'}; the final match "
        f"weight is {_bits(final)} bits, a match probability of "
        f"{format_probability(probability)}."
    )
    return _inline(svg, ident, title, description)


def weight_histogram_svg(
    weights: np.ndarray[Any, np.dtype[Any]], threshold_weight: float, *, ident: str
) -> str:
    """The match weights of the scored pairs as a histogram, with the threshold as a line.

    ``threshold_weight`` is log2 t/(1 − t) of the probability threshold ``t``.
    Non-finite weights are left out (and counted in the description). With no
    weight at all, the axes carry a note saying so. The count axis turns
    logarithmic when the fullest bin holds over 100 times the emptiest.
    """
    values = np.asarray(weights, dtype=np.float64).ravel()
    finite = values[np.isfinite(values)]
    dropped = values.size - finite.size
    above = int(np.count_nonzero(finite >= threshold_weight))
    threshold_p = probability_of(threshold_weight)
    title = f"Match weights of {finite.size:,} scored pairs"
    with MATPLOTLIB_LOCK, matplotlib.style.context(["default", _STYLE]):
        figure = Figure(figsize=(_WIDTH, 3.6), layout="constrained")
        ax = figure.subplots()
        if finite.size:
            edges = _bin_edges(finite, threshold_weight)
            counts, _ = np.histogram(finite, bins=edges)
            ax.stairs(counts, edges, fill=True, color=_FINAL, alpha=0.7, label="scored pairs")
            positive = counts[counts > 0]
            if positive.max() > 100 * positive.min():
                ax.set_yscale("log")
                ax.set_ylim(0.7, float(positive.max()) * 1.6)
                ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
                ax.yaxis.set_minor_formatter(NullFormatter())
            low, high = float(edges[0]), float(edges[-1])
        else:
            low, high = threshold_weight - 10.0, threshold_weight + 10.0
            ax.text(0.5, 0.5, "no scored pairs", transform=ax.transAxes, ha="center", va="center")
        ax.axvline(
            threshold_weight,
            color=_THRESHOLD,
            linestyle="--",
            linewidth=1.4,
            label=f"threshold: weight {_bits(threshold_weight)}, "
            f"p = {format_probability(threshold_p)}",
        )
        ax.set_xlim(low, high)
        ax.set_xlabel("match weight (bits)")
        ax.set_ylabel("pairs per bin")
        figure.suptitle(title, x=0.01, ha="left", fontsize=10)
        ax.legend(loc="best", framealpha=0.9)
        _probability_axis(ax, low, high)
        svg = render_svg(figure)
    description = (
        f"A histogram of the match weights of {finite.size:,} scored pairs: {above:,} at or "
        f"above the threshold weight {_bits(threshold_weight)} bits (match probability "
        f"{format_probability(threshold_p)}), drawn as a dashed line, and "
        f"{finite.size - above:,} below it."
    )
    if dropped:
        description += (
            f" {dropped:,} pair{'s' if dropped != 1 else ''} with no finite weight left out."
        )
    return _inline(svg, ident, title, description)


def _bin_edges(values: np.ndarray[Any, np.dtype[np.float64]], threshold: float) -> Any:
    """Bin edges at whole multiples of the width, one edge on the threshold."""
    low = min(float(values.min()), threshold)
    high = max(float(values.max()), threshold)
    width = max(0.5, (high - low) / MAX_BINS)
    start = threshold - math.ceil((threshold - low) / width + 1e-9) * width
    count = max(1, math.ceil((high - start) / width + 1e-9))
    if start + count * width <= high:
        count += 1
    return start + width * np.arange(count + 1, dtype=np.float64)


def _short(text: str, width: int) -> str:
    return textwrap.shorten(text, width=width, placeholder="…") or text[:width]


def _inline(svg: str, ident: str, title: str, description: str) -> str:
    return inline_svg(
        svg, ident=ident, title=title, description=description, css_class="rolls-plot", compact=True
    )
