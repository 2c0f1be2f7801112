"""Reports: HTML, PDF, CSV and JSON renderings of results.

The audit report renders an :class:`~tallyguard.audit.workflow.result.AuditResult`:

* :func:`audit_report_csv`: one CSV in Arlo-style sections, every number in full precision;
* :func:`audit_report_html`: a self-contained, accessible HTML page with the risk plot;
* :func:`audit_report_pdf`: that page printed to PDF by WeasyPrint (imported lazily);
* :func:`risk_plot_svg`: the risk plot alone, as deterministic inline SVG;
* :func:`write_report_files`: all of them into a directory, each file written atomically.
"""

from tallyguard.report.audit_csv import audit_report_csv, write_report_files
from tallyguard.report.audit_html import audit_report_html
from tallyguard.report.pdf import audit_report_pdf
from tallyguard.report.plots import risk_plot_svg

__all__ = [
    "audit_report_csv",
    "audit_report_html",
    "audit_report_pdf",
    "risk_plot_svg",
    "write_report_files",
]
