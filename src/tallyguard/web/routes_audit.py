"""Pages inside one audit: a jurisdiction (admin and its manager), a board's own page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from tallyguard.errors import InputError
from tallyguard.store import accounts
from tallyguard.store.models import InputFile
from tallyguard.web.render import part, render
from tallyguard.web.security import route, signed_in, web_config
from tallyguard.web.views import audit_or_404, audit_view, boards_of, jurisdiction_or_404

router = APIRouter()


def _jurisdiction_page(
    request: Request,
    audit: str,
    jurisdiction: str,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    config = web_config(request)
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        place = jurisdiction_or_404(session, row, jurisdiction)
        files = [
            {"role": f.role, "file": f.filename, "sha256": f.sha256, "records": f.records}
            for f in session.scalars(
                select(InputFile)
                .where(InputFile.jurisdiction_id == place.id)
                .order_by(InputFile.id)
            )
        ]
        context = {
            "audit": row.name,
            "audit_status": row.status,
            "jurisdiction": place.name,
            "files": files,
            "boards": boards_of(session, row, place.name),
            "error": error,
        }
    return render(request, "jurisdiction.html", context, status_code=status_code)


@route(router, "GET", "/audits/{audit}/jurisdictions/{jurisdiction}", ["admin", "manager"])
def jurisdiction_page(request: Request, audit: str, jurisdiction: str) -> Response:
    """A jurisdiction's loaded files and audit boards, and the form to create a board."""
    return _jurisdiction_page(request, audit, jurisdiction)


@route(router, "POST", "/audits/{audit}/jurisdictions/{jurisdiction}/boards", ["admin", "manager"])
def create_board(
    request: Request,
    audit: str,
    jurisdiction: str,
    name: Annotated[str, Form()],
    member_1: Annotated[str, Form()],
    member_2: Annotated[str, Form()],
) -> Response:
    """Create an audit board; show its join link and passphrase once (event ``board.created``)."""
    config = web_config(request)
    try:
        with config.store.transaction() as session:
            row = audit_or_404(session, audit)
            place = jurisdiction_or_404(session, row, jurisdiction)
            made = accounts.create_board(
                session,
                row,
                name,
                (member_1, member_2),
                signed_in(request).actor,
                config.now(),
                jurisdiction=place.name,
            )
            shown = {"audit": row.name, "jurisdiction": place.name, "board": made.board.name}
    except InputError as error:
        return _jurisdiction_page(request, audit, jurisdiction, str(error), 400)
    link = str(request.base_url).rstrip("/") + f"/board/join/{part(made.join_token)}"
    return render(
        request, "board_created.html", {**shown, "link": link, "passphrase": made.passphrase}
    )


@route(router, "GET", "/audits/{audit}/board", ["board"])
def board_page(request: Request, audit: str) -> Response:
    """An audit board's own page: its audit, its members and the audit's state."""
    config = web_config(request)
    principal = signed_in(request)
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        view = audit_view(session, row)
        mine = [b for b in boards_of(session, row, None) if b["name"] == principal.name]
    return render(request, "board.html", {"audit": view, "board": mine[0] if mine else None})
