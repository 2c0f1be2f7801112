"""The audit admin's conduct of an audit: contests, the seed, rounds, hand count, downloads.

Each action calls the workflow service function the command line calls, in one
store transaction, with the signed-in admin as the event's actor. The report
files and the verification bundle are written by the command line's writers
(:func:`~tallyguard.report.audit_csv.write_report_files`,
:func:`~tallyguard.audit.workflow.export.export_audit`) into a temporary folder
and sent as downloads.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.export import export_audit
from tallyguard.audit.workflow.plan_options import PlanOption, plan_round
from tallyguard.audit.workflow.result import AuditResult
from tallyguard.audit.workflow.state import rounds_of
from tallyguard.errors import InputError, VerificationError
from tallyguard.io.csvfile import open_csv, parse_count
from tallyguard.report.audit_csv import write_report_files
from tallyguard.store.events import load_chain
from tallyguard.store.models import Audit
from tallyguard.web.render import part, render
from tallyguard.web.routes_files import limit_upload_size, save_upload, shown_error
from tallyguard.web.security import route, signed_in, web_config
from tallyguard.web.views import audit_or_404, audit_view

#: Simulated audits behind each sample-size option (as ``tallyguard audit plan``).
PLAN_REPS = 1000
#: Files of the report, as the download names them.
REPORT_FILES = {"csv": ("audit-report.csv", "text/csv"), "html": ("audit-report.html", "text/html")}

router = APIRouter(dependencies=[Depends(limit_upload_size)])

_BASE = "/admin/audits/{audit}"


def _round_progress(result: AuditResult) -> list[dict[str, Any]]:
    """Per jurisdiction: draws of the latest round and how many are audited."""
    if not result.rounds:
        return []
    number = result.rounds[-1].round
    rows: dict[str, dict[str, Any]] = {}
    for d in result.sample:
        if d.round == number:
            row = rows.setdefault(d.jurisdiction, {"jurisdiction": d.jurisdiction, "drawn": 0,
                                                   "audited": 0})  # fmt: skip
            row["drawn"] += 1
            row["audited"] += int(d.audited)
    return [rows[name] for name in sorted(rows)]


def _rounds_context(session: Session, row: Audit) -> dict[str, Any]:
    view = audit_view(session, row)
    rounds = [] if view.result is None else list(view.result.rounds)
    open_round = bool(rounds) and row.status == "sampling" and not _latest_finished(session, row)
    return {
        "audit": view,
        "contests": [] if view.result is None else list(view.result.contests),
        "progress": [] if view.result is None else _round_progress(view.result),
        "open_round": open_round,
        "next_size": (rounds[-1].sample_size + 1) if rounds else 1,
    }


def _latest_finished(session: Session, row: Audit) -> bool:
    found = rounds_of(session, row)
    return bool(found) and bool(found[-1].finished)


def _rounds_page(
    request: Request, audit: str, error: str | None = None, status_code: int = 200
) -> Response:
    config = web_config(request)
    with config.store.transaction() as session:
        context = _rounds_context(session, audit_or_404(session, audit))
    context["error"] = error
    return render(request, "rounds_audit.html", context, status_code=status_code)


def _act(request: Request, audit: str, action: Any, target: str = "rounds") -> Response:
    """Run ``action(session, audit_row, actor)`` in one transaction; back to the page."""
    config = web_config(request)
    actor = signed_in(request).actor
    try:
        with config.store.transaction() as session:
            action(session, audit_or_404(session, audit), actor)
    except InputError as error:
        if target == "seed":
            return _seed_page(request, audit, str(error), 400)
        return _rounds_page(request, audit, str(error), 400)
    return RedirectResponse(f"/admin/audits/{part(audit)}/{target}", status_code=303)


@route(router, "GET", _BASE + "/rounds", ["admin"])
def rounds_page(request: Request, audit: str) -> Response:
    """The audit's state, the risk per contest, round progress and the next actions."""
    return _rounds_page(request, audit)


# --- contests ---------------------------------------------------------------------------


async def _contests_form(request: Request) -> tuple[UploadFile | None, list[str], bool]:
    form = await request.form()
    upload = form.get("file")
    names = form.get("names")
    wanted = [n.strip() for n in (names if isinstance(names, str) else "").splitlines()]
    chosen = upload if isinstance(upload, UploadFile) and upload.filename else None
    return chosen, [n for n in wanted if n], form.get("opportunistic") == "yes"


