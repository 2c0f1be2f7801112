"""A jurisdiction manager's uploads: the ballot manifest, the CVRs and the batch tallies.

Each upload is copied to a temporary file under its own name and handed to the
same service function the command line uses (:func:`service.load_manifest`,
:func:`service.load_cvrs`, :func:`service.load_batch_tallies`), inside one store
transaction: the file is read by the command line's readers, and a file with a
problem changes nothing. The problem is shown on the page (status 400) with the
file, line and field the reader names.

A request larger than :data:`MAX_UPLOAD_BYTES` is refused (413) from its
``Content-Length`` header, before the form is parsed; a body that turns out
larger than it announced is refused while it is copied.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from tallyguard.audit.workflow import service
from tallyguard.errors import InputError
from tallyguard.io.detect import CVR_FORMATS
from tallyguard.store.models import Audit, Batch, InputFile
from tallyguard.web.render import part, render
from tallyguard.web.security import route, signed_in, web_config
from tallyguard.web.views import audit_or_404, jurisdiction_or_404

#: The largest upload accepted, in bytes (the whole multipart request).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
_COPY_CHUNK = 1024 * 1024
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _too_large() -> HTTPException:
    limit = MAX_UPLOAD_BYTES / (1024 * 1024)
    return HTTPException(
        status_code=413,
        detail=f"The file is too large: uploads are limited to {limit:g} MB. "
        "Split the export by jurisdiction, or load it with the command line.",
    )


async def limit_upload_size(request: Request) -> None:
    """Refuse a POST whose declared length exceeds :data:`MAX_UPLOAD_BYTES` (413).

    It runs before the route's guard, so an oversized body is never parsed.
    """
    if request.method != "POST":
        return
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise _too_large()


router = APIRouter(dependencies=[Depends(limit_upload_size)])

_BASE = "/audits/{audit}/jurisdictions/{jurisdiction}/files"


def safe_filename(name: str | None, default: str) -> str:
    """The upload's file name without folders or unusual characters (``default`` if none)."""
    base = Path((name or "").replace("\\", "/")).name
    cleaned = _SAFE_NAME.sub("_", base).strip("._")
    return cleaned[:120] or default


def save_upload(upload: UploadFile, directory: Path, default: str) -> Path:
    """Copy an upload into ``directory`` under its safe name, chunk by chunk.

    Raises:
        HTTPException: 413 when the file exceeds :data:`MAX_UPLOAD_BYTES`.
    """
    target = directory / safe_filename(upload.filename, default)
    written = 0
    with target.open("wb") as out:
        while chunk := upload.file.read(_COPY_CHUNK):
            written += len(chunk)
            if written > MAX_UPLOAD_BYTES:
                raise _too_large()
            out.write(chunk)
    if written == 0:
        raise InputError("is empty.", file=target.name, fix="choose the exported file.")
    return target


def shown_error(error: InputError, saved: Path) -> str:
    """The error's text with the temporary file named by its uploaded name."""
    if error.file is not None and Path(error.file) == saved:
        error = InputError(
            error.message, file=saved.name, line=error.line, field=error.field, fix=error.fix
        )
    return str(error).replace(str(saved.parent) + "/", "")


def _loaded(session: Session, audit: Audit, jurisdiction: str) -> dict[str, Any]:
    place = jurisdiction_or_404(session, audit, jurisdiction)
    files = [
        {
            "role": f.role,
            "file": f.filename,
            "sha256": f.sha256,
            "records": f.records,
            "size": f.size,
        }
        for f in session.scalars(
            select(InputFile).where(InputFile.jurisdiction_id == place.id).order_by(InputFile.id)
        )
    ]
    batches, cards = session.execute(
        select(func.count(Batch.id), func.coalesce(func.sum(Batch.num_ballots), 0)).where(
            Batch.jurisdiction_id == place.id
        )
    ).one()
    try:
        result = service.status(session, audit)
        population: int | None = result.population
        problem = None
    except InputError as error:
        population, problem = None, str(error)
    return {
        "audit": audit.name,
        "kind": audit.kind,
        "audit_status": audit.status,
        "jurisdiction": place.name,
        "files": files,
        "batches": int(batches),
        "cards": int(cards),
        "population": population,
        "problem": problem,
        "open": audit.status == "setup",
        "cvr_formats": ("auto", *CVR_FORMATS),
        "max_mb": MAX_UPLOAD_BYTES / (1024 * 1024),
    }


