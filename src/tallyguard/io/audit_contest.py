"""The contest an audit command checks: a single-contest JSON or a ``contests.json``.

Single-contest form (what an official writes by hand)::

    {"name": "Mayor", "kind": "plurality" | "supermajority" | "approval",
     "winners": 1, "share_to_win": 0.6667 (supermajority only),
     "votes_allowed": 1 (optional; default: winners, or every choice for approval),
     "ballots": 10000, "reported": {"Alice": 5200, "Bob": 4300}}

``ballots`` counts the cards that may contain the contest; ``reported`` lists
every choice with its votes, in ballot order. A tallyguard ``contests.json``
(as ``tallyguard simulate election`` writes) is accepted too, with ``name``
choosing the contest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tallyguard.errors import InputError
from tallyguard.io.contests import ReportedContest, read_contests
from tallyguard.io.jsonfile import load_json, validation_error
from tallyguard.model import Contest, ContestKind


class _AuditContestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    kind: Literal["plurality", "approval", "supermajority"] = "plurality"
    winners: int = Field(default=1, ge=1)
    share_to_win: float | None = None
    votes_allowed: int | None = Field(default=None, ge=1)
    ballots: int = Field(ge=1)
    reported: dict[str, Annotated[int, Field(ge=0)]] = Field(min_length=2)


def read_audit_contest(path: str | Path, name: str | None = None) -> ReportedContest:
    """Read the contest to audit (see the module docstring)."""
    path = Path(path)
    document = load_json(path)
    if isinstance(document, dict) and "contests" in document:
        election = read_contests(path)
        names = [c.contest.name for c in election.contests]
        if name is None and len(names) == 1:
            return election.contests[0]
        if name not in names:
            raise InputError(
                "holds several contests." if name is None else f"has no contest {name!r}.",
                file=path,
                field="contests",
                fix=f"choose one with --name: {', '.join(repr(n) for n in names)}.",
            )
        return election.contests[names.index(name)]
    try:
        item = _AuditContestIn.model_validate(document)
    except ValidationError as error:
        raise validation_error(error, file=path) from None
    kind = ContestKind(item.kind)
    choices = tuple(item.reported)
    if item.votes_allowed is not None:
        allowed = item.votes_allowed
    else:
        allowed = len(choices) if kind is ContestKind.APPROVAL else item.winners
    try:
        contest = Contest(
            contest_id=item.name,
            name=item.name,
            kind=kind,
            choices=choices,
            num_winners=item.winners,
            votes_allowed=allowed,
            share_to_win=item.share_to_win,
        )
    except ValueError as error:
        raise InputError(
            f"{error}.", file=path, fix="correct kind, winners, share_to_win or reported."
        ) from None
    totals = dict(item.reported)
    counted = sum(totals.values())
    if counted > item.ballots * allowed:
        raise InputError(
            f"reported adds up to {counted:,} votes but {item.ballots:,} ballot cards x "
            f"{allowed} vote(s) hold at most {item.ballots * allowed:,}.",
            file=path,
            field="ballots",
            fix="count every card that may contain the contest in 'ballots'.",
        )
    return ReportedContest(contest, item.ballots, totals, contest.winners(totals))
