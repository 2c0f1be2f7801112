"""Observer pages, open to anyone: every audit's state, seed, input digests and log head."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from tallyguard.store.models import Audit
from tallyguard.web.render import render, templates
from tallyguard.web.security import route, web_config
from tallyguard.web.views import audit_or_404, audit_view, log_head

router = APIRouter()


@route(router, "GET", "/public", ["public"])
def public_index(request: Request) -> Response:
    """The audits of this server, for observers."""
    config = web_config(request)
    with config.store.transaction() as session:
        audits = [
            {"name": a.name, "election": a.election, "status": a.status}
            for a in session.scalars(select(Audit).order_by(Audit.name))
        ]
    return render(request, "public_index.html", {"audits": audits})


@route(router, "GET", "/public/{audit}", ["public"])
def public_audit(request: Request, audit: str) -> Response:
    """One audit for observers: settings, seed, frozen input digests, risk, the log's head."""
    config = web_config(request)
    with config.store.transaction() as session:
        view = audit_view(session, audit_or_404(session, audit))
    return render(request, "public_audit.html", {"audit": view})


#: How many rendered status sections an app keeps. An audit's status changes only with a
#: new event, so pages polling an unchanged audit cost one small query, not a recount.
_SECTIONS_KEPT = 64


@route(router, "GET", "/public/{audit}/status", ["public"], passive=True)
def public_status(request: Request, audit: str) -> Response:
    """The status section alone (state, risk per contest, rounds), which open pages poll.

    Passive: it reads no session, so a page left open does not keep one alive.
    """
    config = web_config(request)
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        key = (row.name, *log_head(session, row))
        kept = config.status_sections
        section = kept.get(key)
        if section is None:
            section = templates.get_template("_status.html").render(
                audit=audit_view(session, row), poll_seconds=config.poll_seconds
            )
            while len(kept) >= _SECTIONS_KEPT:
                kept.pop(next(iter(kept)), None)
            kept[key] = section
    return HTMLResponse(section)