def _files_page(
    request: Request,
    audit: str,
    jurisdiction: str,
    error: str | None = None,
    status_code: int = 200,
    done: str | None = None,
) -> Response:
    config = web_config(request)
    with config.store.transaction() as session:
        context = _loaded(session, audit_or_404(session, audit), jurisdiction)
    context.update({"error": error, "done": done})
    return render(request, "files_upload.html", context, status_code=status_code)


@route(router, "GET", _BASE, ["admin", "manager"])
def files_page(
    request: Request, audit: str, jurisdiction: str, done: str | None = None
) -> Response:
    """A jurisdiction's loaded files with their digests and counts, and the upload forms."""
    shown = done if done in ("manifest", "cvrs", "batch-tallies") else None
    return _files_page(request, audit, jurisdiction, done=shown)


Loader = Callable[[Session, Audit, Path, str, str], dict[str, Any]]


def _upload(
    request: Request, audit: str, jurisdiction: str, upload: UploadFile, what: str, load: Loader
) -> Response:
    config = web_config(request)
    actor = signed_in(request).actor
    with tempfile.TemporaryDirectory(prefix="tallyguard-upload-") as temporary:
        saved = Path(temporary) / "upload"
        try:
            saved = save_upload(upload, Path(temporary), f"{what}.csv")
            with config.store.transaction() as session:
                row = audit_or_404(session, audit)
                place = jurisdiction_or_404(session, row, jurisdiction)
                load(session, row, saved, place.name, actor)
        except InputError as error:
            return _files_page(request, audit, jurisdiction, shown_error(error, saved), 400)
    target = f"/audits/{part(audit)}/jurisdictions/{part(jurisdiction)}/files?done={what}"
    return RedirectResponse(target, status_code=303)


async def _uploaded(request: Request) -> tuple[UploadFile | None, str]:
    """The form's ``file`` (``None`` if no file was chosen) and its ``format`` field."""
    form = await request.form()  # already parsed by the guard, after the size check
    upload = form.get("file")
    fmt = form.get("format")
    chosen = upload if isinstance(upload, UploadFile) and upload.filename else None
    return chosen, fmt if isinstance(fmt, str) and fmt else "auto"


async def _receive(
    request: Request, audit: str, jurisdiction: str, what: str, load: Loader
) -> Response:
    upload, _ = await _uploaded(request)
    if upload is None:
        message = "Choose a file to upload."
        return await run_in_threadpool(_files_page, request, audit, jurisdiction, message, 400)
    return await run_in_threadpool(_upload, request, audit, jurisdiction, upload, what, load)


# The endpoints read the form themselves rather than declaring File() parameters:
# FastAPI parses declared form parameters before any dependency runs, which would
# read an oversized body before limit_upload_size could refuse it.


@route(router, "POST", _BASE + "/manifest", ["admin", "manager"])
async def upload_manifest(request: Request, audit: str, jurisdiction: str) -> Response:
    """Load (or, before the seed, replace) the jurisdiction's ballot manifest (form field
    ``file``)."""
    return await _receive(request, audit, jurisdiction, "manifest", service.load_manifest)


@route(router, "POST", _BASE + "/cvrs", ["admin", "manager"])
async def upload_cvrs(request: Request, audit: str, jurisdiction: str) -> Response:
    """Load (or replace) the jurisdiction's cast vote records (comparison audits): form
    fields ``file`` and ``format`` (``auto`` or one of the CVR formats)."""
    _, fmt = await _uploaded(request)
    if fmt != "auto" and fmt not in CVR_FORMATS:
        message = f"{fmt!r} is not a CVR format."
        return await run_in_threadpool(_files_page, request, audit, jurisdiction, message, 400)

    def load(session: Session, row: Audit, path: Path, place: str, actor: str) -> dict[str, Any]:
        return service.load_cvrs(session, row, path, place, fmt, actor)

    return await _receive(request, audit, jurisdiction, "cvrs", load)


@route(router, "POST", _BASE + "/batch-tallies", ["admin", "manager"])
async def upload_batch_tallies(request: Request, audit: str, jurisdiction: str) -> Response:
    """Load (or replace) the reported votes of every batch of the jurisdiction (batch audits,
    form field ``file``)."""
    return await _receive(request, audit, jurisdiction, "batch-tallies", service.load_batch_tallies)
