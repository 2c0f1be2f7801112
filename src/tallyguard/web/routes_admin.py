"""The audit admin's screens: the audits, a new audit, an audit's page, jurisdictions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.inputs import KINDS
from tallyguard.errors import InputError
from tallyguard.store import accounts
from tallyguard.store.models import Audit
from tallyguard.web.render import part, render
from tallyguard.web.security import route, signed_in, web_config
from tallyguard.web.views import audit_or_404, audit_view, jurisdictions_of

router = APIRouter()


def _audits_page(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    config = web_config(request)
    with config.store.transaction() as session:
        audits = [
            {"name": a.name, "election": a.election, "kind": a.kind, "status": a.status}
            for a in session.scalars(select(Audit).order_by(Audit.name))
        ]
    return render(
        request,
        "admin_audits.html",
        {"audits": audits, "kinds": KINDS, "error": error},
        status_code=status_code,
    )


@route(router, "GET", "/admin", ["admin"])
def audits(request: Request) -> Response:
    """Every audit of the store, and the form to create one."""
    return _audits_page(request)


@route(router, "POST", "/admin/audits", ["admin"])
def create_audit(
    request: Request,
    name: Annotated[str, Form()],
    election: Annotated[str, Form()],
    kind: Annotated[str, Form()],
    risk_limit: Annotated[str, Form()],
) -> Response:
    """Create an audit through the workflow service (event ``audit.created``)."""
    config = web_config(request)
    try:
        limit = float(risk_limit)
    except ValueError:
        return _audits_page(
            request, f"The risk limit {risk_limit!r} is not a number such as 0.05.", 400
        )
    if "/" in name:
        return _audits_page(request, "An audit's name cannot contain '/'.", 400)
    try:
        with config.store.transaction() as session:
            row = service.create_audit(
                session,
                name=name.strip(),
                election=election.strip(),
                kind=kind,
                risk_limit=limit,
                method=None,
                actor=signed_in(request).actor,
            )
            created = row.name
    except InputError as error:
        return _audits_page(request, str(error), 400)
    return RedirectResponse(f"/admin/audits/{part(created)}", status_code=303)


def _audit_page(
    request: Request, audit: str, error: str | None = None, status_code: int = 200
) -> Response:
    config = web_config(request)
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        view = audit_view(session, row)
        jurisdictions = jurisdictions_of(session, row)
    return render(
        request,
        "admin_audit.html",
        {"audit": view, "jurisdictions": jurisdictions, "error": error},
        status_code=status_code,
    )


@route(router, "GET", "/admin/audits/{audit}", ["admin"])
def audit_page(request: Request, audit: str) -> Response:
    """An audit's settings, status, jurisdictions and event-log head."""
    return _audit_page(request, audit)


@route(router, "POST", "/admin/audits/{audit}/jurisdictions", ["admin"])
def add_jurisdiction(
    request: Request,
    audit: str,
    name: Annotated[str, Form()],
    manager_email: Annotated[str, Form()],
) -> Response:
    """Add a jurisdiction and its manager's account; show the temporary password once."""
    config = web_config(request)
    actor = signed_in(request).actor
    try:
        with config.store.transaction() as session:
            row = audit_or_404(session, audit)
            added = service.add_jurisdiction(session, row, name, actor)
            user, password = accounts.create_manager(
                session, row, added.name, manager_email, actor, config.now()
            )
            shown = {"audit": row.name, "jurisdiction": added.name, "email": user.email}
    except InputError as error:
        return _audit_page(request, audit, str(error), 400)
    return render(request, "manager_created.html", {**shown, "password": password})
