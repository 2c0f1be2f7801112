"""Reported contest totals: tallyguard's ``contests.json``.

The form (``docs/simulator.md``; the contest definitions an audit needs, as in
SHANGRLA's contest dictionaries, Stark 2020 §2, plus the reported results)::

    {"election": "...",
     "contests": [{"contest_id": "...", "name": "...",
                   "kind": "plurality" | "approval" | "supermajority",
                   "choices": ["...", ...], "num_winners": 1, "votes_allowed": 1,
                   "share_to_win": null, "ballots": 1234,
                   "totals": {"<choice>": 600, ...}, "winners": ["..."]}]}

``ballots`` counts the cards that contain the contest (the denominator of the
diluted margin). Reading checks the document with pydantic (errors name the
JSON path, e.g. ``contests[1].totals``), then that the totals cover exactly
the choices, that the reported winners follow from the totals
(:meth:`Contest.winners`) and that no more votes were counted than the cards
allow (sum of totals <= ballots x votes_allowed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tallyguard.errors import InputError
from tallyguard.io.jsonfile import json_path, load_json, validation_error
from tallyguard.model import Contest, ContestKind

_Count = Annotated[int, Field(ge=0)]


class _ContestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    contest_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    kind: Literal["plurality", "approval", "supermajority"]
    choices: list[str]
    num_winners: int = Field(ge=1)
    votes_allowed: int = Field(ge=1)
    share_to_win: float | None = None
    ballots: _Count
    totals: dict[str, _Count]
    winners: list[str]


class _ElectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    election: str
    contests: list[_ContestIn]


@dataclass(frozen=True)
class ReportedContest:
    """A contest with its reported results: cards containing it, totals, winners."""

    contest: Contest
    ballots: int
    totals: dict[str, int]
    winners: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The contest's JSON object, keys in the documented order."""
        c = self.contest
        return {
            "contest_id": c.contest_id,
            "name": c.name,
            "kind": c.kind.value,
            "choices": list(c.choices),
            "num_winners": c.num_winners,
            "votes_allowed": c.votes_allowed,
            "share_to_win": c.share_to_win,
            "ballots": self.ballots,
            "totals": {choice: self.totals[choice] for choice in c.choices},
            "winners": list(self.winners),
        }


@dataclass(frozen=True)
class ReportedElection:
    """Every reported contest of an election."""

    election: str
    contests: tuple[ReportedContest, ...]

    def to_json(self) -> dict[str, Any]:
        """The whole document as JSON-ready objects (see :func:`write_contests`)."""
        return {"election": self.election, "contests": [c.to_json() for c in self.contests]}


def _reported(item: _ContestIn, index: int, file: Path) -> ReportedContest:
    where = json_path("contests", index)

    def fail(message: str, part: str | None, fix: str) -> InputError:
        place = f"{where}.{part}" if part else where
        return InputError(message, file=file, field=place, fix=fix)

    try:
        contest = Contest(
            contest_id=item.contest_id,
            name=item.name,
            kind=ContestKind(item.kind),
            choices=tuple(item.choices),
            num_winners=item.num_winners,
            votes_allowed=item.votes_allowed,
            share_to_win=item.share_to_win,
        )
    except ValueError as error:
        raise fail(f"{error}.", None, "correct the contest definition.") from None
    missing = [c for c in contest.choices if c not in item.totals]
    if missing:
        raise fail(
            f"totals has no entry for {missing[0]!r}.", "totals", "give every choice a total."
        )
    extra = [c for c in item.totals if c not in contest.choices]
    if extra:
        raise fail(
            f"totals has {extra[0]!r}, which is not one of the choices.",
            "totals",
            "list it under choices, or correct its spelling.",
        )
    counted = sum(item.totals.values())
    if counted > item.ballots * contest.votes_allowed:
        raise fail(
            f"the totals add up to {counted} votes, more than {item.ballots} cards x "
            f"{contest.votes_allowed} vote(s) allowed = {item.ballots * contest.votes_allowed}.",
            "totals",
            "check the totals and the number of cards containing the contest (ballots).",
        )
    expected = contest.winners(item.totals)
    if sorted(item.winners) != sorted(expected) or len(set(item.winners)) != len(item.winners):
        raise fail(
            f"the reported winners are {item.winners} but the totals give {list(expected)}.",
            "winners",
            "correct the winners or the totals (ties are broken by choice order).",
        )
    return ReportedContest(contest, item.ballots, dict(item.totals), tuple(item.winners))


def read_contests(path: str | Path) -> ReportedElection:
    """Read and check a ``contests.json`` file (see the module docstring).

    Returns:
        The :class:`ReportedElection`, contests in file order.

    Raises:
        InputError: invalid JSON (line named), a field that is missing, unknown
            or of the wrong type, an impossible contest definition, totals that
            do not match the choices or exceed ballots x votes_allowed, winners
            that do not follow from the totals, or two contests with the same
            id or name; each names the JSON path (e.g. ``contests[2].winners``).
    """
    path = Path(path)
    document = load_json(path)
    try:
        parsed = _ElectionIn.model_validate(document)
    except ValidationError as error:
        raise validation_error(error, file=path) from None
    contests: list[ReportedContest] = []
    ids: dict[str, int] = {}
    names: dict[str, int] = {}
    for index, item in enumerate(parsed.contests):
        for value, seen, what in ((item.contest_id, ids, "contest_id"), (item.name, names, "name")):
            if value in seen:
                raise InputError(
                    f"{what} {value!r} is used by contests[{seen[value]}] and contests[{index}].",
                    file=path,
                    field=json_path("contests", index, what),
                    fix=f"give every contest its own {what}.",
                )
            seen[value] = index
        contests.append(_reported(item, index, path))
    return ReportedElection(parsed.election, tuple(contests))


def write_contests(path: str | Path, election: ReportedElection) -> None:
    """Write ``election`` as ``contests.json``, readable by :func:`read_contests`.

    The text is ``json.dumps(..., indent=2, ensure_ascii=False)`` plus a final
    newline, UTF-8, keys in the documented order and totals in choice order, so
    the same election always gives the same bytes.
    """
    text = json.dumps(election.to_json(), indent=2, ensure_ascii=False) + "\n"
    Path(path).write_text(text, encoding="utf-8", newline="\n")
