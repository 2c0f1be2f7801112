"""Printable downloads: a jurisdiction's ballot labels and the audit report, as PDF.

Both are printed by WeasyPrint from self-contained HTML (no script, nothing
fetched) through :func:`~tallyguard.report.pdf.audit_report_pdf`. The routes are
plain ``def`` functions, so FastAPI runs them in its threadpool and a slow print
does not block the event loop. WeasyPrint's layout is Python code that holds the
interpreter lock, so prints run one at a time (:data:`PRINTER`): two at once
would not finish sooner, and would slow every other request more.

The labels are one per sampled card of the open round in the jurisdiction, in
the retrieval order of the boards' lists and the retrieval CSV (tabulator,
batch, position), laid out for 30-per-sheet US Letter label stock (Avery 5160
geometry, see ``templates/labels.html``). A label names the audit, the round,
the jurisdiction, the card's tabulator, batch and position, its container (when
the manifest names one) and imprinted id (when its CVR has one), and the card's
ticket, the number the boards' pages show for it.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.result import Draw
from tallyguard.errors import InputError, TallyguardError
from tallyguard.report.audit_csv import PDF_FILE
from tallyguard.report.audit_html import audit_report_html
from tallyguard.report.pdf import audit_report_pdf
from tallyguard.web.render import templates
from tallyguard.web.routes_board import _IDENT, BoardList, jurisdiction_round
from tallyguard.web.routes_rounds import _rounds_page, _safe
from tallyguard.web.security import route, web_config
from tallyguard.web.views import audit_or_404

router = APIRouter()

#: Labels on one sheet of the label stock (3 columns of 10).
LABELS_PER_SHEET = 30
#: Characters of "Tabulator T · Batch B" that fit on one line of a label in the large type.
CARD_LINE = 31
#: Characters of a container or imprinted-id line that fit on one line of a label.
EXTRA_LINE = 44
#: The media type of both downloads.
PDF = "application/pdf"
#: Taken while WeasyPrint prints: one PDF at a time in this process.
PRINTER = threading.Lock()


def print_pdf(html: str) -> bytes:
    """Print self-contained ``html`` to PDF, waiting for any print under way to finish.

    Raises:
        TallyguardError: WeasyPrint or a system library it needs is missing.
    """
    with PRINTER:
        return audit_report_pdf(html)


def _crowded(draw: Draw) -> bool:
    """Whether the card's names need the smaller type to fit above the ticket line."""
    place = len(f"Tabulator {draw.tabulator} · Batch {draw.batch_name}")
    extras = [len(text) for text in (draw.container, draw.imprinted_id) if text]
    return place > CARD_LINE or len(extras) == 2 or any(n > EXTRA_LINE for n in extras)


def labels_html(audit: str, jurisdiction: str, listed: BoardList) -> str:
    """The label sheets of ``listed`` (the open round's cards of one jurisdiction) as HTML."""
    return templates.get_template("labels.html").render(
        audit=audit,
        round=listed.round,
        jurisdiction=jurisdiction,
        cards=listed.cards,
        per_sheet=LABELS_PER_SHEET,
        crowded={d.ticket for d in listed.cards if _crowded(d)},
    )


def _pdf_download(data: bytes, filename: str) -> Response:
    return Response(
        data,
        media_type=PDF,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@route(
    router,
    "GET",
    "/audits/{audit}/jurisdictions/{jurisdiction}/labels.pdf",
    ["admin", "manager"],
)
def ballot_labels(request: Request, audit: str, jurisdiction: str) -> Response:
    """Sticky labels for the open round's ballots of one jurisdiction, in retrieval order."""
    name, place, listed = jurisdiction_round(request, audit, jurisdiction, "label")
    if not listed.cards:
        raise HTTPException(
            status_code=404,
            detail=f"Round {listed.round} drew no ballot in {place}, so there is nothing to label.",
        )
    try:
        data = print_pdf(labels_html(name, place, listed))
    except TallyguardError as error:
        raise HTTPException(status_code=503, detail=str(error)) from error
    filename = f"labels-round-{listed.round}-{_IDENT.sub('-', place)}.pdf"
    return _pdf_download(data, filename)


@route(router, "GET", "/admin/audits/{audit}/report.pdf", ["admin"])
def download_report_pdf(request: Request, audit: str) -> Response:
    """The audit report as PDF, as ``tallyguard audit report`` prints it."""
    config = web_config(request)
    try:
        with config.store.transaction() as session:
            result = service.status(session, audit_or_404(session, audit))
    except InputError as error:
        return _rounds_page(request, audit, str(error), 400)
    try:
        data = print_pdf(audit_report_html(result))
    except TallyguardError as error:
        return _rounds_page(request, audit, str(error), 503)
    return _pdf_download(data, f"{_safe(audit)}-{PDF_FILE}")