@route(router, "POST", _BASE + "/contests", ["admin"])
async def add_contests(request: Request, audit: str) -> Response:
    """Add contests from a contests.json (form fields ``file``, ``names`` one per line,
    ``opportunistic``), as ``tallyguard audit contest``."""
    upload, names, opportunistic = await _contests_form(request)
    if upload is None or not names:
        message = "Choose the contests file and name at least one contest."
        return await run_in_threadpool(_rounds_page, request, audit, message, 400)
    return await run_in_threadpool(_add_contests, request, audit, upload, names, opportunistic)


def _add_contests(
    request: Request, audit: str, upload: UploadFile, names: list[str], opportunistic: bool
) -> Response:
    config = web_config(request)
    actor = signed_in(request).actor
    with tempfile.TemporaryDirectory(prefix="tallyguard-upload-") as temporary:
        saved = Path(temporary) / "contests.json"
        try:
            saved = save_upload(upload, Path(temporary), "contests.json")
            with config.store.transaction() as session:
                row = audit_or_404(session, audit)
                for name in names:
                    service.add_contest(
                        session, row, saved, name, targeted=not opportunistic, actor=actor
                    )
        except InputError as error:
            return _rounds_page(request, audit, shown_error(error, saved), 400)
    return RedirectResponse(f"/admin/audits/{part(audit)}/rounds", status_code=303)


# --- the seed ---------------------------------------------------------------------------


def _seed_page(
    request: Request, audit: str, error: str | None = None, status_code: int = 200
) -> Response:
    config = web_config(request)
    with config.store.transaction() as session:
        view = audit_view(session, audit_or_404(session, audit))
    return render(
        request, "rounds_seed.html", {"audit": view, "error": error}, status_code=status_code
    )


@route(router, "GET", _BASE + "/seed", ["admin"])
def seed_page(request: Request, audit: str) -> Response:
    """The dice-roll ceremony's instructions and the form to record the seed."""
    return _seed_page(request, audit)


@route(router, "POST", _BASE + "/seed", ["admin"])
def set_seed(request: Request, audit: str, seed: Annotated[str, Form()]) -> Response:
    """Set the public seed; it freezes every input (event ``seed.set``)."""
    digits = "".join(seed.split())
    return _act(request, audit, lambda s, a, who: service.set_seed(s, a, digits, who), "seed")


# --- sample sizes and rounds -------------------------------------------------------------


@route(router, "GET", _BASE + "/plan", ["admin"])
def plan_page(request: Request, audit: str) -> Response:
    """Sample-size options for the next round, per targeted contest, and the form to start it."""
    config = web_config(request)
    options: list[PlanOption] = []
    error = None
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        context = _rounds_context(session, row)
        try:
            options = plan_round(service.load_inputs(session, row), reps=PLAN_REPS)
        except InputError as problem:
            error = str(problem)
    contests = sorted({name for option in options for name in option.per_contest})
    notes = list(dict.fromkeys(option.note for option in options))
    context.update({"options": options, "plan_contests": contests, "notes": notes,
                    "error": error})  # fmt: skip
    return render(request, "rounds_plan.html", context, status_code=400 if error else 200)


@route(router, "POST", _BASE + "/rounds", ["admin"])
def start_round(request: Request, audit: str, size: Annotated[str, Form()]) -> Response:
    """Start the next round with a cumulative sample size (event ``round.started``)."""
    try:
        chosen = int(size.strip().replace(",", ""))
    except ValueError:
        return _rounds_page(request, audit, f"The sample size {size!r} is not a whole number.", 400)
    return _act(request, audit, lambda s, a, who: service.start_round(s, a, chosen, who))


@route(router, "POST", _BASE + "/rounds/finish", ["admin"])
def finish_round(request: Request, audit: str) -> Response:
    """Close the open round once every draw has its readings (event ``round.finished``)."""
    return _act(request, audit, service.finish_round)


@route(router, "POST", _BASE + "/hand-count", ["admin"])
def start_hand_count(request: Request, audit: str) -> Response:
    """Escalate to a full hand count (event ``hand_count.started``)."""
    return _act(request, audit, service.start_hand_count)


def read_totals(path: Path) -> dict[str, dict[str, int]]:
    """A hand count's totals CSV (columns Contest, Choice, Votes), as the command line reads it.

    Raises:
        InputError: a missing column, a bad count or a choice given twice.
    """
    table = open_csv(path)
    columns = {name: str(table.column(name)) for name in ("Contest", "Choice", "Votes")}
    totals: dict[str, dict[str, int]] = {}
    for line, row in table.rows():
        contest, choice = row[columns["Contest"]], row[columns["Choice"]]
        votes = parse_count(row[columns["Votes"]], file=path, line=line, field="Votes")
        if choice in totals.setdefault(contest, {}):
            raise InputError(f"{choice!r} of {contest!r} appears twice.", file=path, line=line,
                             field="Choice", fix="give each choice one row.")  # fmt: skip
        totals[contest][choice] = votes
    return totals


