"""An audit board's pages in the open round: its ballots, one ballot's form, the review.

A board sees the sampled cards of the open round in its jurisdiction (every
jurisdiction if the board has none), in retrieval order: jurisdiction,
tabulator, batch, position. A card is named in links by its ticket, the
consistent sampler's public number, which is unique within an audit. Each
card is recorded through
:func:`~tallyguard.audit.workflow.boards.record_card_with_retry`, which is
idempotent: submitting the same interpretation twice records it once.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tallyguard.audit.workflow.boards import (
    CardInterpretation,
    record_card_with_retry,
    stored_card,
)
from tallyguard.audit.workflow.export import draws_csv
from tallyguard.audit.workflow.inputs import RESULTS, CardKey, ReadingResult
from tallyguard.audit.workflow.result import Draw
from tallyguard.audit.workflow.retrieval import RoundCards, open_round_cards
from tallyguard.audit.workflow.state import rounds_of
from tallyguard.errors import InputError
from tallyguard.io.readings import interpretation_text
from tallyguard.store.accounts import AuditBoard
from tallyguard.store.events import append_event
from tallyguard.store.models import Audit, Batch, Contest, Event, Interpretation, Jurisdiction
from tallyguard.web.render import part, render
from tallyguard.web.security import Principal, route, signed_in, web_config
from tallyguard.web.views import audit_or_404, jurisdiction_or_404

router = APIRouter()

#: What each result is called on the form, in the order the form offers them.
RESULT_LABELS: dict[str, str] = {
    "vote": "The choices marked above",
    "blank": "Blank (no choice marked)",
    "overvote": "Overvote (more choices marked than allowed)",
    "not_found": "Ballot not found",
    "not_on_card": "Contest not on this card",
}
#: Each result's name, typed.
RESULT_OF: dict[str, ReadingResult] = {result: result for result in RESULTS}
#: The outcomes a redirect after recording may report.
OUTCOME_TEXT = {
    "recorded": "recorded",
    "corrected": "corrected (the new interpretation replaced the stored one)",
    "unchanged": "already recorded exactly so; nothing changed",
}
#: Characters kept in a download's file name.
_IDENT = re.compile(r"[^A-Za-z0-9_.-]+")
#: The error fields of a card that belong next to one contest's inputs.
CONTEST_FIELDS = ("result", "choices", "comment")


def _key(draw: Draw) -> CardKey:
    return CardKey(draw.jurisdiction, draw.tabulator, draw.batch_name, draw.position)


@dataclass(frozen=True)
class BoardList(RoundCards):
    """The open round's cards of one board, in retrieval order."""

    problem: str | None = None  # why the sample could not be read


def board_list(session: Session, audit: Audit, principal: Principal) -> BoardList:
    """The sampled cards of the open round assigned to the board ``principal``."""
    return round_cards(session, audit, principal.jurisdiction)


def round_cards(session: Session, audit: Audit, place: str | None) -> BoardList:
    """The open round's sampled cards of jurisdiction ``place`` (all when None), in
    retrieval order: tabulator, batch, position."""
    try:
        found = open_round_cards(session, audit, place)
    except InputError as error:
        number = rounds_of(session, audit)[-1].number
        return BoardList(number, problem=str(error))
    return BoardList(found.round, found.draws, found.audited, found.others, found.tickets)


def _find(listed: BoardList, ticket: str) -> Draw:
    index = listed.index(ticket)
    if index is not None:
        return listed.card(index)
    if ticket in listed.others:
        raise HTTPException(
            status_code=403,
            detail=f"Ballot {ticket} belongs to another jurisdiction's audit boards.",
        )
    if listed.round is None:
        raise HTTPException(status_code=404, detail="No round of this audit is open.")
    raise HTTPException(
        status_code=404, detail=f"Ballot {ticket} is not on this board's list for the round."
    )


def _ballots_url(audit: str) -> str:
    return f"/audits/{part(audit)}/board/ballots"


# --- the list ---------------------------------------------------------------------------


@route(router, "GET", "/audits/{audit}/board/ballots", ["board"])
def ballots(request: Request, audit: str) -> Response:
    """The board's cards of the open round, each recorded or not, with the progress."""
    config = web_config(request)
    principal = signed_in(request)
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        listed = board_list(session, row, principal)
        name = row.name
    return render(
        request,
        "board_ballots.html",
        {
            "audit": name,
            "listed": listed,
            "error": listed.problem,
            "saved": _saved(request, listed),
        },
    )


