"""Observer pages, open to anyone: every audit's state, seed, input digests and log head."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.export import sample_csv
from tallyguard.audit.workflow.state import rounds_of
from tallyguard.errors import InputError, VerificationError
from tallyguard.store.models import Audit
from tallyguard.web.render import render, templates
from tallyguard.web.routes_board import _IDENT
from tallyguard.web.routes_rounds import bundle_archive, send_archive
from tallyguard.web.security import WebConfig, route, web_config
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


#: How many rendered status sections and sample files an app keeps. An audit's status and
#: sample change only with a new event, so pages polling an unchanged audit cost one small
#: query, not a recount.
_SECTIONS_KEPT = 64


@route(router, "GET", "/public/{audit}/status", ["public"], passive=True)
def public_status(request: Request, audit: str) -> Response:
    """The status section alone (state, risk per contest, rounds), which open pages poll.

    Passive: it reads no session, so a page left open does not keep one alive.
    """
    config = web_config(request)
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        key = ("status", row.name, *log_head(session, row))
        section = _kept(config, key)
        if section is None:
            section = templates.get_template("_status.html").render(
                audit=audit_view(session, row), poll_seconds=config.poll_seconds
            )
            _keep(config, key, section)
    return HTMLResponse(section)


@route(router, "GET", "/public/{audit}/sample.csv", ["public"])
def public_sample(request: Request, audit: str) -> Response:
    """The sample drawn so far, every round, with whether each card is audited (CSV).

    Anyone can draw it again from the published seed and manifests; ``tallyguard
    verify`` on the bundle does.
    """
    config = web_config(request)
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        key = ("sample", row.name, *log_head(session, row))
        text = _kept(config, key)
        if text is None:
            if not rounds_of(session, row):
                raise HTTPException(status_code=404, detail="No sample is drawn yet.")
            try:
                text = sample_csv(service.status(session, row))
            except InputError as error:
                raise HTTPException(status_code=400, detail=str(error)) from error
            _keep(config, key, text)
        name = row.name
    filename = f"{_IDENT.sub('-', name)}-sample.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@route(router, "GET", "/public/{audit}/bundle.zip", ["public"])
def public_bundle(request: Request, audit: str) -> Response:
    """The verification bundle as the admin downloads it, for anyone to check with
    ``tallyguard verify``."""
    try:
        folder, archive, name = bundle_archive(request, audit)
    except (InputError, VerificationError) as error:
        raise HTTPException(status_code=400, detail=str(error)) from error
    return send_archive(folder, archive, name)


def _kept(config: WebConfig, key: tuple[str, str, int, str | None]) -> str | None:
    return config.rendered.get(key)


def _keep(config: WebConfig, key: tuple[str, str, int, str | None], text: str) -> None:
    kept = config.rendered
    while len(kept) >= _SECTIONS_KEPT:
        kept.pop(next(iter(kept)), None)
    kept[key] = text