@route(router, "POST", _BASE + "/hand-count/totals", ["admin"])
async def record_hand_count(request: Request, audit: str) -> Response:
    """Record the full hand count's totals (form field ``file``: Contest, Choice, Votes)."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        message = "Choose the totals file."
        return await run_in_threadpool(_rounds_page, request, audit, message, 400)
    return await run_in_threadpool(_record_hand_count, request, audit, upload)


def _record_hand_count(request: Request, audit: str, upload: UploadFile) -> Response:
    config = web_config(request)
    actor = signed_in(request).actor
    with tempfile.TemporaryDirectory(prefix="tallyguard-upload-") as temporary:
        saved = Path(temporary) / "totals.csv"
        try:
            saved = save_upload(upload, Path(temporary), "totals.csv")
            totals = read_totals(saved)
            with config.store.transaction() as session:
                service.record_hand_count(session, audit_or_404(session, audit), totals, actor)
        except InputError as error:
            return _rounds_page(request, audit, shown_error(error, saved), 400)
    return RedirectResponse(f"/admin/audits/{part(audit)}/rounds", status_code=303)


@route(router, "POST", _BASE + "/finish", ["admin"])
def finish_audit(request: Request, audit: str) -> Response:
    """Finish the audit (event ``audit.finished``)."""
    return _act(request, audit, service.finish_audit)


# --- downloads ---------------------------------------------------------------------------


def _download(folder: Path, path: Path, name: str, media_type: str) -> FileResponse:
    return FileResponse(
        path,
        media_type=media_type,
        filename=name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name) or "audit"


def _report(request: Request, audit: str, kind: str) -> Response:
    config = web_config(request)
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        try:
            result = service.status(session, row)
        except InputError as error:
            return _rounds_page(request, audit, str(error), 400)
    folder = Path(tempfile.mkdtemp(prefix="tallyguard-report-"))
    try:
        write_report_files(result, folder, pdf=False)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    file_name, media_type = REPORT_FILES[kind]
    return _download(folder, folder / file_name, f"{_safe(audit)}-{file_name}", media_type)


@route(router, "GET", _BASE + "/report.csv", ["admin"])
def download_report_csv(request: Request, audit: str) -> Response:
    """The audit report's CSV, with sections like Arlo's (``tallyguard audit report``)."""
    return _report(request, audit, "csv")


@route(router, "GET", _BASE + "/report.html", ["admin"])
def download_report_html(request: Request, audit: str) -> Response:
    """The audit report as one self-contained HTML page, sent as a download."""
    return _report(request, audit, "html")


def bundle_archive(request: Request, audit: str) -> tuple[Path, Path, str]:
    """The verification bundle (``tallyguard audit export``) zipped in a temporary folder:
    (the folder, to delete once sent; the archive; the audit's name).

    Raises:
        InputError, VerificationError: The audit cannot be exported (its log does not
            verify, or its inputs are incomplete).
    """
    config = web_config(request)
    folder = Path(tempfile.mkdtemp(prefix="tallyguard-bundle-"))
    try:
        bundle = folder / "bundle"
        with config.store.transaction() as session:
            row = audit_or_404(session, audit)
            inputs = service.load_inputs(session, row)
            export_audit(inputs, load_chain(session, row.id), bundle, overwrite=False)
        archive = folder / "bundle.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
            for path in sorted(bundle.rglob("*")):
                if path.is_file():
                    out.write(path, path.relative_to(bundle).as_posix())
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, archive, row.name


def send_archive(folder: Path, archive: Path, audit: str) -> FileResponse:
    """The zipped bundle as a download; the folder goes once it is sent."""
    return _download(folder, archive, f"{_safe(audit)}-bundle.zip", "application/zip")


@route(router, "GET", _BASE + "/bundle.zip", ["admin"])
def download_bundle(request: Request, audit: str) -> Response:
    """The verification bundle (``tallyguard audit export``) as a ZIP of its folder."""
    try:
        folder, archive, name = bundle_archive(request, audit)
    except (InputError, VerificationError) as error:
        return _rounds_page(request, audit, str(error), 400)
    return send_archive(folder, archive, name)
