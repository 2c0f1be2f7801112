"""The forensics report's figures, drawn from the ``details`` the tests return.

* :func:`fingerprint_svg`: the election fingerprint of Klimek, Yegorov, Hanel &
  Thurner (2012, PNAS 109(41):16469-73, fig. 1), a 2-D histogram of turnout ×
  the leader's share, on a logarithmic colour scale (viridis, perceptually
  uniform, in 64 steps that the colour bar shows as they are drawn);
* :func:`integer_histogram_svg`: the 0.1-point histograms of turnout and of the
  leader's share against the null's mean and interval (Kobak, Shpilkin &
  Pshenichnikov 2016, fig. 2);
* :func:`digit_svg`: the observed proportion of each digit, the size-matched
  null's mean and interval, and the fixed law (uniform, or Benford's) dashed.

Each returns ``None`` when the details it needs are missing or malformed, so a
report of an older or partial run simply has no figure there. The SVG is
deterministic, as in :mod:`tallyguard.report.plots`: matplotlib's default style,
glyphs as paths, a fixed ``svg.hashsalt``, no date; pyplot is never used. Every
``id`` inside a figure is prefixed with its ``ident``, so several figures can be
inlined in one page without their ids (glyphs, clip paths) colliding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import matplotlib.style
import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path
from matplotlib.ticker import FuncFormatter, NullFormatter

# rcParams are process-wide: the risk plot's lock keeps threads from styling each other's figures.
from tallyguard.report.plots import MATPLOTLIB_LOCK, SVG_STYLE
from tallyguard.report.svg import inline_svg, render_svg

__all__ = ["COLOUR_LEVELS", "digit_svg", "fingerprint_svg", "integer_histogram_svg"]

#: Colour steps of the fingerprint (and of its colour bar).
COLOUR_LEVELS = 64
#: A fingerprint finer than this many bins per axis is summed into coarser cells to draw.
MAX_BINS = 200
_STYLE = {**SVG_STYLE, "svg.hashsalt": "tallyguard-forensics-plot"}
_WIDTH = 7.2  # inches
_OBSERVED = "#1f2937"
_NULL = "#c2410c"
_BAR = "#0b5cad"
_LAW = "#047857"
Array = np.ndarray[Any, np.dtype[np.float64]]


def _vector(data: object, key: str, size: int | None = None) -> Array | None:
    """``data[key]`` as a finite 1-D float array (of ``size`` values), else None."""
    if not isinstance(data, Mapping):
        return None
    try:
        values = np.asarray(data[key], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        return None
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        return None
    if size is not None and values.size != size:
        return None
    return values


def _edges(data: object, key: str) -> Array | None:
    edges = _vector(data, key)
    if edges is None or edges.size < 2 or np.any(np.diff(edges) <= 0):
        return None
    return edges


def fingerprint_svg(heatmap: object, *, ident: str = "fingerprint") -> str | None:
    """The turnout × leader's share heat map, from ``details["heatmap"]``.

    ``heatmap`` holds ``turnout_edges`` (n + 1), ``share_edges`` (m + 1) and
    ``counts`` (n turnout rows × m share columns). Edges in [0, 1] are shown in
    percent. Cells with no unit stay white; the others are coloured by log count.
    """
    turnout = _edges(heatmap, "turnout_edges")
    share = _edges(heatmap, "share_edges")
    if turnout is None or share is None or not isinstance(heatmap, Mapping):
        return None
    try:
        counts = np.asarray(heatmap["counts"], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        return None
    if counts.shape != (turnout.size - 1, share.size - 1) or not np.all(np.isfinite(counts)):
        return None
    if np.any(counts < 0) or not np.any(counts > 0):
        return None
    counts, turnout, share = _coarsen(counts, turnout, share)
    scale = 100.0 if turnout[-1] <= 1.0 + 1e-9 and share[-1] <= 1.0 + 1e-9 else 1.0
    turnout, share = turnout * scale, share * scale
    positive = counts[counts > 0]
    low, high = float(positive.min()), float(positive.max())
    norm = LogNorm(vmin=low, vmax=high if high > low else low * 10)
    cmap = colormaps["viridis"].resampled(COLOUR_LEVELS)
    level = np.full(counts.shape, -1, dtype=np.int64)
    shown = counts > 0
    scaled = np.asarray(norm(counts[shown]), dtype=np.float64)
    level[shown] = np.clip(np.floor(scaled * COLOUR_LEVELS), 0, COLOUR_LEVELS - 1)
    with MATPLOTLIB_LOCK, matplotlib.style.context(["default", _STYLE]):
        figure = Figure(figsize=(_WIDTH, 5.6), layout="constrained")
        ax = figure.subplots()
        for value, path in _level_paths(level, turnout, share):
            colour = cmap(value)
            ax.add_patch(PathPatch(path, facecolor=colour, edgecolor=colour, linewidth=0.3))
        ax.set_xlim(turnout[0], turnout[-1])
        ax.set_ylim(share[0], share[-1])
        unit = " (%)" if scale == 100.0 else ""
        ax.set_xlabel(f"turnout{unit}")
        ax.set_ylabel(f"leader's share{unit}")
        ax.set_title("Fingerprint: units by turnout and leader's share", loc="left")
        mappable = ScalarMappable(norm=norm, cmap=cmap)
        bar = figure.colorbar(mappable, ax=ax, label="units in the cell (log scale)")
        if bar.solids is not None:
            bar.solids.set_rasterized(False)  # a colour bar of 50+ steps is a PNG by default
        bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        bar.ax.yaxis.set_minor_formatter(NullFormatter())
        svg = render_svg(figure)
    total = float(counts.sum())
    description = (
        f"A heat map of {total:,.0f} units: turnout on the horizontal axis, the leader's share "
        f"of the ballots on the vertical axis, {counts.shape[0]} × {counts.shape[1]} cells, "
        f"coloured on a logarithmic scale from {low:g} to {high:g} units per cell; empty "
        "cells are white."
    )
    return _inline(svg, ident, "Fingerprint: turnout × leader's share", description)


def _coarsen(counts: Array, turnout: Array, share: Array) -> tuple[Array, Array, Array]:
    """Sum blocks of cells so neither axis has more than ``MAX_BINS`` (keeps the SVG small)."""
    for axis in (0, 1):
        n = counts.shape[axis]
        step = math.ceil(n / MAX_BINS)
        if step > 1:
            starts = np.arange(0, n, step)
            counts = np.add.reduceat(counts, starts, axis=axis)
            keep = np.append(starts, n)
            if axis == 0:
                turnout = turnout[keep]
            else:
                share = share[keep]
    return counts, turnout, share


def _level_paths(level: np.ndarray, x: Array, y: Array) -> list[tuple[int, Path]]:
    """One compound path per colour level; runs of equal level along a column are merged."""
    columns = level.shape[1]
    new = np.ones(level.shape, dtype=bool)
    new[:, 1:] = level[:, 1:] != level[:, :-1]
    flat = level.ravel()
    starts = np.flatnonzero(new.ravel())
    ends = np.append(starts[1:], flat.size) - 1
    keep = flat[starts] >= 0
    starts, ends = starts[keep], ends[keep]
    values = flat[starts]
    i, j0, j1 = starts // columns, starts % columns, ends % columns
    out = []
    for value in np.unique(values):
        mine = values == value
        x0, x1 = x[i[mine]], x[i[mine] + 1]
        y0, y1 = y[j0[mine]], y[j1[mine] + 1]
        corners = np.stack([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], axis=0)
        vertices = corners.transpose(2, 0, 1).reshape(-1, 2)
        codes = np.tile(
            [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY], int(mine.sum())
        )
        out.append((int(value), Path(vertices, codes)))
    return out


_HISTOGRAM_TITLES = {"turnout": "Turnout", "leader_share": "Leader's share"}


def integer_histogram_svg(hist: object, *, ident: str = "integer-histograms") -> str | None:
    """Turnout and leader's share in 0.1-point bins, with the null's mean and interval.

    ``hist`` is ``details["histograms"]``: for ``turnout`` and ``leader_share``,
    ``bin_edges_pct`` (n + 1), ``observed``, ``null_mean``, ``null_low`` and
    ``null_high`` (n each). A panel whose data are missing is left out; with
    neither, there is no figure.
    """
    if not isinstance(hist, Mapping):
        return None
    panels = []
    for key, title in _HISTOGRAM_TITLES.items():
        data = hist.get(key)
        edges = _edges(data, "bin_edges_pct")
        if edges is None:
            continue
        n = edges.size - 1
        observed = _vector(data, "observed", n)
        if observed is None:
            continue
        null = [_vector(data, name, n) for name in ("null_mean", "null_low", "null_high")]
        panels.append((title, edges, observed, null))
    if not panels:
        return None
    with MATPLOTLIB_LOCK, matplotlib.style.context(["default", _STYLE]):
        figure = Figure(figsize=(_WIDTH, 0.4 + 2.8 * len(panels)), layout="constrained")
        axes = figure.subplots(len(panels), 1, squeeze=False)[:, 0]
        for ax, (title, edges, observed, null) in zip(axes, panels, strict=True):
            shown = _used_bins(observed)
            edges, observed = edges[shown.start : shown.stop + 1], observed[shown]
            mean, low, high = (None if v is None else v[shown] for v in null)
            if low is not None and high is not None:
                ax.stairs(
                    np.maximum(high, low), edges, baseline=np.minimum(low, high), fill=True,
                    color=_NULL, alpha=0.25, linewidth=0, label="null interval",
                )  # fmt: skip
            if mean is not None:
                ax.stairs(mean, edges, color=_NULL, linewidth=0.9, label="null mean")
            ax.stairs(observed, edges, color=_OBSERVED, linewidth=0.7, label="observed")
            ax.set_xlim(edges[0], edges[-1])
            ax.set_title(title, loc="left")
            ax.set_ylabel("units per 0.1-point bin")
            ax.grid(True, axis="x", color="#e5e7eb", linewidth=0.6)
            ax.legend(loc="upper left", framealpha=0.9)
        axes[-1].set_xlabel("percent")
        svg = render_svg(figure)
    names = " and ".join(title.lower() for title, *_ in panels)
    description = (
        f"Histograms of {names} in bins of 0.1 percentage point: the observed number of units "
        "per bin as a dark line, the null model's mean as an orange line and its interval as "
        "a shaded band. Peaks of the dark line above the band at whole percentages are the "
        "integer-percentage anomaly the test counts."
    )
    return _inline(svg, ident, "Integer percentages: observed against the null", description)


def _used_bins(observed: Array) -> slice:
    """The bins from the first to the last with a unit, padded by 2 % of the range (>= 10 bins)."""
    used = np.flatnonzero(observed > 0)
    if used.size == 0:
        return slice(0, observed.size)
    pad = max(10, math.ceil(0.02 * observed.size))
    return slice(max(0, int(used[0]) - pad), min(observed.size, int(used[-1]) + 1 + pad))


def digit_svg(distribution: object, title: str, *, ident: str = "digits") -> str | None:
    """Observed digit proportions (bars), the null's mean and interval, and the fixed law.

    ``distribution`` is ``details["distribution"]``: ``digits``, ``observed``,
    ``null_mean``, ``null_low``, ``null_high`` and ``fixed_law``, one value per
    digit. Without ``digits`` and ``observed`` there is no figure; the rest is
    drawn when present.
    """
    digits = _vector(distribution, "digits")
    if digits is None:
        return None
    k = digits.size
    observed = _vector(distribution, "observed", k)
    if observed is None:
        return None
    mean, low, high = (
        _vector(distribution, name, k) for name in ("null_mean", "null_low", "null_high")
    )
    law = _vector(distribution, "fixed_law", k)
    with MATPLOTLIB_LOCK, matplotlib.style.context(["default", _STYLE]):
        figure = Figure(figsize=(_WIDTH, 3.6), layout="constrained")
        ax = figure.subplots()
        ax.bar(digits, observed, width=0.7, color=_BAR, alpha=0.55, label="observed")
        if mean is not None:
            if low is not None and high is not None:
                spread = np.vstack([np.maximum(mean - low, 0), np.maximum(high - mean, 0)])
                ax.errorbar(
                    digits, mean, yerr=spread, fmt="o", color=_NULL, markersize=4, capsize=4,
                    linewidth=1.2, label="null mean and interval",
                )  # fmt: skip
            else:
                ax.plot(digits, mean, "o", color=_NULL, markersize=4, label="null mean")
        if law is not None:
            ax.plot(digits, law, linestyle="--", color=_LAW, linewidth=1.4, label="fixed law")
        ax.set_xticks(digits, [f"{d:g}" for d in digits])
        ax.set_xlabel("digit")
        ax.set_ylabel("proportion of counts")
        ax.set_title(title, loc="left")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3, frameon=False)
        svg = render_svg(figure)
    description = (
        f"{title}: bars give the observed proportion of counts with each digit; orange points "
        "with error bars give the size-matched null's mean and interval; the dashed line is "
        "the fixed law, drawn for comparison only."
    )
    return _inline(svg, ident, title, description)


def _inline(svg: str, ident: str, title: str, description: str) -> str:
    return inline_svg(
        svg, ident=ident, title=title, description=description, css_class="forensics-plot"
    )
