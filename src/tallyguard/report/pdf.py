"""The audit report as PDF: the HTML page printed by WeasyPrint.

WeasyPrint is imported only when a PDF is asked for, so the rest of
:mod:`tallyguard.report` works without it (or without the Pango libraries it
loads). The page's print stylesheet sets A4 pages with numbered footers and
repeats table headers across page breaks. Nothing is fetched while printing:
the page is self-contained, and any URL it might name is refused.
"""

from __future__ import annotations

import logging
import re
from typing import Any, NoReturn

from tallyguard.errors import TallyguardError

__all__ = ["audit_report_pdf"]

_FIX = (
    "Fix: install WeasyPrint (pip install 'weasyprint>=62') and the system libraries it "
    "loads (Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0 "
    "libharfbuzz0b libharfbuzz-subset0; macOS: brew install pango), or write the report "
    "without PDF: the HTML and CSV reports need neither."
)


_SVG_STYLE = re.compile(r"^Ignored `(?:fill|stroke)(?:-[a-z]+)?: .*unknown property\.$")


class _SvgStyleNoise(logging.Filter):
    """Drop WeasyPrint's warnings about the SVG styles of the inline plot.

    WeasyPrint applies its HTML cascade to the ``style`` attributes inside inline
    SVG and warns that ``fill``, ``stroke``... are unknown CSS properties, then
    draws the SVG with them all the same; a report would log hundreds of these.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not _SVG_STYLE.match(record.getMessage())


def _refuse(url: str, *args: object, **kwargs: object) -> NoReturn:
    raise ValueError(f"the audit report is self-contained; refusing to fetch {url!r}")


def _no_fetching(weasyprint: Any) -> object:
    """A URL fetcher that fetches nothing (a ``URLFetcher`` where WeasyPrint has one)."""
    fetcher = getattr(weasyprint, "URLFetcher", None)
    return _refuse if fetcher is None else fetcher(allowed_protocols=())


def audit_report_pdf(html: str) -> bytes:
    """Print the HTML report ``html`` to PDF bytes.

    Raises:
        TallyguardError: WeasyPrint or a system library it needs is missing.
    """
    try:
        import weasyprint  # type: ignore[import-untyped]
    except (ImportError, OSError) as error:  # OSError: a shared library failed to load
        raise TallyguardError(f"cannot write the PDF report: {error}. {_FIX}") from error
    logger, noise = logging.getLogger("weasyprint"), _SvgStyleNoise()
    logger.addFilter(noise)
    try:
        pdf: bytes = weasyprint.HTML(string=html, url_fetcher=_no_fetching(weasyprint)).write_pdf()
    finally:
        logger.removeFilter(noise)
    return pdf
