"""Observer pages, open to anyone: every audit's state, seed, input digests and log head."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from tallyguard.store.models import Audit
from tallyguard.web.render import render
from tallyguard.web.security import route, web_config
from tallyguard.web.views import audit_or_404, audit_view

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
