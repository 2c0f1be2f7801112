"""Matplotlib figures as SVG fit to inline in a self-contained HTML report.

Both the forensics and the voter-roll reports put several charts on one page, so
each chart's ids are prefixed with its own ident; the XML prolog, fixed size and
metadata go (the viewBox stays, CSS sets the width); path coordinates are rounded
to 0.01 pt, a few times finer than a print dot, which makes the file about a third
smaller; and the chart gets a title and description for screen readers.
"""

from __future__ import annotations

import html
import io
import re

from matplotlib.figure import Figure

_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
_SIZE = re.compile(r'<svg\b([^>]*?)\swidth="[^"]*"\s+height="[^"]*"')
_ID = re.compile(r'\bid="([^"]+)"')
_HREF = re.compile(r'\b((?:xlink:)?href)="#([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")
_IDENT = re.compile(r"[^a-z0-9-]+")
_INDENT = re.compile(r"\n[ \t]+")
_PATH_DATA = re.compile(r'(\sd=")([^"]*)"')
_LONG_DECIMAL = re.compile(r"-?\d+\.\d{3,}")


def render_svg(figure: Figure) -> str:
    """The figure as SVG text, without a date (so the same figure gives the same bytes)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _rounded(number: re.Match[str]) -> str:
    text = f"{float(number.group(0)):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def inline_svg(
    svg: str,
    *,
    ident: str,
    title: str,
    description: str,
    css_class: str,
    compact: bool = False,
) -> str:
    """Fit matplotlib's SVG for inlining: ids prefixed with ``ident``, title and desc.

    ``compact`` also drops matplotlib's indentation (a fifth of the bytes).
    """
    prefix = _IDENT.sub("-", ident.lower()).strip("-") or "plot"
    svg = _PROLOG.sub("", svg, count=1)
    svg = _SIZE.sub(r"<svg\1", svg, count=1)
    svg = _METADATA.sub("", svg, count=1)
    if compact:
        svg = _INDENT.sub("\n", svg)
    svg = _PATH_DATA.sub(lambda m: f'{m.group(1)}{_LONG_DECIMAL.sub(_rounded, m.group(2))}"', svg)
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = _HREF.sub(lambda m: f'{m.group(1)}="#{prefix}-{m.group(2)}"', svg)
    svg = _URL.sub(lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    label = html.escape(title, quote=True)
    svg = svg.replace(
        "<svg ",
        f'<svg class="{css_class}" role="img" aria-label="{label}" '
        f'aria-labelledby="{prefix}-title" aria-describedby="{prefix}-desc" ',
        1,
    )
    opening_end = svg.index(">") + 1
    accessible = (
        f'\n <title id="{prefix}-title">{html.escape(title, quote=False)}</title>'
        f'\n <desc id="{prefix}-desc">{html.escape(description, quote=False)}</desc>'
    )
    return svg[:opening_end] + accessible + svg[opening_end:].rstrip() + "\n"