def _saved(request: Request, listed: BoardList) -> dict[str, str] | None:
    """The confirmation of the card just recorded, from the redirect's query (if genuine)."""
    ticket = request.query_params.get("saved")
    outcome = request.query_params.get("outcome")
    if ticket is None or outcome not in OUTCOME_TEXT:
        return None
    if listed.index(ticket) is None:
        return None
    return {"ticket": ticket, "text": OUTCOME_TEXT[outcome]}


# --- one card ---------------------------------------------------------------------------


@dataclass
class ContestForm:
    """One contest's fieldset: its choices, what is entered and any error next to a field."""

    n: int
    name: str
    choices: tuple[str, ...]
    votes_allowed: int
    result: str = "vote"
    marked: tuple[str, ...] = ()
    comment: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _contest_rows(session: Session, audit: Audit) -> list[Contest]:
    return list(
        session.scalars(select(Contest).where(Contest.audit_id == audit.id).order_by(Contest.id))
    )


def _blank_forms(contests: Sequence[Contest]) -> list[ContestForm]:
    return [
        ContestForm(n, c.name, tuple(str(x) for x in c.choices), c.votes_allowed)
        for n, c in enumerate(contests)
    ]


def _card_page(
    request: Request,
    audit: str,
    draw: Draw,
    listed: BoardList,
    forms: Sequence[ContestForm],
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    position = (listed.index(draw.ticket) or 0) + 1
    return render(
        request,
        "board_ballot.html",
        {
            "audit": audit,
            "draw": draw,
            "listed": listed,
            "position": position,
            "contests": forms,
            "labels": RESULT_LABELS,
            "error": error,
            "saved": _saved(request, listed),
        },
        status_code=status_code,
    )


@route(router, "GET", "/audits/{audit}/board/ballots/{ticket}", ["board"])
def ballot(request: Request, audit: str, ticket: str) -> Response:
    """The form of one card: per contest its choices, the special results and a comment."""
    config = web_config(request)
    principal = signed_in(request)
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        listed = board_list(session, row, principal)
        draw = _find(listed, ticket)
        forms = _blank_forms(_contest_rows(session, row))
        stored = stored_card(session, row, _key(draw))
        name = row.name
    for form in forms:
        seen = stored.get(form.name)
        if seen is not None:
            form.result, form.marked, form.comment = seen.result, seen.choices, seen.comment
    return _card_page(request, name, draw, listed, forms)


async def submitted_form(request: Request) -> FormData:
    """The posted form (already parsed by the guard; Starlette keeps it on the request)."""
    return await request.form()


def _read_form(form: FormData, forms: Sequence[ContestForm]) -> None:
    """Fill ``forms`` from the posted fields, with the errors found before recording."""
    for f in forms:
        result = form.get(f"c{f.n}-result")
        f.result = result if isinstance(result, str) else "vote"
        f.marked = tuple(v for v in form.getlist(f"c{f.n}-choice") if isinstance(v, str))
        comment = form.get(f"c{f.n}-comment")
        f.comment = comment if isinstance(comment, str) else ""
        if f.result not in RESULTS:
            f.errors["result"] = f"Choose one of the results listed for {f.name}."
        elif f.result != "vote" and f.marked:
            f.errors["choices"] = (
                f"{RESULT_LABELS[f.result]} is chosen, but choices are checked too: "
                "uncheck them, or choose the marked choices."
            )
        elif f.result == "vote" and not f.marked:
            f.errors["choices"] = (
                "No choice is checked: check the choices marked on the paper, or choose Blank."
            )
        elif f.result == "vote" and len(f.marked) > f.votes_allowed:
            f.errors["choices"] = (
                f"{len(f.marked)} choices are checked, but {f.name} allows "
                f"{f.votes_allowed} vote{'s' if f.votes_allowed != 1 else ''}: if the paper "
                "really has that many marks, choose Overvote and uncheck the choices."
            )
    _not_found_everywhere(forms)


def _not_found_everywhere(forms: Sequence[ContestForm]) -> None:
    """A card not found is not found for every contest: left-blank contests follow it."""
    missing = [f for f in forms if f.result == "not_found"]
    if not missing:
        return
    for f in forms:
        if f.result == "vote" and not f.marked:
            f.result = "not_found"
            f.errors.pop("choices", None)
        elif f.result != "not_found" and "result" not in f.errors:
            f.errors["result"] = (
                f"The ballot is recorded as not found for {missing[0].name}, so it cannot be "
                f"read for {f.name}: choose Ballot not found here too, or correct "
                f"{missing[0].name}."
            )


def _place_error(error: InputError, forms: Sequence[ContestForm]) -> str | None:
    """Put a recording error next to the contest and field it names; else return it."""
    text = error.message + (f" Fix: {error.fix}" if error.fix else "")
    named = [f for f in forms if repr(f.name) in error.message]
    if named and error.field in (*CONTEST_FIELDS, "contest"):
        target = max(named, key=lambda f: len(f.name))
        target.errors["result" if error.field == "contest" else str(error.field)] = text
        return None
    return text


@route(router, "POST", "/audits/{audit}/board/ballots/{ticket}", ["board"])
def record_ballot(
    request: Request,
    audit: str,
    ticket: str,
    form: Annotated[FormData, Depends(submitted_form)],
) -> Response:
    """Record the card as the board read it; then go to the next unrecorded card (303)."""
    config = web_config(request)
    principal = signed_in(request)
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        listed = board_list(session, row, principal)
        draw = _find(listed, ticket)
        forms = _blank_forms(_contest_rows(session, row))
        name = row.name
    _read_form(form, forms)
    if any(f.errors for f in forms):
        message = "The ballot was not recorded: correct the contests marked below."
        return _card_page(request, name, draw, listed, forms, error=message, status_code=400)
    interpretations = {
        f.name: CardInterpretation(
            RESULT_OF[f.result], f.marked if f.result == "vote" else (), f.comment
        )
        for f in forms
    }
    try:
        done = record_card_with_retry(
            config.store,
            name,
            board=principal.name,
            card=_key(draw),
            interpretations=interpretations,
            actor=principal.actor,
        )
    except InputError as error:
        shown = _place_error(error, forms)
        message = shown or "The ballot was not recorded: correct the contests marked below."
        return _card_page(request, name, draw, listed, forms, error=message, status_code=400)
    # The list as read before recording, with this card now recorded: cards other boards
    # recorded meanwhile show as recorded when the board reaches them.
    listed = dataclasses.replace(listed, audited=listed.audited | {_key(draw)})
    query = urlencode({"saved": draw.ticket, "outcome": done.outcome})
    following = listed.next_unrecorded(draw.ticket)
    if following is None:
        return RedirectResponse(f"{_ballots_url(name)}?{query}", status_code=303)
    target = f"{_ballots_url(name)}/{part(following.ticket)}?{query}"
    return RedirectResponse(target, status_code=303)


@route(
    router,
    "GET",
    "/audits/{audit}/jurisdictions/{jurisdiction}/retrieval.csv",
    ["admin", "manager"],
)
def retrieval_list(request: Request, audit: str, jurisdiction: str) -> Response:
    """The open round's ballots of one jurisdiction to pull from storage, in retrieval order."""
    _, jurisdiction, listed = jurisdiction_round(request, audit, jurisdiction, "retrieve")
    filename = f"retrieval-round-{listed.round}-{_IDENT.sub('-', jurisdiction)}.csv"
    return Response(
        draws_csv(listed.cards),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def jurisdiction_round(
    request: Request, audit: str, jurisdiction: str, task: str
) -> tuple[str, str, BoardList]:
    """The audit's and the jurisdiction's names and the jurisdiction's open-round list, for
    a download: 404 without an open round (there is nothing to ``task``), 400 when the
    sample cannot be read."""
    config = web_config(request)
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        place = jurisdiction_or_404(session, row, jurisdiction).name
        listed = round_cards(session, row, place)
        name = row.name
    if listed.round is None:
        raise HTTPException(
            status_code=404,
            detail=f"No round of this audit is open, so there is nothing to {task}.",
        )
    if listed.problem is not None:
        raise HTTPException(status_code=400, detail=listed.problem)
    return name, place, listed


# --- the review -------------------------------------------------------------------------


def recorded_by(
    session: Session, audit: Audit, board: str, listed: BoardList
) -> list[dict[str, Any]]:
    """Each card of the open round that ``board`` recorded, with its interpretation per contest."""
    rows = session.execute(
        select(
            Jurisdiction.name,
            Batch.tabulator,
            Batch.batch_name,
            Interpretation.position,
            Contest.name,
            Interpretation.result,
            Interpretation.choices,
            Interpretation.comment,
        )
        .join(Batch, Batch.id == Interpretation.batch_id)
        .join(Jurisdiction, Jurisdiction.id == Batch.jurisdiction_id)
        .join(Contest, Contest.id == Interpretation.contest_id)
        .where(Interpretation.audit_id == audit.id, Interpretation.board == board)
        .order_by(Contest.id)
    )
    found: dict[CardKey, list[dict[str, str]]] = {}
    for place, tabulator, batch, position, contest, result, choices, comment in rows:
        key = CardKey(place, tabulator, batch, position)
        text = interpretation_text(result, [str(c) for c in choices])
        found.setdefault(key, []).append({"contest": contest, "reading": text, "comment": comment})
    return [{"draw": d, "readings": found[_key(d)]} for d in listed.cards if _key(d) in found]


def _board_row(session: Session, audit: Audit, principal: Principal) -> AuditBoard:
    return session.scalars(
        select(AuditBoard).where(AuditBoard.audit_id == audit.id, AuditBoard.name == principal.name)
    ).one()


def signed_offs(session: Session, audit: Audit, principal: Principal, round_: int) -> list[Any]:
    """This board's sign-offs of ``round_`` (payloads), oldest first."""
    rows = session.scalars(
        select(Event)
        .where(
            Event.audit_id == audit.id,
            Event.type == "board.signed_off",
            Event.actor == principal.actor,
        )
        .order_by(Event.seq)
    )
    payloads = [{**json.loads(row.payload), "created": row.created} for row in rows]
    return [p for p in payloads if p.get("round") == round_]


def _sign_off_page(
    request: Request, audit: str, error: str | None = None, status_code: int = 200
) -> Response:
    config = web_config(request)
    principal = signed_in(request)
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        listed = board_list(session, row, principal)
        reviewed = recorded_by(session, row, principal.name, listed)
        signed = [] if listed.round is None else signed_offs(session, row, principal, listed.round)
        name = row.name
    return render(
        request,
        "board_signoff.html",
        {
            "audit": name,
            "listed": listed,
            "reviewed": reviewed,
            "signed": signed,
            "error": error or listed.problem,
        },
        status_code=status_code,
    )


@route(router, "GET", "/audits/{audit}/board/sign-off", ["board"])
def sign_off(request: Request, audit: str) -> Response:
    """Everything this board recorded in the open round, for its members to review."""
    return _sign_off_page(request, audit)


def _sign(session: Session, row: Audit, principal: Principal, typed: list[str]) -> str | None:
    """Append the board's sign-off of the open round; the reason when it cannot."""
    listed = board_list(session, row, principal)
    if listed.round is None:
        return "No round is open, so there is nothing to sign off."
    board = _board_row(session, row, principal)
    members = sorted(m.casefold() for m in (board.member_1, board.member_2))
    if sorted(t.casefold() for t in typed) != members:
        return "Both members type their own names, as the board was registered with them."
    reviewed = recorded_by(session, row, principal.name, listed)
    last = session.scalar(
        select(func.max(Event.seq)).where(
            Event.audit_id == row.id,
            Event.type == "readings.recorded",
            Event.actor == principal.actor,
        )
    )
    cards = [
        [d.jurisdiction, d.tabulator, d.batch_name, d.position, d.ticket]
        for d in (item["draw"] for item in reviewed)
    ]
    payload = {
        "round": listed.round,
        "board": principal.name,
        "jurisdiction": principal.jurisdiction,
        "members": [board.member_1, board.member_2],
        "cards": cards,
        "last_readings_seq": last,
    }
    append_event(session, row.id, "board.signed_off", payload, principal.actor)
    return None


@route(router, "POST", "/audits/{audit}/board/sign-off", ["board"])
def sign_off_submit(
    request: Request, audit: str, form: Annotated[FormData, Depends(submitted_form)]
) -> Response:
    """Both members type their names: the board's review of the round goes into the log.

    The event lists every card the board recorded in the round and the number of its
    last ``readings.recorded`` event, so a later correction shows as made after it.
    """
    config = web_config(request)
    principal = signed_in(request)
    typed = [str(form.get(f"member_{i}", "")).strip() for i in (1, 2)]
    with config.store.transaction() as session:
        row = audit_or_404(session, audit)
        name = row.name
        error = _sign(session, row, principal, typed)
    if error is not None:
        return _sign_off_page(request, audit, error, 400)
    return RedirectResponse(f"/audits/{part(name)}/board/sign-off", status_code=303)
